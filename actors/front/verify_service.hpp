#pragma once

// The boundary between the HTTP front and the front's actors: plain C++
// types and one abstract interface (implemented by `front_service`), so
// http_front/ never includes an actor header.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "actors/core/error.hpp"
#include "actors/core/options.hpp"
#include "actors/protocol/request.hpp"
#include "actors/protocol/states.hpp"

namespace duet {

/// A choreography task's state.
enum class task_state : uint8_t {
  /// Published; no result yet.
  pending,
  /// A verifier answered a verdict.
  done,
  /// It could not be checked (`error` says why), or nobody answered within
  /// `choreography.task-timeout`.
  failed,
};

template <>
struct enum_names<task_state> {
  static constexpr std::pair<task_state, const char*> table[] = {
    {task_state::pending, "pending"},
    {task_state::done, "done"},
    {task_state::failed, "failed"},
  };
};

/// A choreography task as `GET /api/signature/<id>` shows it.
struct task_view {
  std::string id;
  task_state state = task_state::pending;
  /// Whether the signature matched (once `done`).
  bool verified = false;
  /// Instance that answered, if any.
  std::string verifier;
  /// Why it `failed`.
  caf::error error{};
  /// The key id and algorithm of the request.
  std::string key_id{};
  std::string algorithm{};
};

/// A verifier instance in the cluster view.
struct instance_row {
  std::string name;
  /// `host:port` of its node (the front's own pools).
  std::string node{};
  instance_state state = instance_state::down;
  /// Why it is `misconfigured`.
  std::string why{};
  /// Restarts and milliseconds since its last pong (-1: none), from the
  /// supervisor's registry.
  uint32_t restarts = 0;
  int64_t heartbeat_age_ms = -1;
  /// Requests it answered for this front, and has in flight.
  uint64_t served = 0;
  uint32_t in_flight = 0;
};

/// A verifier node in the supervisor's registry.
struct node_row {
  std::string name;
  std::string address;
  node_state state = node_state::down;
  /// Registrations under its name refused while it was alive, the last
  /// one's origin.
  uint32_t conflicts = 0;
  std::string last_conflict;
  std::vector<instance_row> instances;
};

/// The task desk's counters (choreography).
struct desk_counters {
  /// The hub the desk publishes through (empty: none reachable).
  std::string hub;
  /// Whether it has a hub to publish through.
  bool joined = false;
  /// Every configured hub and whether the desk has joined it.
  std::vector<std::pair<std::string, bool>> hubs;
  /// Consumers beating on the hub it publishes through.
  uint64_t members = 0;
  uint64_t accepted = 0;
  uint64_t pending = 0;
  uint64_t redelivered = 0;
  uint64_t results = 0;
  /// Results for tasks that already had one.
  uint64_t duplicates = 0;
  /// Results about another request than the task's (forged task copies).
  uint64_t mismatched = 0;
  /// Results per verifier instance, and declines per misconfigured node.
  std::vector<std::pair<std::string, uint64_t>> by_verifier;
  std::vector<std::pair<std::string, uint64_t>> misconfigured;
};

/// What `GET /api/cluster` shows: the supervisor's registry merged with the
/// front's own view of each style.
struct cluster_view {
  /// This front's node name, default style and balancing.
  std::string front;
  style default_style = style::direct;
  balance balancing = balance::round_robin;
  /// The supervisor (empty: none configured) and whether it answered now.
  std::string supervisor;
  bool supervisor_reachable = false;
  /// The registry (the last one known if the supervisor did not answer).
  std::vector<node_row> nodes;
  /// The front's pools.
  std::vector<instance_row> orchestration;
  std::vector<instance_row> direct;
  /// The task desk's counters, if the front has one.
  std::optional<desk_counters> choreography;
};

/// Counters the front's actors update and the HTTP side reads without a hop.
struct front_status {
  /// Verifiers currently connected and alive.
  std::atomic<size_t> verifiers_up{0};
  /// Verifiers the front is configured or told to use.
  std::atomic<size_t> verifiers_known{0};
  /// Verification jobs waiting for an answer.
  std::atomic<size_t> in_flight{0};
  /// Whether the task desk has a hub to publish through (choreography).
  std::atomic<bool> tasks_joined{false};
  /// Whether nodes talk in plaintext (tls.insecure=true).
  std::atomic<bool> plaintext{false};
  /// Whether the router runs, and how often it was started (1 + restarts).
  std::atomic<bool> router_up{false};
  std::atomic<uint32_t> router_starts{0};
  /// Whether the task desk runs (if configured), and its starts.
  std::atomic<bool> desk_up{false};
  std::atomic<uint32_t> desk_starts{0};
};

/// What the HTTP front asks of the actor system. Implementations never block
/// the caller and call `done` exactly once, on an actor's thread.
class verify_service {
public:
  using callback = std::function<void(caf::expected<verdict>)>;

  using submit_callback = std::function<void(caf::expected<std::string>)>;

  using task_callback = std::function<void(caf::expected<task_view>)>;

  using cluster_callback = std::function<void(caf::expected<cluster_view>)>;

  virtual ~verify_service() = default;

  /// Verifies `req` in style `how` and calls `done` with the outcome.
  virtual void verify(style how, verify_request req, callback done) = 0;

  /// Accepts a choreography task and calls `done` with its id, or with an
  /// `overloaded` or `no_verifier` failure if it was refused.
  virtual void submit(verify_request req, submit_callback done) = 0;

  /// Calls `done` with task `id` (marking it read once final), or with
  /// `unknown_task`; if the task is pending, waits up to `wait` for it to
  /// end (long poll). An empty `id` takes the oldest finished task not read
  /// yet (the seed's id-less GET). `unavailable` while the task desk
  /// restarts.
  virtual void
  task(std::string id, std::chrono::milliseconds wait, task_callback done)
    = 0;

  /// Calls `done` with the cluster view, or `unavailable` while the router
  /// restarts.
  virtual void cluster(cluster_callback done) = 0;

  /// Returns live counters for health checks.
  virtual const front_status& status() const noexcept = 0;
};

} // namespace duet
