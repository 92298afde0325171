#pragma once

// The front's view of the verifier instances of one style: which nodes it
// knows, which instances are usable, and how the next one is picked.

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "actors/core/name_counts.hpp"
#include "actors/core/options.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/states.hpp"

namespace duet {

/// A verifier instance as the front uses it.
struct pool_instance {
  std::string name;
  /// Address of the node the instance runs on.
  std::string node;
  verifier_actor handle;
  /// `up` and `suspect` are usable; the supervisor may report others.
  instance_state state = instance_state::up;
  uint32_t in_flight = 0;
  /// The instance holds another key than the front pins for some key id:
  /// it gets no requests (its node has to be fixed and restarted).
  std::string misconfigured{};
};

/// A verifier node the front connects to.
struct pool_node {
  std::string address;
  std::string host;
  uint16_t port = 0;
  verifier_node_actor agent;
  bool connecting = false;
  /// Configured (direct style): reconnect forever. Otherwise the node is
  /// dropped once it is neither connected nor in the supervisor's registry.
  bool configured = false;
};

/// The instances of one style and the balancing between them.
class pool {
public:
  explicit pool(balance mode = balance::round_robin) : mode_(mode) {
    // nop
  }

  /// Returns the instance named `name`, if any.
  pool_instance* find(const std::string& name);

  /// Returns the instance named `name`, if any.
  const pool_instance* find(const std::string& name) const;

  /// Returns the node at `address`, if any.
  pool_node* node(const std::string& address);

  /// Adds a node (no-op if known) and returns it.
  pool_node& add_node(const std::string& address, bool configured);

  /// Picks a usable instance (with a handle, not misconfigured), preferring
  /// one not named `avoid` and `up` over `suspect`: the next in turn
  /// (round-robin) or the one with the fewest requests in flight, the first
  /// in turn among equals (least-loaded).
  pool_instance* pick(const std::string& avoid);

  /// Returns whether `x` may get requests.
  static bool usable(const pool_instance& x) noexcept;

  /// Returns the number of nodes with at least one usable instance.
  size_t nodes_up() const;

  /// Returns the number of nodes whose agent is connected.
  size_t nodes_connected() const;

  /// Returns the requests `name` answered, across its restarts.
  uint64_t served(const std::string& name) const;

  std::vector<pool_node> nodes;
  std::vector<pool_instance> instances;
  /// Requests answered per instance name; kept when an instance goes away
  /// (and bounded: names come from peers).
  name_counts served_by;

private:
  balance mode_;
  size_t next_ = 0;
};

} // namespace duet
