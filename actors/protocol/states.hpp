#pragma once

// The states of verifier nodes and instances, as the supervisor reports
// them and the front shows them.

#include <cstdint>
#include <utility>

#include "actors/core/names.hpp"

namespace duet {

/// A verifier instance's state.
enum class instance_state : uint8_t {
  /// Answers pings; takes requests.
  up,
  /// Missed pings for a while; takes requests only if nothing is up.
  suspect,
  /// Silent past the supervisor's timeout, or its node is gone.
  down,
  /// Crashed; the supervisor has its node spawn it again.
  restarting,
  /// Crashed too often; tried again after a cool-down that grows.
  failed,
  /// Holds another key than the front pins (the front's view only).
  misconfigured,
};

template <>
struct enum_names<instance_state> {
  static constexpr std::pair<instance_state, const char*> table[] = {
    {instance_state::up, "up"},
    {instance_state::suspect, "suspect"},
    {instance_state::down, "down"},
    {instance_state::restarting, "restarting"},
    {instance_state::failed, "failed"},
    {instance_state::misconfigured, "misconfigured"},
  };
};

/// A verifier node's state in the supervisor's registry.
enum class node_state : uint8_t {
  /// Registered and connected.
  up,
  /// Its connection is gone; its instances are down.
  down,
};

template <>
struct enum_names<node_state> {
  static constexpr std::pair<node_state, const char*> table[] = {
    {node_state::up, "up"},
    {node_state::down, "down"},
  };
};

} // namespace duet
