#include "actors/hub/hub.hpp"

#include <string_view>
#include <unordered_map>

#include <caf/abstract_group.hpp>
#include <caf/actor_system.hpp>
#include <caf/group_manager.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <prometheus/counter.h>

#include "actors/core/limits.hpp"
#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"
#include "actors/core/text.hpp"
#include "actors/protocol/hub_links.hpp"
#include "actors/protocol/validate.hpp"
#include "actors/runtime/guard.hpp"

namespace duet {

namespace {

// Payload bytes of the messages (their strings), for the traffic metrics.
size_t payload(const identity_proof& p) {
  return p.certificate.size() + p.challenge.size() + p.signature.size();
}

size_t payload(const choreo_task& t) {
  auto& r = t.req;
  return t.id.size() + r.key_id.size() + r.text.size() + r.hex_signature.size()
         + r.algorithm.size() + r.fingerprint.size() + t.reply_to.size();
}

size_t payload(const result_batch& b) {
  auto n = b.signer.size() + payload(b.proof);
  for (auto& r : b.results)
    n += r.id.size() + r.verifier.size() + r.request.size() + 1;
  return n;
}

size_t payload(const task_decline& d) {
  return d.id.size() + d.member.size() + d.reason.size() + payload(d.proof);
}

size_t payload(const member_beat& b) {
  return b.member.size() + payload(b.proof);
}

// The traffic counters of one kind of message (looked up once: a lookup
// by labels costs a lock and a hash per message).
struct traffic {
  explicit traffic(const char* kind)
    : messages_in(metrics::hub_messages(kind, "in")),
      messages_out(metrics::hub_messages(kind, "out")),
      bytes_in(metrics::hub_bytes(kind, "in")),
      bytes_out(metrics::hub_bytes(kind, "out")) {
    // nop
  }

  // Counts one message in and its copies out.
  void count(size_t bytes, size_t copies) {
    messages_in.Increment();
    bytes_in.Increment(static_cast<double>(bytes));
    messages_out.Increment(static_cast<double>(copies));
    bytes_out.Increment(static_cast<double>(bytes * copies));
  }

  prometheus::Counter& messages_in;
  prometheus::Counter& messages_out;
  prometheus::Counter& bytes_in;
  prometheus::Counter& bytes_out;
};

struct hub_state {
  static inline const char* name = "hub";

  /// A member: an actor that joined at least one topic, with the name it
  /// proved.
  struct member {
    caf::strong_actor_ptr handle;
    std::string node;
    bool front = false;
    bool verifier = false;
    std::vector<std::string> topics;
  };

  /// A topic: its CAF group and how many members joined it.
  struct topic {
    caf::group grp;
    size_t subscribers = 0;
  };

  hub_actor::stateful_pointer<hub_state> self;
  std::shared_ptr<const node_identity> identity;
  challenges issued;
  std::unordered_map<caf::actor_addr, member> members;
  std::unordered_map<std::string, topic> topics;
  traffic tasks{"task"};
  traffic results{"results"};
  traffic declines{"decline"};
  traffic beats{"beat"};

  explicit hub_state(hub_actor::stateful_pointer<hub_state> ptr) : self(ptr) {
    // nop
  }

  caf::result<bool> join(const std::string& name, const std::string& node,
                         const identity_proof& proof) {
    auto sender = self->current_sender();
    if (!sender)
      return refuse(hub_state::name,
                    caf::make_error(ec::invalid_message,
                                    "a join without a sender"));
    // A verifier node reads its own tasks; a front its own results and the
    // heartbeats of the consumers. Nobody reads another node's group.
    auto is_tasks = name == task_topic(node);
    auto is_results = name == result_topic(node);
    auto is_members = name == member_topic;
    if (!is_name(node) || (!is_tasks && !is_results && !is_members))
      return refuse(hub_state::name,
                    caf::make_error(ec::invalid_message,
                                    "no topic '" + printable(name)
                                      + "' for node '" + printable(node)
                                      + "' on this hub"));
    auto r = is_tasks ? role::verifier : role::front;
    if (auto err = identity->check(purpose::group, node, proof, {r})) {
      log::warning("refused topic ", printable(name),
                   " to a node: ", message_of(err));
      return refuse(hub_state::name, std::move(err));
    }
    if (identity->enabled()
        && !issued.redeem(proof.challenge, challenges::clock_type::now()))
      return refuse(hub_state::name,
                    caf::make_error(ec::invalid_message,
                                    "the proof answers no open challenge of "
                                    "this hub"));
    auto i = members.find(sender->address());
    if (i == members.end()) {
      if (members.size() >= limits::members)
        return refuse(hub_state::name,
                      caf::make_error(ec::invalid_message,
                                      "too many members ("
                                        + std::to_string(limits::members)
                                        + ")"));
      self->monitor(sender);
      i = members
            .emplace(sender->address(), member{sender, node, false, false, {}})
            .first;
    } else if (i->second.node != node) {
      return refuse(hub_state::name,
                    caf::make_error(ec::invalid_message,
                                    "one actor joins as one node"));
    }
    auto& m = i->second;
    (r == role::verifier ? m.verifier : m.front) = true;
    if (std::find(m.topics.begin(), m.topics.end(), name) != m.topics.end())
      return true;
    auto& t = topics[name];
    if (!t.grp)
      t.grp = self->system().groups().get_local("duet/" + name);
    t.grp->subscribe(sender);
    ++t.subscribers;
    m.topics.push_back(name);
    log::info(node, " joined ", name);
    return true;
  }

