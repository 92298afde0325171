#pragma once

// The verifier side of the choreography style: a consumer on each verifier
// node that joins the task and result groups, keeps the membership of all
// consumers from their heartbeats, and verifies exactly the tasks it owns.
//
// Ownership is rendezvous hashing over the live members: the owner of task
// `t` is the member `m` with the largest FNV-1a hash of `m + '\0' + t`.
// Every consumer sees every task (groups broadcast) and computes the same
// owner from the same membership, so in steady state each task is verified
// once. Each consumer keeps the tasks it has seen until a result for them
// appears on the result group; when a member stops beating (or says it
// leaves), the others recompute the owners of those tasks and the new owners
// verify them: a dead verifier's tasks are taken over (at-least-once).

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/fwd.hpp"
#include "actors/options.hpp"

namespace duet {

/// Spawns the consumer of verifier node `node`, verifying with the instances
/// of `agent`.
caf::actor start_consumer(caf::actor_system& sys, const std::string& node,
                          verifier_node_actor agent,
                          const choreography_options& opts);

/// Returns the owner of task `id` among `members` (rendezvous hashing).
std::string task_owner(const std::string& id,
                       const std::vector<std::string>& members);

} // namespace duet
