#pragma once

// All of duet's CAF message types, atoms, error category and typed actor
// interfaces in one place (as zeek/broker's fwd.hh does on CAF 0.17).

#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/fwd.hpp>
#include <caf/group.hpp>
#include <caf/meta/type_name.hpp>
#include <caf/replies_to.hpp>
#include <caf/type_id.hpp>
#include <caf/typed_actor.hpp>

#include "actors/core/error.hpp"
#include "actors/core/options.hpp"
#include "actors/protocol/request.hpp"
#include "actors/protocol/states.hpp"

// -- atoms --------------------------------------------------------------------

namespace duet {

using verify_atom = caf::atom_constant<caf::atom("verify")>;
using job_atom = caf::atom_constant<caf::atom("job")>;
using ping_atom = caf::atom_constant<caf::atom("ping")>;
using register_atom = caf::atom_constant<caf::atom("register")>;
using deregister_atom = caf::atom_constant<caf::atom("deregister")>;
using subscribe_atom = caf::atom_constant<caf::atom("subscribe")>;
using registry_atom = caf::atom_constant<caf::atom("registry")>;
using respawn_atom = caf::atom_constant<caf::atom("respawn")>;
using cluster_atom = caf::atom_constant<caf::atom("cluster")>;
using submit_atom = caf::atom_constant<caf::atom("submit")>;
using task_atom = caf::atom_constant<caf::atom("task")>;
using challenge_atom = caf::atom_constant<caf::atom("challenge")>;
using join_atom = caf::atom_constant<caf::atom("join")>;
using publish_atom = caf::atom_constant<caf::atom("publish")>;

} // namespace duet

// -- message types ------------------------------------------------------------

