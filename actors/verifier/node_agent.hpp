#pragma once

// The agent of a verifier node: owns the node's verifier instances, spawns
// them (at start and when the supervisor asks after a crash) and keeps the
// node registered with the supervisor across supervisor restarts.

#include <memory>
#include <string>
#include <vector>

#include "actors/core/options.hpp"
#include "actors/crypto/keyring.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/identity.hpp"

namespace duet {

/// State of a verifier node's agent.
struct node_agent_state {
  static inline const char* name = "node-agent";

  explicit node_agent_state(
    verifier_node_impl::stateful_pointer<node_agent_state> ptr)
    : self(ptr) {
    // nop
  }

  ~node_agent_state();

  verifier_node_impl::stateful_pointer<node_agent_state> self;
  std::shared_ptr<const crypto::keyring> keys;
  node_options node;
  verifier_options opts;
  /// One entry per slot; invalid while the slot's instance is dead.
  std::vector<verifier_actor> slots;
  supervisor_actor supervisor;
  bool connecting = false;
  /// Proves this node's name to the supervisor (see identity.hpp).
  std::shared_ptr<const node_identity> identity;

  /// Spawns the instance of `slot` and monitors it.
  instance_info spawn(uint32_t slot);

  /// Returns the live instances.
  std::vector<instance_info> live() const;

  /// Connects to the supervisor (if any) and registers.
  void connect_supervisor();

  /// Sends this node's registration to the supervisor, with the proof of
  /// its name over a fresh challenge.
  void register_node();

  /// Asks the supervisor for a challenge, proves the name over it for
  /// `purpose`, and calls `then(proof)`; on failure `fail(error)`.
  template <class Then, class Fail>
  void with_proof(purpose what, Then then, Fail fail);

  /// Handles the death of an instance or of the supervisor.
  void on_down(const caf::down_msg& msg);
};

/// Returns the behavior of a verifier node's agent. It registers with the
/// supervisor once main tells it its port (`local::start`).
verifier_node_impl::behavior_type
node_agent(verifier_node_impl::stateful_pointer<node_agent_state> self,
           std::shared_ptr<const crypto::keyring> keys, node_options node,
           verifier_options opts,
           std::shared_ptr<const node_identity> identity);

} // namespace duet
