#include "actors/verifier/consumer.hpp"

#include <algorithm>
#include <chrono>
#include <deque>
#include <random>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <prometheus/counter.h>

#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"
#include "actors/crypto/digest.hpp"
#include "actors/protocol/group_lookup.hpp"
#include "actors/protocol/identity.hpp"
#include "actors/protocol/validate.hpp"
#include "actors/runtime/guard.hpp"
#include "actors/verifier/membership.hpp"
#include "actors/verifier/task_memory.hpp"

namespace duet {

namespace {

using clock_type = std::chrono::steady_clock;

std::string make_member_id(const std::string& node) {
  std::random_device rd;
  std::mt19937_64 rng{rd()};
  char nonce[9];
  std::snprintf(nonce, sizeof(nonce), "%08x",
                static_cast<unsigned>(rng() & 0xFFFFFFFF));
  return node + "#" + nonce;
}

struct consumer_state {
  static inline const char* name = "consumer";

  explicit consumer_state(caf::stateful_actor<consumer_state>* ptr)
    : self(ptr), members(std::string{}) {
    // nop
  }

  caf::stateful_actor<consumer_state>* self;
  choreography_options opts;
  /// Deadlines for the local instances and the node's agent.
  verifier_options local;
  std::string node;
  /// This consumer's member id is node name plus a per-process nonce, so a
  /// restarted node is a new member.
  membership members;
  task_memory memory;
  verifier_node_actor agent;
  std::vector<instance_info> instances;
  size_t next_instance = 0;
  /// The hub's groups, both joined.
  std::optional<hub_groups> groups;
  std::optional<clock_type::time_point> joined_at;
  /// Results made and not yet published, in order: sent as one signed
  /// batch once the mailbox is drained (or once the result group is back).
  std::vector<choreo_result> unsent;
  bool flush_scheduled = false;
  /// Proves this node's name; checks the others' (see identity.hpp).
  std::shared_ptr<const node_identity> identity;
  /// Declines that arrived before their tasks, by task id (bounded).
  std::unordered_map<std::string, std::vector<std::string>> early_declines;
  /// The newest beat time stamp per member (a replayed beat is older).
  std::unordered_map<std::string, int64_t> last_stamp;

  const std::string& member() const {
    return members.self();
  }

  bool warm() const {
    return joined_at && clock_type::now() - *joined_at >= opts.warm_up;
  }

  void on_lookup(group_lookup& r) {
    auto grp = groups->on_lookup(r);
    if (grp == nullptr)
      return;
    if (grp == &groups->tasks())
      joined_at = clock_type::now();
    else
      flush();
  }

  void on_group_down(const caf::group_down_msg& msg) {
    if (groups->on_down(msg))
      joined_at.reset();
  }

  void on_task(choreo_task& t) {
    if (auto err = check(t)) {
      refuse(name, std::move(err));
      return;
    }
    log::debug("task ", t.id, " (attempt ", t.attempt, ")");
    auto known = memory.find(t.id);
    auto prev_attempt = known != nullptr ? known->task.attempt : 0;
    auto seen = memory.see(std::move(t), clock_type::now());
    if (seen == nullptr)
      return;
    // Declines may arrive before their task (they travel on the other
    // group).
    if (auto i = early_declines.find(seen->task.id);
        i != early_declines.end()) {
      for (auto& m : i->second)
        if (std::find(seen->declined.begin(), seen->declined.end(), m)
            == seen->declined.end())
          seen->declined.push_back(m);
      early_declines.erase(i);
    }
    // Published again: a decline of ours may have been lost.
    auto& declined = seen->declined;
    if (seen->task.attempt > prev_attempt && prev_attempt > 0
        && std::find(declined.begin(), declined.end(), member())
             != declined.end())
      send_decline(seen->task.id, "declined before");
    if (warm() && !seen->in_progress
        && members.mine(seen->task.id, seen->declined))
      process(*seen);
  }

  // Others' results: their tasks need no takeover. Only the values are
  // checked here, not the signature (the front checks it before it takes a
  // verdict; three checks of every batch cost a third of the choreography's
  // throughput). A forged batch can at most make this consumer forget a
  // task, which the front then publishes again.
  void on_results(const result_batch& b) {
    if (b.signer == node)
      return; // our own, already taken as done
    if (auto err = check(b)) {
      refuse(name, std::move(err));
      return;
    }
    for (auto& r : b.results)
      memory.done(r.id);
  }

