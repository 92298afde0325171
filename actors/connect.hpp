#pragma once

// Connecting to a published actor from inside an actor, without blocking:
// through the middleman actor, with a deadline, and refusing a peer whose
// published actor has another interface.

#include <set>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/node_id.hpp>

#include "actors/guard.hpp"

namespace duet {

/// Connects `self` to the actor published at `host`:`port` and calls
/// `ok(Handle)`, or `fail(reason, wrong_peer)` if it cannot be reached in
/// `timeout` (`wrong_peer` false) or does not implement `Handle` (true).
/// Both run guarded (see guard.hpp).
template <class Handle, class Self, class Ok, class Fail>
void connect_to(Self* self, const std::string& host, uint16_t port,
                caf::timespan timeout, Ok ok, Fail fail) {
  auto mm = self->system().middleman().actor_handle();
  self->request(mm, timeout, caf::connect_atom::value, host, port)
    .then(
      guard(self->name(),
            [self, ok, fail](const caf::node_id&, caf::strong_actor_ptr& ptr,
                             const std::set<std::string>& ifs) mutable {
              if (!ptr)
                fail(std::string{"no actor is published there"}, true);
              else if (ifs != self->system().template message_types<Handle>())
                fail(std::string{"the published actor has another interface"},
                     true);
              else
                ok(caf::actor_cast<Handle>(std::move(ptr)));
            }),
      guard(self->name(), [self, fail](const caf::error& err) mutable {
        fail(self->system().render(err), false);
      }));
}

} // namespace duet
