#pragma once

// The supervisor role: the registry of verifier nodes (what Zookeeper did for
// the seed), their failure detector (pings on top of CAF's heartbeats), and
// an OTP-style restarter of crashed verifier instances.

#include <chrono>
#include <initializer_list>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "actors/core/options.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/identity.hpp"
#include "actors/supervisor/restart_policy.hpp"

namespace duet {

/// State of the supervisor actor.
struct supervisor_state {
  using clock_type = std::chrono::steady_clock;

  /// One verifier instance slot of a node.
  struct slot_entry {
    std::string name;
    /// Invalid while the instance is dead.
    verifier_actor handle;
    instance_state state = instance_state::down;
    uint32_t restarts = 0;
    restart_policy policy;
    clock_type::time_point last_seen;
  };

  /// One registered verifier node.
  struct node_entry {
    std::string name;
    std::string address;
    verifier_node_actor agent;
    node_state state = node_state::down;
    std::vector<slot_entry> slots;
    /// Registrations under this name refused while it was alive.
    uint32_t conflicts = 0;
    std::string last_conflict;
  };

  static inline const char* name = "supervisor";

  explicit supervisor_state(
    supervisor_impl::stateful_pointer<supervisor_state> ptr)
    : self(ptr) {
    // nop
  }

  supervisor_impl::stateful_pointer<supervisor_state> self;
  supervisor_options opts;
  std::string node_name;
  /// Checks the names nodes claim (their certificates); see identity.hpp.
  std::shared_ptr<const node_identity> identity;
  /// Challenges handed out for registrations and deregistrations.
  challenges issued;
  std::map<std::string, node_entry> nodes;
  /// Subscribed fronts, each once (at most `limits::subscribers`).
  std::vector<caf::actor> subscribers;

  /// Adds or replaces a node and its instances; refuses an invalid
  /// registration, one without proof of its name, one under the name of
  /// another live node (a conflict), and a new node past `limits::nodes`.
  caf::result<std::string> register_node(node_registration& reg,
                                         const identity_proof& proof);

  /// Forgets a node that stops cleanly (with proof of its name).
  caf::result<bool> deregister(const std::string& name,
                               const identity_proof& proof);

  /// Checks that `proof` answers a challenge of ours for `what` and proves
  /// the name `claimed` with a certificate for one of `roles`.
  caf::error check_proof(purpose what, const std::string& claimed,
                         const identity_proof& proof,
                         std::initializer_list<role> roles);

  /// Adds a front (that proves its name `name`) to the subscribers (once)
  /// and returns the registry.
  caf::result<registry> subscribe(caf::actor front, const std::string& name,
                                  const identity_proof& proof);

  /// Returns the registry with current heartbeat ages.
  registry snapshot() const;

  /// Pushes the registry to every subscribed front.
  void publish();

  /// Pings every live instance and ages the silent ones.
  void tick();

  /// Reacts to the death of an agent, an instance or a subscriber.
  void on_down(const caf::down_msg& msg);

  /// Applies the restart policy to a crashed instance.
  void crashed(node_entry& node, uint32_t slot);

  /// Asks the node's agent to spawn instance `slot` again (after a backoff,
  /// or after the cool-down of a failed instance).
  void respawn(const std::string& node, uint32_t slot);

  /// The restart policy of a new slot, from the options.
  restart_policy::config policy_config() const;
};

/// Returns the behavior of the supervisor.
supervisor_impl::behavior_type
supervisor(supervisor_impl::stateful_pointer<supervisor_state> self,
           supervisor_options opts,
           std::shared_ptr<const node_identity> identity);

} // namespace duet