  // Checks a beat's proof: signed by the member's own node, fresh (within
  // tls.proof-ttl of this clock) and newer than the last one of the member.
  caf::error check_beat(const member_beat& b) {
    if (!identity->enabled())
      return {};
    auto stamp = beat_stamp(b.proof.challenge, b.leaving, b.member);
    if (stamp < 0)
      return caf::make_error(ec::invalid_message,
                             "a beat whose proof is for another beat");
    auto now = unix_ms();
    auto ttl = std::chrono::duration_cast<std::chrono::milliseconds>(
                 identity->proof_ttl)
                 .count();
    if (stamp < now - ttl || stamp > now + ttl)
      return caf::make_error(ec::invalid_message,
                             "a beat of " + b.member + " is stamped more than "
                               + std::to_string(ttl)
                               + " ms off this node's clock");
    if (auto i = last_stamp.find(b.member);
        i != last_stamp.end() && stamp <= i->second)
      return caf::make_error(ec::invalid_message,
                             "a beat of " + b.member + " older than the last");
    if (auto err = identity->check(purpose::beat,
                                   std::string{node_of(b.member)}, b.proof,
                                   {role::verifier}))
      return err;
    if (last_stamp.size() < limits::members * 2)
      last_stamp[b.member] = stamp;
    return {};
  }

  static int64_t unix_ms() {
    using namespace std::chrono;
    return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
      .count();
  }

  // Returns this member's beat, signed.
  member_beat make_beat(bool leaving) {
    member_beat b{member(), leaving, {}};
    auto proof = identity->prove(purpose::beat,
                                 beat_challenge(unix_ms(), leaving, member()));
    if (proof)
      b.proof = std::move(*proof);
    return b;
  }

  void on_beat(const member_beat& b) {
    if (b.member == member())
      return;
    if (auto err = check(b)) {
      refuse(name, std::move(err));
      return;
    }
    if (auto err = check_beat(b)) {
      refuse(name, std::move(err));
      return;
    }
    switch (members.beat(b.member, b.leaving, clock_type::now())) {
      case membership::change::joined:
        log::info("member ", b.member, " joined");
        break;
      case membership::change::left:
        log::info("member ", b.member, " left");
        last_stamp.erase(b.member);
        take_over();
        break;
      case membership::change::refused: {
        static std::atomic<int64_t> last_ms{0};
        if (log::throttle(last_ms))
          log::warning("member ", b.member, " ignored: ", members.size(),
                       " members known (the limit)");
        break;
      }
      case membership::change::none:
        break;
    }
  }

  void tick() {
    if (groups->tasks())
      self->send(groups->tasks(), make_beat(false));
    auto now = clock_type::now();
    auto lost = members.expire(now, opts.member_timeout);
    for (auto& m : lost) {
      log::warning("member ", m, " is silent: taking over its tasks");
      metrics::failure_detections("consumer", "member").Increment();
      last_stamp.erase(m);
    }
    // A task without result past task-timeout was given up by its front
    // (which may be gone): forget it.
    memory.forget_before(now - opts.task_timeout);
    if (!lost.empty() || warm())
      take_over();
    self->delayed_send(self, opts.beat_interval, local::tick{});
  }

  // Verifies every seen task this member owns now and is not working on.
  void take_over() {
    if (!warm())
      return;
    for (auto& kvp : memory.seen())
      if (!kvp.second.in_progress
          && members.mine(kvp.first, kvp.second.declined))
        process(kvp.second);
  }

  void process(task_memory::seen_task& st) {
    if (instances.empty()) {
      refresh_instances();
      return;
    }
    auto digest = task_digest(st.task.id, st.task.req);
    if (!digest) {
      log::error("cannot answer task ", st.task.id, ": ",
                 message_of(digest.error()));
      return;
    }
    st.in_progress = true;
    auto& inst = instances[next_instance++ % instances.size()];
    auto id = st.task.id;
    self
      ->request(inst.handle, local.verify_timeout, verify_atom::value,
                st.task.req)
      .then(
        guard(name,
              [this, id, digest = *digest](verdict& v) {
                if (auto err = check(v)) {
                  retry_later(id, refuse(name, std::move(err)));
                  return;
                }
                publish(choreo_result{id, v.verified, v.verifier, {}, digest});
              }),
        guard(name, [this, id, digest = *digest](const caf::error& err) {
          if (is_transport_error(err)) {
            retry_later(id, err);
            return;
          }
          if (is_code(err, ec::key_mismatch)) {
            decline(id, message_of(err));
            return;
          }
          publish(choreo_result{id, false, node, err, digest});
        }));
  }

  // This node holds another key than the one pinned for task `id`: it
  // never answers it; the other members own it without this one.
  void decline(const std::string& id, const std::string& why) {
    static std::atomic<int64_t> last_ms{0};
    if (log::throttle(last_ms))
      log::error("declining tasks: ", why);
    auto seen = memory.find(id);
    if (seen == nullptr)
      return;
    seen->in_progress = false;
    if (std::find(seen->declined.begin(), seen->declined.end(), member())
        == seen->declined.end())
      seen->declined.push_back(member());
    send_decline(id, why);
  }

  void send_decline(const std::string& id, const std::string& why) {
    if (!groups->results())
      return; // the front publishes it again; declined again then
    task_decline d{id, member(), why, {}};
    if (auto proof = identity->prove(purpose::decline, id))
      d.proof = std::move(*proof);
    self->send(groups->results(), d);
  }

