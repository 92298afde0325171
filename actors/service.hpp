#pragma once

// The boundary between the HTTP front and the actors: plain C++ types and one
// abstract interface, so http_front/ never includes CAF.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "actors/error.hpp"

namespace duet {

/// One verification job: check `hex_signature` over `text` with `key_id`.
struct verify_request {
  /// Id of a key in the verifiers' key folder.
  std::string key_id;
  /// The exact bytes that were signed.
  std::string text;
  /// The signature in hex (2 digits per byte).
  std::string hex_signature;
  /// What the front pins for `key_id`: the algorithm's name and the SHA-256
  /// of the public key (hex). A verifier whose key differs refuses
  /// (`key_mismatch`) instead of answering a verdict.
  std::string algorithm{};
  std::string fingerprint{};
};

/// The answer to a `verify_request` that could be checked.
struct verdict {
  /// Whether the signature matched.
  bool verified = false;
  /// Which verifier instance answered, as `<node>/<actor>`.
  std::string verifier;
  /// The key id and the algorithm the verdict was made with (filled in by
  /// the front from what it pins).
  std::string key_id{};
  std::string algorithm{};
};

/// How the front reaches verifiers.
enum class style : uint8_t {
  /// The front calls verifier actors on configured nodes, alternating.
  direct,
  /// The front uses the verifier instances the supervisor reports.
  orchestration,
  /// The front publishes tasks to a CAF group; verifiers compete for them.
  choreography,
};

/// Returns the config name of `x`, e.g. `"direct"`.
const char* to_string(style x) noexcept;

/// Parses a config name as written by `to_string`.
std::optional<style> parse_style(std::string_view name) noexcept;

/// A choreography task as `GET /api/signature/<id>` shows it.
struct task_view {
  std::string id;
  /// "pending", "done" or "failed".
  std::string state;
  /// Whether the signature matched (meaningful once "done").
  bool verified = false;
  /// Instance that answered, if any.
  std::string verifier;
  /// What happened, e.g. the reason of a failure.
  std::string message;
  /// The key id and algorithm of the request.
  std::string key_id{};
  std::string algorithm{};
};

/// Counters the front's actors update and the HTTP side reads without a hop.
struct front_status {
  /// Verifiers currently connected and alive.
  std::atomic<size_t> verifiers_up{0};
  /// Verifiers the front is configured or told to use.
  std::atomic<size_t> verifiers_known{0};
  /// Verification jobs waiting for an answer.
  std::atomic<size_t> in_flight{0};
  /// Whether the task desk uses the hub's groups (choreography).
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
  using callback = std::function<void(expected<verdict>)>;

  using text_callback = std::function<void(std::string)>;

  using submit_callback = std::function<void(expected<std::string>)>;

  using task_callback = std::function<void(std::optional<task_view>)>;

  virtual ~verify_service();

  /// Verifies `req` in style `how` and calls `done` with the outcome.
  virtual void verify(style how, verify_request req, callback done) = 0;

  /// Accepts a choreography task and calls `done` with its id, or with an
  /// `overloaded` or `no_verifier` failure if it was refused.
  virtual void submit(verify_request req, submit_callback done) = 0;

  /// Calls `done` with task `id` (marking it read once final), or nothing if
  /// unknown; if the task is pending, waits up to `wait` for it to end (long
  /// poll). An empty `id` takes the oldest finished task not read yet (the
  /// seed's id-less GET).
  virtual void
  task(std::string id, std::chrono::milliseconds wait, task_callback done)
    = 0;

  /// Calls `done` with the cluster view as a JSON document: nodes, verifier
  /// instances, their state, restarts, heartbeat age, requests served and in
  /// flight.
  virtual void cluster(text_callback done) = 0;

  /// Returns live counters for health checks.
  virtual const front_status& status() const noexcept = 0;
};

} // namespace duet
