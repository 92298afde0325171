#pragma once

// The verifier side of the choreography style: a consumer on each verifier
// node that joins the task and result groups, keeps the membership of all
// consumers from their heartbeats (membership.hpp), and verifies exactly the
// tasks it owns. Each consumer keeps the tasks it has seen until a result
// for them appears on the result group (task_memory.hpp); when a member
// stops beating (or says it leaves), the others recompute the owners of
// those tasks and the new owners verify them (at-least-once). A result is
// only taken as done once it was handed to the result group; a task the
// front publishes again after its result was lost is answered again.

#include <caf/actor.hpp>
#include <caf/fwd.hpp>

#include "actors/fwd.hpp"
#include "actors/identity.hpp"
#include "actors/options.hpp"

namespace duet {

/// Spawns the consumer of this verifier node (`identity->name`), verifying
/// with the instances of `agent`. Its beats and result batches carry proofs
/// of the node's name, and it checks the others'.
caf::actor start_consumer(caf::actor_system& sys,
                          std::shared_ptr<const node_identity> identity,
                          verifier_node_actor agent,
                          const choreography_options& opts);

} // namespace duet
