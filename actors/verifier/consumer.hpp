#pragma once

// The verifier side of the choreography style: a consumer on each verifier
// node joins its node's task group on every hub (hub/hub.hpp), beats on
// the member group so that the fronts know it, verifies the tasks the
// fronts send it (each task to one consumer, its owner by rendezvous
// hashing) and sends each result, signed, to the result group of the front
// that published the task, through the hub the task came through. A
// consumer that dies or falls silent loses nothing: the fronts publish its
// pending tasks to the others (at-least-once; the first result counts).

#include <caf/fwd.hpp>
#include <caf/typed_actor.hpp>

#include "actors/core/options.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/identity.hpp"

namespace duet {

/// The consumer's interface: tasks from its node's task group (plus its
/// own timers).
using consumer_actor = caf::typed_actor<
  // A task (a redelivery has a higher attempt).
  caf::reacts_to<choreo_task>>;

/// Spawns the consumer of this verifier node (`identity->name`), verifying
/// with the instances of `agent` within `local.verify_timeout`. Its beats,
/// declines and result batches carry proofs of the node's name.
consumer_actor start_consumer(caf::actor_system& sys,
                              std::shared_ptr<const node_identity> identity,
                              verifier_node_actor agent,
                              const verifier_options& local,
                              const choreography_options& opts);

} // namespace duet
