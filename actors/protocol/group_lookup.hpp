#pragma once

// Looking up the hub's groups from inside an actor, without blocking and
// within a deadline (see hub/group_server.hpp for the other side).

#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>
#include <caf/group.hpp>

#include "actors/protocol/fwd.hpp"
#include "actors/protocol/identity.hpp"

namespace duet {

/// The task group: the front publishes tasks, verifiers beat.
constexpr const char* task_group_name = "duet-tasks";

/// The result group: verifiers publish results.
constexpr const char* result_group_name = "duet-results";

/// Looks up group `name` on `hub` ("host:port") for `self` without blocking:
/// connects to the hub's group server, proves this node's name over its
/// challenge and asks for the group, each within `timeout`; `self` then
/// receives `(lookup_atom, group_lookup)` with the group, or with an
/// invalid group and the reason.
void lookup_group(caf::event_based_actor* self,
                  const std::shared_ptr<const node_identity>& identity,
                  const std::string& hub, const std::string& name,
                  std::chrono::nanoseconds timeout);

/// Logs a failed lookup and has `self` receive `local::lookup{name}` after
/// `pause`, to look the group up again.
void retry_lookup(caf::event_based_actor* self, const group_lookup& failed,
                  const std::string& hub, std::chrono::nanoseconds pause);

/// The hub's two groups as one member (a task desk or a consumer) holds
/// them: looked up at start, each lookup retried until it succeeds, and both
/// looked up again when the hub is lost. The owner forwards its
/// `(lookup_atom, group_lookup)`, `local::lookup` and `caf::group_down_msg`.
class hub_groups {
public:
  struct config {
    std::string hub;
    std::chrono::nanoseconds lookup_timeout;
    std::chrono::nanoseconds lookup_retry;
    /// Whether the member receives tasks (consumers) or only publishes
    /// them (fronts). Both receive results.
    bool join_tasks = true;
  };

  hub_groups(caf::event_based_actor* self,
             std::shared_ptr<const node_identity> identity, config cfg);

  /// Looks both groups up.
  void lookup_all();

  /// Looks group `name` up.
  void lookup(const std::string& name);

  /// Takes the outcome of a lookup: returns the group it set, or null if it
  /// failed (then it is retried after `lookup_retry`).
  const caf::group* on_lookup(group_lookup& r);

  /// Takes a `group_down_msg`: returns true if it was one of the hub's
  /// groups, after forgetting both and looking them up again.
  bool on_down(const caf::group_down_msg& msg);

  /// Whether a lookup returned a group whose link died before: CAF 0.17
  /// keeps a remote group's proxy for good, and once the link to its hub
  /// died the proxy forwards nothing. A hub that was partitioned (not
  /// restarted) hands out the same groups again, which this process cannot
  /// use: the groups stay invalid (a front refuses tasks, saying so) until
  /// the node restarts.
  bool stale() const noexcept {
    return stale_;
  }

  /// The task group (invalid while it is looked up).
  const caf::group& tasks() const noexcept {
    return tasks_;
  }

  /// The result group (invalid while it is looked up).
  const caf::group& results() const noexcept {
    return results_;
  }

  const std::string& hub() const noexcept {
    return cfg_.hub;
  }

private:
  caf::event_based_actor* self_;
  std::shared_ptr<const node_identity> identity_;
  config cfg_;
  caf::group tasks_;
  caf::group results_;
  bool stale_ = false;
};

} // namespace duet
