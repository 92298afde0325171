#pragma once

// Looking up the hub's groups from inside an actor, without blocking and
// within a deadline (see hub/group_server.hpp for the other side).

#include <chrono>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

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

} // namespace duet
