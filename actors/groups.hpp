#pragma once

// The choreography's two groups live on the hub. CAF 0.17's own remote
// groups (`publish_local_groups`, `groups().get("remote", ...)`) connect in
// plaintext, block with infinite internal timeouts, and let any peer create
// groups on the hub. duet publishes its own group server instead (over TLS
// like every other actor) that hands out exactly its two groups, and looks
// groups up from inside actors, without blocking, within a deadline.

#include <chrono>
#include <string>

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/fwd.hpp"
#include "actors/identity.hpp"

namespace duet {

/// The task group: the front publishes tasks, verifiers beat.
constexpr const char* task_group_name = "duet-tasks";

/// The result group: verifiers publish results.
constexpr const char* result_group_name = "duet-results";

/// Spawns the hub's group server (publish it on the hub's CAF port). It
/// hands its groups only to nodes that prove their names.
group_server_actor
start_group_server(caf::actor_system& sys,
                   std::shared_ptr<const node_identity> identity);

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
/// `defaults::reconnect_interval`, to look the group up again.
void retry_lookup(caf::event_based_actor* self, const group_lookup& failed,
                  const std::string& hub);

} // namespace duet