  void leave(const caf::down_msg& msg) {
    auto i = members.find(msg.source);
    if (i == members.end())
      return;
    auto& m = i->second;
    for (auto& name : m.topics) {
      auto j = topics.find(name);
      if (j == topics.end())
        continue;
      j->second.grp->unsubscribe(m.handle.get());
      if (--j->second.subscribers == 0)
        topics.erase(j);
    }
    log::info(m.node, " left (", self->system().render(msg.reason), ")");
    members.erase(i);
  }

  // The member behind the current message, or null if it never joined.
  const member* sender() {
    auto ptr = self->current_sender();
    if (!ptr)
      return nullptr;
    auto i = members.find(ptr->address());
    return i != members.end() ? &i->second : nullptr;
  }

  // Forwards `x` into group `name`; returns the number of subscribers it
  // reached (0: nobody joined it, the message is dropped).
  template <class T>
  size_t forward(const std::string& name, T&& x) {
    auto i = topics.find(name);
    if (i == topics.end())
      return 0;
    // From the hub (members tell their hubs apart by the sender); typed
    // actors have no send() to groups in CAF 0.17.
    i->second.grp->eq_impl(caf::make_message_id(), self->ctrl(),
                           self->context(), std::forward<T>(x));
    return i->second.subscribers;
  }

  // Refuses a publication by a member that did not join as `r`.
  bool allowed(const member* m, role r, const char* what) {
    if (m != nullptr && (r == role::front ? m->front : m->verifier))
      return true;
    static std::atomic<int64_t> last_ms{0};
    if (log::throttle(last_ms))
      log::warning("dropped ", what, " of ",
                   m != nullptr ? printable(m->node) : std::string{"a peer"},
                   ": only a ", to_string(r),
                   " that joined this hub publishes them");
    metrics::invalid_messages(name).Increment();
    return false;
  }

  // Whether `x` keeps every limit (validate.hpp); refused otherwise.
  template <class T>
  bool valid(const T& x) {
    if (auto err = check(x)) {
      refuse(name, std::move(err));
      return false;
    }
    return true;
  }

  void publish(const std::string& to, choreo_task& t) {
    if (!valid(t))
      return;
    auto m = sender();
    if (!allowed(m, role::front, "a task"))
      return;
    if (to.rfind("tasks/", 0) != 0)
      return;
    t.reply_to = m->node;
    auto bytes = payload(t);
    tasks.count(bytes, forward(to, std::move(t)));
  }

  template <class T>
  void publish_to_front(traffic& counters, const char* what,
                        const std::string& to, T& x) {
    if (!valid(x) || !allowed(sender(), role::verifier, what))
      return;
    if (to.rfind("results/", 0) != 0)
      return;
    auto bytes = payload(x);
    counters.count(bytes, forward(to, std::move(x)));
  }

  void publish(member_beat& b) {
    if (!valid(b))
      return;
    auto m = sender();
    // A consumer that stops says so as it ends, without a sender (the
    // fronts check the proof: signed by the member's node, fresh, newer
    // than its last beat).
    auto farewell = b.leaving && m == nullptr
                    && self->current_sender() == nullptr;
    if (!farewell && !allowed(m, role::verifier, "a beat"))
      return;
    // A member beats for its own node only.
    if (!farewell && node_of(b.member) != m->node)
      return;
    auto bytes = payload(b);
    beats.count(bytes, forward(member_topic, std::move(b)));
  }
};

hub_actor::behavior_type hub(hub_actor::stateful_pointer<hub_state> self,
                             std::shared_ptr<const node_identity> identity) {
  auto& st = self->state;
  st.identity = std::move(identity);
  st.issued = challenges{st.identity->proof_ttl};
  self->set_down_handler(
    [self](caf::down_msg& msg) { self->state.leave(msg); });
  drop_unexpected(self, hub_state::name);
  const char* name = hub_state::name;
  return {
    guard(name,
          [self](challenge_atom) {
            return self->state.issued.issue(challenges::clock_type::now());
          }),
    guard(name,
          [self](join_atom, const std::string& topic, const std::string& node,
                 const identity_proof& proof) {
            return self->state.join(topic, node, proof);
          }),
    guard(name, [self](publish_atom, const std::string& to,
                       choreo_task& t) { self->state.publish(to, t); }),
    guard(name,
          [self](publish_atom, const std::string& to, result_batch& b) {
            auto& st = self->state;
            st.publish_to_front(st.results, "results", to, b);
          }),
    guard(name,
          [self](publish_atom, const std::string& to, task_decline& d) {
            auto& st = self->state;
            st.publish_to_front(st.declines, "a decline", to, d);
          }),
    guard(name,
          [self](publish_atom, member_beat& b) { self->state.publish(b); }),
  };
}

} // namespace

hub_actor start_hub(caf::actor_system& sys,
                    std::shared_ptr<const node_identity> identity) {
  return sys.spawn(hub, std::move(identity));
}

} // namespace duet
