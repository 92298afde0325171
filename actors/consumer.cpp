#include "actors/consumer.hpp"

#include <chrono>
#include <deque>
#include <random>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <prometheus/counter.h>

#include "actors/groups.hpp"
#include "actors/guard.hpp"
#include "actors/log.hpp"
#include "actors/membership.hpp"
#include "actors/metrics.hpp"
#include "actors/task_memory.hpp"
#include "actors/validate.hpp"

namespace duet {

namespace {

using clock_type = std::chrono::steady_clock;

// Answers from the local instances; a slower one is tried again.
constexpr auto verify_timeout = std::chrono::seconds(5);

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
  std::string node;
  /// This consumer's member id is node name plus a per-process nonce, so a
  /// restarted node is a new member.
  membership members;
  task_memory memory;
  verifier_node_actor agent;
  std::vector<instance_info> instances;
  size_t next_instance = 0;
  caf::group tasks;
  caf::group results;
  std::optional<clock_type::time_point> joined_at;
  /// Results made while the result group was unreachable, in order.
  std::deque<choreo_result> unsent;

  const std::string& member() const {
    return members.self();
  }

  bool warm() const {
    return joined_at && clock_type::now() - *joined_at >= opts.warm_up;
  }

  void lookup(const std::string& group) {
    lookup_group(self, opts.hub, group, opts.lookup_timeout);
  }

  void on_lookup(group_lookup& r) {
    if (!r.grp) {
      retry_lookup(self, r, opts.hub);
      return;
    }
    self->join(r.grp);
    if (r.name == task_group_name) {
      tasks = r.grp;
      joined_at = clock_type::now();
    } else {
      results = r.grp;
      flush_unsent();
    }
    log::info("joined ", r.name, " on hub ", opts.hub, " as ", member());
  }

  void on_group_down(const caf::group_down_msg& msg) {
    for (auto* grp : {&tasks, &results}) {
      if (*grp && *grp == msg.source) {
        auto group = grp == &tasks ? task_group_name : result_group_name;
        log::warning(group, " is down (hub ", opts.hub,
                     " lost); joining again");
        *grp = caf::group{};
        if (grp == &tasks)
          joined_at.reset();
        lookup(group);
      }
    }
  }

  void on_task(choreo_task& t) {
    if (auto err = check(t)) {
      refuse(name, std::move(err));
      return;
    }
    log::debug("task ", t.id, " (attempt ", t.attempt, ")");
    auto seen = memory.see(std::move(t), clock_type::now());
    if (seen == nullptr)
      return;
    if (warm() && !seen->in_progress && members.mine(seen->task.id))
      process(*seen);
  }

  void on_result(const choreo_result& r) {
    if (auto err = check(r)) {
      refuse(name, std::move(err));
      return;
    }
    memory.done(r.id);
  }

  void on_beat(const member_beat& b) {
    if (auto err = check(b)) {
      refuse(name, std::move(err));
      return;
    }
    switch (members.beat(b.member, b.leaving, clock_type::now())) {
      case membership::change::joined:
        log::info("member ", b.member, " joined");
        break;
      case membership::change::left:
        log::info("member ", b.member, " left");
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
    if (tasks)
      self->send(tasks, member_beat{member(), false});
    auto now = clock_type::now();
    auto lost = members.expire(now, opts.member_timeout);
    for (auto& m : lost) {
      log::warning("member ", m, " is silent: taking over its tasks");
      metrics::failure_detections("consumer", "member").Increment();
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
      if (!kvp.second.in_progress && members.mine(kvp.first))
        process(kvp.second);
  }

  void process(task_memory::seen_task& st) {
    if (instances.empty()) {
      refresh_instances();
      return;
    }
    st.in_progress = true;
    auto& inst = instances[next_instance++ % instances.size()];
    auto id = st.task.id;
    self->request(inst.handle, verify_timeout, verify_atom::value, st.task.req)
      .then(guard(name,
                  [this, id](verdict& v) {
                    if (auto err = check(v)) {
                      retry_later(id, refuse(name, std::move(err)));
                      return;
                    }
                    publish(choreo_result{id, true, v.verified, v.verifier,
                                          v.verified
                                            ? "signature ok!"
                                            : "signature does not match"});
                  }),
            guard(name, [this, id](const caf::error& err) {
              if (is_transport_error(err)) {
                retry_later(id, err);
                return;
              }
              publish(
                choreo_result{id, false, false, node, to_failure(err).message});
            }));
  }

  // The local instance died or stalled: try again on the next tick.
  void retry_later(const std::string& id, const caf::error& err) {
    log::debug("verifying ", id, " failed: ", self->system().render(err));
    if (auto seen = memory.find(id))
      seen->in_progress = false;
    refresh_instances();
  }

  // Hands a result to the result group; the task counts as done only then.
  void publish(choreo_result r) {
    if (!results) {
      // Kept (with the task in progress, so it is not verified again) until
      // the group is back.
      if (unsent.size() < limits::seen_tasks)
        unsent.push_back(std::move(r));
      return;
    }
    log::debug("result ", r.id, " by ", r.verifier);
    self->send(results, r);
    // Our own copy comes back through the group; do not wait for it.
    memory.done(r.id);
  }

  void flush_unsent() {
    auto pending = std::move(unsent);
    unsent.clear();
    for (auto& r : pending)
      publish(std::move(r));
  }

  void refresh_instances() {
    self->request(agent, std::chrono::seconds(2), caf::get_atom::value)
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
    if (tasks)
      caf::anon_send(tasks, member_beat{member(), true});
  }
};

caf::behavior consumer(caf::stateful_actor<consumer_state>* self,
                       std::string node, verifier_node_actor agent,
                       choreography_options opts) {
  auto& st = self->state;
  st.node = std::move(node);
  st.members = membership{make_member_id(st.node)};
  st.agent = std::move(agent);
  st.opts = std::move(opts);
  st.refresh_instances();
  st.lookup(task_group_name);
  st.lookup(result_group_name);
  self->send(self, local::tick{});
  drop_unexpected(self, st.name);
  const char* name = st.name;
  return {
    guard(name,
          [self](lookup_atom, group_lookup& r) { self->state.on_lookup(r); }),
    guard(name, [self](local::lookup& x) { self->state.lookup(x.name); }),
    guard(name,
          [self](caf::group_down_msg& msg) { self->state.on_group_down(msg); }),
    guard(name, [self](choreo_task& t) { self->state.on_task(t); }),
    guard(name, [self](const choreo_result& r) { self->state.on_result(r); }),
    guard(name, [self](const member_beat& b) { self->state.on_beat(b); }),
    guard(name, [self](local::tick) { self->state.tick(); }),
  };
}

} // namespace

caf::actor start_consumer(caf::actor_system& sys, const std::string& node,
                          verifier_node_actor agent,
                          const choreography_options& opts) {
  return sys.spawn(consumer, node, std::move(agent), opts);
}

} // namespace duet
