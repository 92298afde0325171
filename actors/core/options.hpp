#pragma once

// Every setting of a duet node, with its default. One struct per INI section;
// `config.cpp` binds each field to `section.key` and validates it.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "actors/core/log.hpp"
#include "actors/core/names.hpp"

namespace duet {

/// How the front reaches verifiers.
enum class style : uint8_t {
  /// The front calls verifier actors on configured nodes, alternating.
  direct,
  /// The front uses the verifier instances the supervisor reports.
  orchestration,
  /// The front publishes tasks to a CAF group; verifiers compete for them.
  choreography,
};

template <>
struct enum_names<style> {
  static constexpr std::pair<style, const char*> table[] = {
    {style::direct, "direct"},
    {style::orchestration, "orchestration"},
    {style::choreography, "choreography"},
  };
};

/// How a front picks among usable verifier instances.
enum class balance : uint8_t {
  /// Each in turn.
  round_robin,
  /// The one with the fewest requests in flight (the first in turn among
  /// equals).
  least_loaded,
};

template <>
struct enum_names<balance> {
  static constexpr std::pair<balance, const char*> table[] = {
    {balance::round_robin, "round-robin"},
    {balance::least_loaded, "least-loaded"},
  };
};

/// What `choreography.durability` promises for an accepted task (a 202):
/// `fsync` survives a crash of the machine (each commit is on the disk
/// before the answers go out); `os` survives a crash of the process (each
/// commit is in the kernel); `memory` survives neither (no store).
enum class durability : uint8_t { fsync, os, memory };

template <>
struct enum_names<durability> {
  static constexpr std::pair<durability, const char*> table[] = {
    {durability::fsync, "fsync"},
    {durability::os, "os"},
    {durability::memory, "memory"},
  };
};

/// What a node does; a node's certificate names the roles it may run.
enum class role : uint8_t {
  /// The HTTP front: router, task desk.
  front,
  /// Verifier instances, their node agent, the choreography consumer.
  verifier,
  /// The registry and restarter of verifier instances (orchestration).
  supervisor,
  /// The host of the choreography's task and result groups.
  hub,
};

template <>
struct enum_names<role> {
  static constexpr std::pair<role, const char*> table[] = {
    {role::front, "front"},
    {role::verifier, "verifier"},
    {role::supervisor, "supervisor"},
    {role::hub, "hub"},
  };
};

/// Named defaults for every option.
namespace defaults {

using namespace std::chrono_literals;

constexpr const char* host = "127.0.0.1";
constexpr log::level log_level = log::level::info;
constexpr size_t keeper_intensity = 5;
constexpr std::chrono::nanoseconds keeper_period = 10s;
constexpr std::chrono::nanoseconds stop_timeout = 1s;
constexpr const char* http_host = "127.0.0.1";
constexpr uint16_t http_port = 8080;
constexpr style default_style = style::direct;
constexpr const char* default_key_id = "seed";
constexpr std::chrono::nanoseconds view_timeout = 500ms;
constexpr std::chrono::nanoseconds write_timeout = 30s;
constexpr std::chrono::nanoseconds answer_grace = 500ms;
constexpr std::chrono::nanoseconds max_wait = 30s;
constexpr std::chrono::nanoseconds request_timeout = 5s;
constexpr std::chrono::nanoseconds attempt_timeout = 1s;
constexpr std::chrono::nanoseconds connect_timeout = 2s;
constexpr std::chrono::nanoseconds reconnect_interval = 250ms;
constexpr size_t io_threads = 2;
constexpr size_t body_limit = 1024 * 1024;
constexpr uint64_t document_limit = uint64_t{4} << 30;
constexpr std::chrono::nanoseconds header_timeout = 10s;
constexpr std::chrono::nanoseconds body_timeout = 30s;
constexpr std::chrono::nanoseconds keep_alive_timeout = 60s;
constexpr size_t pipeline_limit = 16;
constexpr size_t max_connections = 4096;
constexpr size_t max_connections_per_client = 1024;
constexpr std::chrono::nanoseconds heartbeat_interval = 200ms;
constexpr std::chrono::nanoseconds connection_timeout = 1s;
constexpr balance balancing = balance::round_robin;
constexpr size_t instances = 1;
constexpr std::chrono::nanoseconds verify_timeout = 5s;
constexpr std::chrono::nanoseconds ping_interval = 200ms;
constexpr std::chrono::nanoseconds suspect_after = 500ms;
constexpr std::chrono::nanoseconds down_after = 1s;
constexpr size_t restart_intensity = 3;
constexpr std::chrono::nanoseconds restart_period = 10s;
constexpr std::chrono::nanoseconds restart_backoff = 100ms;
constexpr std::chrono::nanoseconds restart_backoff_max = 2s;
constexpr std::chrono::nanoseconds failed_cooldown = 5s;
constexpr std::chrono::nanoseconds failed_cooldown_max = 300s;
constexpr size_t max_pending = 1000;
constexpr std::chrono::nanoseconds redeliver_after = 5s;
constexpr std::chrono::nanoseconds task_timeout = 60s;
constexpr size_t keep_results = 10000;
constexpr std::chrono::nanoseconds keep_for = 600s;
constexpr std::chrono::nanoseconds beat_interval = 200ms;
constexpr auto durability = duet::durability::fsync;
constexpr uint64_t store_max_bytes = uint64_t{1} << 30;
constexpr std::chrono::nanoseconds member_timeout = 1s;
constexpr std::chrono::nanoseconds lookup_timeout = 3s;
constexpr std::chrono::nanoseconds tick_interval = 100ms;
constexpr std::chrono::nanoseconds proof_ttl = 30s;

} // namespace defaults

/// Section `[node]`: who this process is.
struct node_options {
  /// Name of this node, used in logs and in verifier names.
  std::string name;
  /// Roles this process runs (verifier, supervisor and hub each need a
  /// node of their own: each publishes on `port`).
  std::vector<role> roles;
  /// Address the CAF port (and the HTTP port of nodes without the front
  /// role) binds to.
  std::string host = defaults::host;
  /// Address other nodes reach this node at, as it registers with the
  /// supervisor (default: `host`; required if `host` is a wildcard).
  std::string advertise;
  /// CAF port where this node publishes its actor (0: pick a free one).
  uint16_t port = 0;
  /// The least severe log level printed.
  log::level log_level = defaults::log_level;
  /// HTTP port for /healthz, /readyz and /metrics on nodes without the
  /// front role (0: none; fronts serve them on front.http-port).
  uint16_t http_port = 0;
  /// The keeper restarts a local actor (router, task desk, consumer) that
  /// died at most this often within `keeper_period`; past that the node
  /// exits with code 3 for its service manager to restart it.
  size_t keeper_intensity = defaults::keeper_intensity;
  std::chrono::nanoseconds keeper_period = defaults::keeper_period;
  /// How long a stopping node waits to deregister from its supervisor.
  std::chrono::nanoseconds stop_timeout = defaults::stop_timeout;
};

/// Section `[front]`: the HTTP front and how it reaches verifiers.
struct front_options {
  /// Address the HTTP server binds to.
  std::string http_host = defaults::http_host;
  /// HTTP port (0: pick a free one; the node prints it).
  uint16_t http_port = defaults::http_port;
  /// Style `POST /api/signature` uses.
  style default_style = defaults::default_style;
  /// Verifier nodes for the direct style, as "host:port".
  std::vector<std::string> verifiers;
  /// The supervisor node for the orchestration style, as "host:port".
  std::string supervisor;
  /// How instances are chosen.
  balance balancing = defaults::balancing;
  /// Key id used when a request names none.
  std::string default_key_id = defaults::default_key_id;
  /// Folder `textFile` names are resolved in (empty: `textFile` disabled).
  std::string documents;
  /// Deadline of one verification, retries included.
  std::chrono::nanoseconds request_timeout = defaults::request_timeout;
  /// Deadline of one attempt on one verifier.
  std::chrono::nanoseconds attempt_timeout = defaults::attempt_timeout;
  /// Deadline for connecting to a verifier node.
  std::chrono::nanoseconds connect_timeout = defaults::connect_timeout;
  /// Pause before reconnecting to a verifier node that failed.
  std::chrono::nanoseconds reconnect_interval = defaults::reconnect_interval;
  /// Deadline of the supervisor's and the task desk's answers for
  /// `GET /api/cluster` (past it the view shows what the front knows).
  std::chrono::nanoseconds view_timeout = defaults::view_timeout;
  /// Time to write one response (or `100 Continue`) to a client.
  std::chrono::nanoseconds write_timeout = defaults::write_timeout;
  /// Past `request_timeout` plus this, a request the actors did not answer
  /// gets 503 from the HTTP side itself.
  std::chrono::nanoseconds answer_grace = defaults::answer_grace;
  /// Longest long poll `GET /api/signature/<id>?wait=ms` may ask for.
  std::chrono::nanoseconds max_wait = defaults::max_wait;
  /// Threads running the HTTP server.
  size_t io_threads = defaults::io_threads;
  /// Largest accepted request body in bytes (larger: 413).
  size_t body_limit = defaults::body_limit;
  /// Largest `textFile` document a front hashes (with a pinned key; read
  /// whole up to `body_limit` without one).
  uint64_t document_limit = defaults::document_limit;
  /// Time a client has to send a complete request header.
  std::chrono::nanoseconds header_timeout = defaults::header_timeout;
  /// Time a client has to send a complete body after its header.
  std::chrono::nanoseconds body_timeout = defaults::body_timeout;
  /// Time an idle keep-alive connection stays open.
  std::chrono::nanoseconds keep_alive_timeout = defaults::keep_alive_timeout;
  /// Requests one connection may have in progress at once (pipelining).
  size_t pipeline_limit = defaults::pipeline_limit;
  /// Open connections at once. At the limit, the connection waiting longest
  /// for a request is closed to admit a new one; if none waits, the new one
  /// is answered 503 and closed.
  size_t max_connections = defaults::max_connections;
  /// Open connections from one client address at once (capped at
  /// `max_connections`); past it the same rule applies among its own.
  size_t max_connections_per_client = defaults::max_connections_per_client;
  /// Honor keyIds "!router-crash", "!router-throw" and "!desk-crash" (tests
  /// only; off by default).
  bool fault_injection = false;
  /// HTTPS: the front's certificate and key (PEM); empty: plain HTTP.
  std::string tls_certificate;
  std::string tls_key;
  /// Key folder (keys.json) of the keys this front pins: every request names
  /// its key's algorithm and public-key fingerprint, and a verifier whose
  /// key for the id differs refuses instead of answering (required).
  std::string keys;
  /// Key folder for the inline baseline, `POST /api/inline/signature`, which
  /// verifies on the HTTP thread without actors (empty: off).
  std::string inline_keys;
};

/// Section `[verifier]`: the verifier role.
struct verifier_options {
  /// Key folder with a `keys.json` manifest.
  std::string keys;
  /// Verifier instances (actors) this node runs.
  size_t instances = defaults::instances;
  /// Supervisor to register with, as "host:port" (empty: none).
  std::string supervisor;
  /// Deadline of a choreography task's verification on a local instance.
  std::chrono::nanoseconds verify_timeout = defaults::verify_timeout;
  /// Deadline for reaching the supervisor and the node's own agent.
  std::chrono::nanoseconds connect_timeout = defaults::connect_timeout;
  /// Pause before reconnecting to the supervisor.
  std::chrono::nanoseconds reconnect_interval = defaults::reconnect_interval;
  /// Honor the crash key id "!crash" (tests only).
  bool fault_injection = false;
};

/// Section `[supervisor]`: the supervisor role.
struct supervisor_options {
  /// Pause between pings of each verifier instance.
  std::chrono::nanoseconds ping_interval = defaults::ping_interval;
  /// An instance silent this long is "suspect" (fronts avoid it).
  std::chrono::nanoseconds suspect_after = defaults::suspect_after;
  /// An instance silent this long is "down" (fronts stop using it).
  std::chrono::nanoseconds down_after = defaults::down_after;
  /// Restarts allowed per instance within `restart_period`; one more crash
  /// marks the instance "failed".
  size_t restart_intensity = defaults::restart_intensity;
  /// Window of `restart_intensity`.
  std::chrono::nanoseconds restart_period = defaults::restart_period;
  /// Delay before the first restart; doubles per recent crash.
  std::chrono::nanoseconds restart_backoff = defaults::restart_backoff;
  /// Upper bound of the restart delay.
  std::chrono::nanoseconds restart_backoff_max = defaults::restart_backoff_max;
  /// A failed instance is tried again after this long; doubles per failure
  /// in a row.
  std::chrono::nanoseconds failed_cooldown = defaults::failed_cooldown;
  /// Upper bound of the cool-down.
  std::chrono::nanoseconds failed_cooldown_max = defaults::failed_cooldown_max;
  /// Deadline of a node agent's answer when the supervisor restarts an
  /// instance (tried again after `restart_backoff_max`).
  std::chrono::nanoseconds respawn_timeout = defaults::connect_timeout;
};

/// Returns whether `host` binds every interface ("0.0.0.0", "::", "[::]"
/// or empty): an address to bind, never one to tell other nodes.
bool is_wildcard(std::string_view host) noexcept;

/// Splits "host:port" (port in 1..65535); returns false if malformed.
bool split_address(const std::string& address, std::string& host,
                   uint16_t& port);

/// Section `[choreography]`: task and result groups (front and verifier).
struct choreography_options {
  /// The hub, "host:port": the one-hub form of `hubs` (read from the
  /// config; `hubs` holds it after parsing).
  std::string hub;
  /// Hub nodes, "host:port" in order of preference (empty: choreography
  /// off).
  std::vector<std::string> hubs;
  /// Front: tasks waiting for a result at most; more get 503.
  size_t max_pending = defaults::max_pending;
  /// Front: a task without result this long is published again.
  std::chrono::nanoseconds redeliver_after = defaults::redeliver_after;
  /// Front: a task without result this long ends "failed"; verifiers
  /// forget such a task too.
  std::chrono::nanoseconds task_timeout = defaults::task_timeout;
  /// Front: finished tasks kept for GET, at most this many...
  size_t keep_results = defaults::keep_results;
  /// Front: ...and at most this long.
  std::chrono::nanoseconds keep_for = defaults::keep_for;
  /// Verifier: pause between heartbeats on the hubs' member group.
  std::chrono::nanoseconds beat_interval = defaults::beat_interval;
  /// Front: a consumer silent this long is gone; its tasks go to others.
  std::chrono::nanoseconds member_timeout = defaults::member_timeout;
  /// Both: a step of joining a hub that takes longer is abandoned...
  std::chrono::nanoseconds lookup_timeout = defaults::lookup_timeout;
  /// ...and the hub tried again after this pause (also once it is lost).
  std::chrono::nanoseconds lookup_retry = defaults::reconnect_interval;
  /// Front: the task store (SQLite), relative to the config file; what a
  /// 202 promises (`durability`); the store's size cap.
  std::string store;
  duet::durability durability = defaults::durability;
  uint64_t store_max_bytes = defaults::store_max_bytes;
  /// Front: how often the task desk expires and redelivers tasks.
  std::chrono::nanoseconds tick_interval = defaults::tick_interval;
};

/// Section `[tls]`: mutual TLS on every CAF link (CAF's OpenSSL module).
/// Paths are relative to the config file, like every other path.
struct tls_options {
  /// PEM CA certificate(s) trusted for peers.
  std::string ca;
  /// This node's certificate (PEM); its CN must be `node.name`.
  std::string certificate;
  /// Its private key (PEM).
  std::string key;
  /// Plaintext between nodes, with a loud warning at start and in /healthz:
  /// any process that reaches a CAF port can then join the cluster.
  bool insecure = false;
  /// Lifetime of a challenge to prove a name, and how old a signed
  /// heartbeat may be.
  std::chrono::nanoseconds proof_ttl = defaults::proof_ttl;
  /// The name the certificate carries (set when the files were checked).
  std::string proven_name;
};

/// Everything a node reads from its config file and command line.
struct options {
  node_options node;
  front_options front;
  verifier_options verifier;
  supervisor_options supervisor;
  choreography_options choreography;
  tls_options tls;
  /// The config file that was read, as given.
  std::string config_file;

  /// Returns whether this node runs `x`.
  bool has_role(role x) const;
};

} // namespace duet