namespace duet {

/// One answer of a batch: a verdict (no `error`), or a duet error that
/// says why the request could not be checked.
struct batch_answer {
  caf::error error;
  bool verified = false;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_answer& x) {
  return f(caf::meta::type_name("batch_answer"), x.error, x.verified);
}

/// The answers to a batch of requests, in request order.
struct batch_verdicts {
  /// The instance that answered.
  std::string verifier;
  std::vector<batch_answer> answers;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, batch_verdicts& x) {
  return f(caf::meta::type_name("batch_verdicts"), x.verifier, x.answers);
}

// -- proofs of identity -------------------------------------------------------

/// Proof that a node holds the certificate (and its key) of the name it
/// claims: the certificate (PEM), the challenge it answers (a nonce of the
/// checking side, or a time stamp), and its signature over
/// `pki::proof_message(purpose, challenge, name)`. All empty when the
/// cluster runs without TLS (tls.insecure=true).
struct identity_proof {
  std::string certificate;
  std::string challenge;
  std::string signature;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, identity_proof& x) {
  return f(caf::meta::type_name("identity_proof"), x.certificate, x.challenge,
           x.signature);
}

// -- choreography messages (through the hubs' groups, see hub/hub.hpp) ------

/// A task, published by a front to the task group of the verifier node that
/// owns it.
struct choreo_task {
  std::string id;
  /// 1 for the first publication, +1 per redelivery.
  uint32_t attempt = 1;
  verify_request req;
  /// The front that published it: set by the hub (from the publisher's
  /// proven name), never by the publisher. Its results go to this front's
  /// result group.
  std::string reply_to{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, choreo_task& x) {
  return f(caf::meta::type_name("choreo_task"), x.id, x.attempt, x.req,
           x.reply_to);
}

/// A result on the result group.
struct choreo_result {
  std::string id;
  /// Whether the signature matched (if there is no error).
  bool verified = false;
  /// Instance that verified (`<node>/verifier-<n>`), or the node that
  /// could not.
  std::string verifier;
  /// Why the task could not be checked (a duet error), or none.
  caf::error error{};
  /// `task_digest(id, request)` (see crypto/digest.hpp) of the copy of the
  /// task that was verified: the front takes the result only for its own
  /// request.
  std::string request{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, choreo_result& x) {
  return f(caf::meta::type_name("choreo_result"), x.id, x.verified, x.verifier,
           x.error, x.request);
}

/// Results on the result group, in batches: one signature of the consumer
/// that made them (`signer`, a node name) covers them all.
struct result_batch {
  std::string signer;
  std::vector<choreo_result> results;
  /// Over `results_digest(results)` (see identity.hpp), purpose "results".
  identity_proof proof;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, result_batch& x) {
  return f(caf::meta::type_name("result_batch"), x.signer, x.results, x.proof);
}

/// A consumer declines task `id` on the result group: its node holds
/// another key than the one the front pinned for the task (`reason`). The
/// other consumers then compute the task's owner without it. Signed by the
/// member's node (purpose "decline", challenge = the task id).
struct task_decline {
  std::string id;
  std::string member;
  std::string reason;
  identity_proof proof{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, task_decline& x) {
  return f(caf::meta::type_name("task_decline"), x.id, x.member, x.reason,
           x.proof);
}

/// A consumer's heartbeat on the task group; `leaving` on a clean stop. The
/// proof's challenge is `<unix ms>:<alive|leaving>:<member>`, signed by the
/// member's node (purpose "beat").
struct member_beat {
  std::string member;
  bool leaving = false;
  identity_proof proof{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, member_beat& x) {
  return f(caf::meta::type_name("member_beat"), x.member, x.leaving, x.proof);
}

// -- the hub ------------------------------------------------------------------

/// A hub: CAF groups of the choreography, one per topic, that members join
/// and publish to through the hub actor (see hub/hub.hpp). Topics:
/// "tasks/<verifier node>", "results/<front>" and "members".
using hub_actor = caf::typed_actor<
  // Returns a fresh challenge (a nonce) to sign for the next join.
  caf::replies_to<challenge_atom>::with<std::string>,
  // Subscribes the sender to `topic`, for node `name` that proves its name
  // (a verifier node its own task group, a front its own result group and
  // the member group). Answers true.
  caf::replies_to<join_atom, std::string, std::string,
                  identity_proof>::with<bool>,
  // A front publishes a task to the task group of a verifier node.
  caf::reacts_to<publish_atom, std::string, choreo_task>,
  // A verifier node publishes results and declines to a front's group.
  caf::reacts_to<publish_atom, std::string, result_batch>,
  caf::reacts_to<publish_atom, std::string, task_decline>,
  // A verifier node beats on the member group.
  caf::reacts_to<publish_atom, member_beat>>;

// -- local-only messages ------------------------------------------------------

/// Messages an actor sends itself (timers, retries) and main's orders to its
/// actors. They never cross nodes: their types are not registered with CAF,
/// and BASP drops a message that names an unregistered type before any actor
/// sees it. So no peer can start a timer loop, a retry, a lookup thread or a
/// respawn; published interfaces list only what peers may send.
namespace local {

/// The periodic timer of an actor.
struct tick {};

/// Router: send the tries queued for instances, one batch per instance.
struct flush {};

/// Router: connect to the verifier node at `address` again.
struct reconnect {
  style how;
  std::string address;
};

/// Router: ask the verifier node at `address` for its instances again.
struct fetch {
  style how;
  std::string address;
};

/// Router and node agent: connect to the supervisor again.
struct reconnect_supervisor {};

/// Supervisor: restart instance `slot` of node `node` now.
struct respawn {
  std::string node;
  uint32_t slot = 0;
};

/// Node agent: register with the supervisor; main sends the port the agent
/// is published on.
struct start {
  uint16_t port = 0;
};

/// Node agent: deregister from the supervisor before a clean stop.
struct deregister {};

/// Consumer and task desk: connect to hub number `index` again.
struct reconnect_hub {
  size_t index = 0;
};

/// Consumer and task desk: hub number `index` answered every join.
struct hub_joined {
  size_t index = 0;
  /// The attempt it answers (see hub_links).
  uint64_t epoch = 0;
  hub_actor hub;
};

/// Task desk: answer its counters for the cluster view (a JSON object).
struct counters {};

} // namespace local

// -- typed interfaces and the types they carry --------------------------------

/// A verifier instance; lives on a verifier node, called across nodes.
using verifier_actor = caf::typed_actor<
  // Checks a signature: answers the verdict, or an `ec` error for bad input.
  caf::replies_to<verify_atom, verify_request>::with<verdict>,
  // Checks a batch (what a front has queued for this instance): one message
  // each way instead of one per request.
  caf::replies_to<verify_atom,
                  std::vector<verify_request>>::with<batch_verdicts>,
  // Liveness probe: answers the number of verifications done so far.
  caf::replies_to<ping_atom>::with<uint64_t>>;

/// A verifier instance as its node reports it.
struct instance_info {
  /// `<node>/verifier-<slot>`.
  std::string name;
  /// Position of the instance on its node, stable across restarts.
  uint32_t slot = 0;
  verifier_actor handle;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_info& x) {
  return f(caf::meta::type_name("instance_info"), x.name, x.slot, x.handle);
}

/// The agent of a verifier node; published on the node's CAF port. It owns
/// the node's verifier instances and spawns them on request.
using verifier_node_actor = caf::typed_actor<
  // Lists the live verifier instances of this node.
  caf::replies_to<caf::get_atom>::with<std::vector<instance_info>>,
  // Spawns a fresh instance in a slot (after a crash) and returns it.
  caf::replies_to<respawn_atom, uint32_t>::with<instance_info>>;

/// What a verifier node tells the supervisor when it (re-)registers.
struct node_registration {
  std::string name;
  /// Where the node's agent is published.
  std::string host;
  uint16_t port = 0;
  verifier_node_actor agent;
  /// Number of instance slots the node runs.
  uint32_t slots = 0;
  std::vector<instance_info> instances;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_registration& x) {
  return f(caf::meta::type_name("node_registration"), x.name, x.host, x.port,
           x.agent, x.slots, x.instances);
}

/// The supervisor's view of one verifier instance.
struct instance_view {
  std::string name;
  instance_state state = instance_state::down;
  uint32_t restarts = 0;
  /// Milliseconds since the instance last answered a ping; -1 if it has
  /// none (no instance runs in its slot).
  int64_t heartbeat_age_ms = 0;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, instance_view& x) {
  return f(caf::meta::type_name("instance_view"), x.name, x.state, x.restarts,
           x.heartbeat_age_ms);
}

/// The supervisor's view of one verifier node.
struct node_view {
  std::string name;
  /// `host:port` of the node's agent.
  std::string address;
  node_state state = node_state::down;
  std::vector<instance_view> instances;
  /// Registrations refused because this node was registered and alive, and
  /// the last one (where it came from), or empty.
  uint32_t conflicts = 0;
  std::string last_conflict{};
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, node_view& x) {
  return f(caf::meta::type_name("node_view"), x.name, x.address, x.state,
           x.instances, x.conflicts, x.last_conflict);
}

/// The supervisor's whole registry.
struct registry {
  std::vector<node_view> nodes;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, registry& x) {
  return f(caf::meta::type_name("registry"), x.nodes);
}

/// The supervisor: registry of verifier nodes, failure detector, restarter.
using supervisor_actor = caf::typed_actor<
  // Returns a fresh challenge (a nonce) to sign for the next call.
  caf::replies_to<challenge_atom>::with<std::string>,
  // A verifier node (re-)registers with the proof that it holds the
  // certificate of the name it registers; answers the supervisor's name.
  caf::replies_to<register_atom, node_registration,
                  identity_proof>::with<std::string>,
  // A verifier node stops cleanly (proof over a fresh challenge).
  caf::replies_to<deregister_atom, std::string, identity_proof>::with<bool>,
  // A front subscribes with the proof of its name (role front): gets the
  // registry now and `(registry_atom, registry)` on every change.
  caf::replies_to<subscribe_atom, caf::actor, std::string,
                  identity_proof>::with<registry>,
  // Returns the registry with fresh heartbeat ages.
  caf::replies_to<caf::get_atom>::with<registry>>;

/// The supervisor as it runs: its published interface plus local timers.
using supervisor_impl
  = supervisor_actor::extend<caf::reacts_to<local::tick>,
                             caf::reacts_to<local::respawn>>;

/// A verifier node's agent as it runs: its published interface plus main's
/// orders and local retries.
using verifier_node_impl
  = verifier_node_actor::extend<caf::reacts_to<local::start>,
                                caf::replies_to<local::deregister>::with<bool>,
                                caf::reacts_to<local::reconnect_supervisor>>;

} // namespace duet

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::tick)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::flush)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::reconnect)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::fetch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::reconnect_supervisor)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::respawn)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::start)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::deregister)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::reconnect_hub)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::hub_joined)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(duet::local::counters)

