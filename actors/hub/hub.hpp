#pragma once

// The hub: the choreography's medium, in place of the article's RabbitMQ.
// It holds CAF groups, one per topic: "tasks/<verifier node>" (the tasks a
// verifier node owns), "results/<front>" (the results and declines for one
// front) and "members" (the consumers' heartbeats, read by the fronts).
// Members reach them through the hub actor over TLS like every other actor:
// they join with a proof of their name (a verifier node only its own task
// group, a front only its own result group and the member group) and
// publish with one message to the hub, which forwards into the group.
//
// Why not CAF 0.17's own remote groups: they connect in plaintext, block
// with infinite internal timeouts, let any peer create groups, and keep a
// remote group's proxy for good once its link died, so that a member could
// never use a hub again after a partition without restarting. Here a member
// whose link died joins again, and a front can move to another hub.
//
// Traffic per task does not grow with the number of verifier nodes: a task
// goes to the one group of its owner (rendezvous hashing at the front), its
// result to the one group of its front.

#include <memory>

#include <caf/fwd.hpp>

#include "actors/protocol/fwd.hpp"
#include "actors/protocol/identity.hpp"

namespace duet {

/// Spawns a hub (publish it on the hub node's CAF port).
hub_actor start_hub(caf::actor_system& sys,
                    std::shared_ptr<const node_identity> identity);

} // namespace duet
