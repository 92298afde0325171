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

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/core/options.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/identity.hpp"

namespace duet {

/// The consumer's interface: the traffic of the hub's two groups (plus its
/// own timers). It is an untyped actor underneath, since CAF 0.17's typed
/// actors cannot join groups; this handle names what it takes.
using consumer_actor = caf::typed_actor<
  // A task on the task group (a redelivery has a higher attempt).
  caf::reacts_to<choreo_task>,
  // A member's heartbeat on the task group.
  caf::reacts_to<member_beat>,
  // Results of the members on the result group.
  caf::reacts_to<result_batch>,
  // A member's refusal of a task on the result group (another key).
  caf::reacts_to<task_decline>>;

/// Spawns the consumer of this verifier node (`identity->name`), verifying
/// with the instances of `agent` within `local.verify_timeout`. Its beats
/// and result batches carry proofs of the node's name, and it checks the
/// others'.
consumer_actor start_consumer(caf::actor_system& sys,
                              std::shared_ptr<const node_identity> identity,
                              verifier_node_actor agent,
                              const verifier_options& local,
                              const choreography_options& opts);

} // namespace duet
