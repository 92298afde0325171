#pragma once

// The hub: a node that hosts the choreography's two groups. CAF 0.17's own
// remote groups (`publish_local_groups`, `groups().get("remote", ...)`)
// connect in plaintext, block with infinite internal timeouts, and let any
// peer create groups on the hub. duet publishes its own group server
// instead (over TLS like every other actor) that hands out exactly its two
// groups, and only to fronts and verifier nodes that prove their names.
// Members look the groups up with `lookup_group` (protocol/group_lookup.hpp).

#include <memory>

#include <caf/fwd.hpp>

#include "actors/protocol/fwd.hpp"
#include "actors/protocol/identity.hpp"

namespace duet {

/// Spawns the hub's group server (publish it on the hub's CAF port).
group_server_actor
start_group_server(caf::actor_system& sys,
                   std::shared_ptr<const node_identity> identity);

} // namespace duet