// clang-format off
CAF_BEGIN_TYPE_ID_BLOCK(duet, caf::first_custom_type_id)

  CAF_ADD_TYPE_ID(duet, (duet::verify_request))
  CAF_ADD_TYPE_ID(duet, (duet::verdict))
  CAF_ADD_TYPE_ID(duet, (std::vector<duet::verify_request>))
  CAF_ADD_TYPE_ID(duet, (duet::batch_answer))
  CAF_ADD_TYPE_ID(duet, (duet::batch_verdicts))
  CAF_ADD_TYPE_ID(duet, (duet::instance_info))
  CAF_ADD_TYPE_ID(duet, (std::vector<duet::instance_info>))
  CAF_ADD_TYPE_ID(duet, (duet::identity_proof))
  CAF_ADD_TYPE_ID(duet, (duet::node_registration))
  CAF_ADD_TYPE_ID(duet, (duet::instance_view))
  CAF_ADD_TYPE_ID(duet, (duet::node_view))
  CAF_ADD_TYPE_ID(duet, (duet::registry))
  CAF_ADD_TYPE_ID(duet, (duet::choreo_task))
  CAF_ADD_TYPE_ID(duet, (duet::choreo_result))
  CAF_ADD_TYPE_ID(duet, (duet::member_beat))
  CAF_ADD_TYPE_ID(duet, (duet::result_batch))
  CAF_ADD_TYPE_ID(duet, (duet::task_decline))

CAF_END_TYPE_ID_BLOCK(duet)
// clang-format on

namespace duet {

/// Registers duet's message types and error category with `cfg`.
void add_duet_types(caf::actor_system_config& cfg);

} // namespace duet
