#pragma once

// The keeper of a node's long-lived actors (OTP's supervisor for the
// process itself): it monitors each of them; one that dies is started again,
// unless it died too often (or may not be restarted at all, such as a
// published actor whose handle peers hold), in which case the keeper gives
// up and the node exits with a clear message so that its service manager
// restarts the process. CAF lets any peer end an actor (an exit message
// with reason `kill` cannot be trapped), so every actor of a node is kept.

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>

#include "actors/core/options.hpp"

namespace duet::local {

/// The keeper: stop the actors it keeps (a clean stop, not a failure).
struct stop {};

} // namespace duet::local

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::stop)

namespace duet {

/// An actor the keeper keeps alive.
struct kept_actor {
  /// Its name in logs, e.g. "router".
  std::string name;
  /// Spawns an incarnation (for a watched actor: returns the one it has).
  std::function<caf::actor(caf::actor_system&)> spawn;
  /// Told about each new incarnation and, with an invalid handle, about
  /// each death (may be empty).
  std::function<void(const caf::actor&)> on_change;
  /// Restarts allowed within `period`; one more death gives up (0: the
  /// first death gives up).
  size_t max_restarts = defaults::keeper_intensity;
  std::chrono::nanoseconds period = defaults::keeper_period;
  /// Stopped by the keeper on a clean stop; false for an actor it only
  /// watches (CAF's network layer stops with the actor system).
  bool owned = true;
};

/// Spawns the keeper of `children`; `give_up(reason)` is called once when a
/// child died past its limit. Send it `local::stop` for a clean stop: it
/// stops the children it owns (exit reason `user_shutdown`) and itself.
caf::actor start_keeper(caf::actor_system& sys,
                        std::vector<kept_actor> children,
                        std::function<void(const std::string&)> give_up);

} // namespace duet