  void on_decline(const task_decline& d) {
    if (d.member == member())
      return;
    if (auto err = check_signed(*identity, d)) {
      refuse(name, std::move(err));
      return;
    }
    auto seen = memory.find(d.id);
    if (seen == nullptr) {
      // Its task may still be on the way: remembered for a while.
      if (early_declines.size() >= limits::members * 16)
        early_declines.clear();
      auto& list = early_declines[d.id];
      if (list.size() < limits::members)
        list.push_back(d.member);
      return;
    }
    if (seen->declined.size() >= limits::members)
      return;
    if (std::find(seen->declined.begin(), seen->declined.end(), d.member)
        == seen->declined.end())
      seen->declined.push_back(d.member);
    if (warm() && !seen->in_progress
        && members.mine(seen->task.id, seen->declined))
      process(*seen);
  }

  // The local instance died or stalled: try again on the next tick.
  void retry_later(const std::string& id, const caf::error& err) {
    log::debug("verifying ", id, " failed: ", self->system().render(err));
    if (auto seen = memory.find(id))
      seen->in_progress = false;
    refresh_instances();
  }

  // Queues a result for the result group; it counts as done once published.
  void publish(choreo_result r) {
    log::debug("result ", r.id, " by ", r.verifier);
    if (unsent.size() >= limits::seen_tasks)
      return; // the front publishes it again: answered then
    unsent.push_back(std::move(r));
    if (groups->results() && !flush_scheduled) {
      // Batching: the flush queues behind the work already in the mailbox.
      flush_scheduled = true;
      self->send(self, local::flush{});
    }
  }

  // Publishes the queued results as signed batches. Kept (with their tasks
  // in progress, so they are not verified again) while the group is away.
  void flush() {
    flush_scheduled = false;
    if (!groups->results() || unsent.empty())
      return;
    auto pending = std::move(unsent);
    unsent.clear();
    constexpr size_t max_batch = limits::batch;
    for (size_t first = 0; first < pending.size(); first += max_batch) {
      result_batch b;
      auto last = std::min(pending.size(), first + max_batch);
      b.results.assign(std::make_move_iterator(pending.begin() + first),
                       std::make_move_iterator(pending.begin() + last));
      b.signer = node;
      auto digest = identity->enabled() ? results_digest(b.results)
                                        : caf::expected<std::string>{""};
      if (!digest) {
        log::error("cannot sign results: ", message_of(digest.error()));
        return;
      }
      auto proof = identity->prove(purpose::results, *digest);
      if (!proof) {
        log::error("cannot sign results: ", message_of(proof.error()));
        return;
      }
      b.proof = std::move(*proof);
      self->send(groups->results(), b);
      // Our own copy comes back through the group; do not wait for it.
      for (auto& r : b.results)
        memory.done(r.id);
    }
  }

  void refresh_instances() {
    self->request(agent, local.connect_timeout, caf::get_atom::value)
      .then(guard(name,
                  [this](std::vector<instance_info>& list) {
                    if (auto err = check(list, limits::slots)) {
                      refuse(name, std::move(err));
                      return;
                    }
                    instances = std::move(list);
                  }),
            [](const caf::error&) {
              // Asked again on the next task.
            });
  }

  ~consumer_state() {
    if (groups && groups->tasks())
      caf::anon_send(groups->tasks(), make_beat(true));
  }
};

caf::behavior consumer(caf::stateful_actor<consumer_state>* self,
                       std::shared_ptr<const node_identity> identity,
                       verifier_node_actor agent, verifier_options local,
                       choreography_options opts) {
  auto& st = self->state;
  st.local = std::move(local);
  st.node = identity->name;
  st.identity = std::move(identity);
  st.members = membership{make_member_id(st.node)};
  st.agent = std::move(agent);
  st.opts = std::move(opts);
  st.refresh_instances();
  st.groups.emplace(self, st.identity,
                    hub_groups::config{st.opts.hub, st.opts.lookup_timeout,
                                       st.opts.lookup_retry, true});
  st.groups->lookup_all();
  self->send(self, local::tick{});
  drop_unexpected(self, st.name);
  const char* name = st.name;
  return {
    guard(name,
          [self](lookup_atom, group_lookup& r) { self->state.on_lookup(r); }),
    guard(name,
          [self](local::lookup& x) { self->state.groups->lookup(x.name); }),
    guard(name,
          [self](caf::group_down_msg& msg) { self->state.on_group_down(msg); }),
    guard(name, [self](choreo_task& t) { self->state.on_task(t); }),
    guard(name, [self](const result_batch& b) { self->state.on_results(b); }),
    guard(name, [self](local::flush) { self->state.flush(); }),
    guard(name, [self](const task_decline& d) { self->state.on_decline(d); }),
    guard(name, [self](const member_beat& b) { self->state.on_beat(b); }),
    guard(name, [self](local::tick) { self->state.tick(); }),
  };
}

} // namespace

consumer_actor start_consumer(caf::actor_system& sys,
                              std::shared_ptr<const node_identity> identity,
                              verifier_node_actor agent,
                              const verifier_options& local,
                              const choreography_options& opts) {
  return caf::actor_cast<consumer_actor>(
    sys.spawn(consumer, std::move(identity), std::move(agent), local, opts));
}

} // namespace duet
