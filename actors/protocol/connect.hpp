#pragma once

// Reaching other nodes: publishing an actor on the node's CAF port and
// connecting to one from inside an actor, without blocking. With TLS on
// (the default) both go through CAF's OpenSSL module, so every CAF link is
// mutual TLS against the cluster CA; a peer with another interface than the
// one expected is refused.

#include <set>
#include <string>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/middleman_actor.hpp>
#include <caf/node_id.hpp>

#include "actors/core/error.hpp"
#include "actors/runtime/guard.hpp"

namespace duet {

/// The middleman actor that makes this node's connections: CAF's OpenSSL
/// module's if it is loaded (TLS), the plain one otherwise.
caf::io::middleman_actor connector(caf::actor_system& sys);

/// Publishes `whom` (with its interface) on `host`:`port` through CAF's
/// OpenSSL module.
caf::expected<uint16_t> publish_tls(caf::actor_system& sys,
                                    const caf::strong_actor_ptr& whom,
                                    std::set<std::string> interface,
                                    uint16_t port, const std::string& host);

/// Publishes the (typed) actor `whom` on `host`:`port`, over TLS if on.
template <class Handle>
caf::expected<uint16_t> publish_actor(caf::actor_system& sys,
                                      const Handle& whom, uint16_t port,
                                      const std::string& host) {
  if (sys.has_openssl_manager())
    return publish_tls(sys, caf::actor_cast<caf::strong_actor_ptr>(whom),
                       sys.message_types(whom), port, host);
  return sys.middleman().publish(whom, port, host.c_str(), true);
}

using probe_atom = caf::atom_constant<caf::atom("probe")>;

/// Spawns a helper on a thread of its own that answers `(probe_atom, host,
/// port, timespan timeout)` with `true` once a TCP connection to host:port
/// opened within the timeout (closed at once), or CAF's
/// `cannot_connect_to_node`, and then ends. CAF 0.17's connect runs a
/// blocking `connect(2)` on a thread of the scheduler: against a host that
/// drops packets (a partition) it would hold that thread until the kernel
/// gives up (about two minutes), and with it every actor scheduled there.
caf::actor spawn_prober(caf::actor_system& sys);

/// `connect_to` without the probe.
template <class Handle, class Self, class Ok, class Fail>
void connect_now(Self* self, const std::string& host, uint16_t port,
                 caf::timespan timeout, Ok ok, Fail fail) {
  self
    ->request(connector(self->system()), timeout, caf::connect_atom::value,
              host, port)
    .then(
      guard(self->name(),
            [self, ok, fail](const caf::node_id&, caf::strong_actor_ptr& ptr,
                             const std::set<std::string>& ifs) mutable {
              if (!ptr)
                fail(caf::make_error(ec::invalid_message,
                                     "no actor is published there"));
              else if (ifs != self->system().template message_types<Handle>())
                fail(caf::make_error(ec::invalid_message,
                                     "the published actor has another "
                                     "interface"));
              else
                ok(caf::actor_cast<Handle>(std::move(ptr)));
            }),
      guard(self->name(),
            [fail](const caf::error& err) mutable { fail(err); }));
}

/// Connects `self` to the actor published at `host`:`port` and calls
/// `ok(Handle)`, or `fail(caf::error)` if it cannot be reached in `timeout`
/// (CAF's error) or does not implement `Handle` (`ec::invalid_message`: a
/// wrong peer). Both run guarded (see guard.hpp).
/// The host is probed first (see `spawn_prober`), so that a host that does
/// not answer costs a helper thread its timeout, not a scheduler thread.
template <class Handle, class Self, class Ok, class Fail>
void connect_to(Self* self, const std::string& host, uint16_t port,
                caf::timespan timeout, Ok ok, Fail fail) {
  self
    ->request(spawn_prober(self->system()), timeout + timeout / 2,
              probe_atom::value, host, port, timeout)
    .then(guard(self->name(),
                [self, host, port, timeout, ok, fail](bool) mutable {
                  connect_now<Handle>(self, host, port, timeout, ok, fail);
                }),
          guard(self->name(),
                [fail](const caf::error& err) mutable { fail(err); }));
}

} // namespace duet
