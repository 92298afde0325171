#include "actors/consumer.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/groups.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"

#include <prometheus/counter.h>

namespace duet {

namespace {

using clock_type = std::chrono::steady_clock;

// Finished task ids remembered to ignore late copies of their tasks.
constexpr size_t done_memory = 100000;

uint64_t fnv1a(const std::string& str) {
  uint64_t h = 14695981039346656037ull;
  for (auto c : str) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// SplitMix64's finalizer: FNV-1a alone mixes its last bytes too weakly for
// rendezvous hashing (tasks differing in the last digit rank members alike).
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

struct consumer_state {
  static inline const char* name = "consumer";

  explicit consumer_state(caf::stateful_actor<consumer_state>* ptr)
    : self(ptr) {
    // nop
  }

  struct seen_task {
    choreo_task task;
    bool in_progress = false;
    clock_type::time_point seen_at;
  };

  caf::stateful_actor<consumer_state>* self;
  choreography_options opts;
  std::string node;
  /// This consumer's member id: node name plus a per-process nonce, so a
  /// restarted node is a new member.
  std::string member;
  verifier_node_actor agent;
  std::vector<instance_info> instances;
  size_t next_instance = 0;
  caf::group tasks;
  caf::group results;
  bool joined_at_set = false;
  clock_type::time_point joined_at;
  std::map<std::string, clock_type::time_point> members;
  std::vector<std::string> member_names;
  std::unordered_map<std::string, seen_task> seen;
  std::deque<std::string> done_order;
  std::unordered_set<std::string> done;
  uint64_t verifications = 0;

  bool warm() const {
    return joined_at_set && clock_type::now() - joined_at >= opts.warm_up;
  }

  bool mine(const std::string& id) const {
    return task_owner(id, member_names) == member;
  }

  // Called after every change of `members` (the owner lookup runs per task).
  void members_changed() {
    member_names.clear();
    for (auto& kvp : members)
      member_names.push_back(kvp.first);
  }

  void lookup(const char* name) {
    lookup_group(self->system(), self, opts.hub, name, opts.lookup_timeout);
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
      joined_at_set = true;
      members[member] = joined_at;
      members_changed();
    } else {
      results = r.grp;
    }
    log::info("joined ", r.name, " on hub ", opts.hub, " as ", member);
  }

  void on_group_down(const caf::group_down_msg& msg) {
    for (auto* grp : {&tasks, &results}) {
      if (*grp && *grp == msg.source) {
        auto name = grp == &tasks ? task_group_name : result_group_name;
        log::warning(name, " is down (hub ", opts.hub, " lost); joining again");
        *grp = caf::group{};
        if (grp == &tasks)
          joined_at_set = false;
        lookup(name);
      }
    }
  }

  void on_task(choreo_task& t) {
    log::debug("task ", t.id, " (attempt ", t.attempt, ")");
    if (done.count(t.id) > 0)
      return;
    auto i = seen.find(t.id);
    if (i == seen.end()) {
      auto id = t.id; // not `t.id`: the task is moved into the value
      i = seen
            .emplace(std::move(id),
                     seen_task{std::move(t), false, clock_type::now()})
            .first;
    } else {
      i->second.task.attempt = t.attempt;
    }
    if (warm() && !i->second.in_progress && mine(i->first))
      process(i->second);
  }

  void on_result(const choreo_result& r) {
    seen.erase(r.id);
    if (done.insert(r.id).second) {
      done_order.push_back(r.id);
      if (done_order.size() > done_memory) {
        done.erase(done_order.front());
        done_order.pop_front();
      }
    }
  }

  void on_beat(const member_beat& b) {
    if (b.member == member)
      return;
    if (b.leaving) {
      if (members.erase(b.member) > 0) {
        members_changed();
        log::info("member ", b.member, " left");
        take_over();
      }
      return;
    }
    auto added = members.count(b.member) == 0;
    members[b.member] = clock_type::now();
    if (added) {
      members_changed();
      log::info("member ", b.member, " joined");
    }
  }

  void tick() {
    if (tasks)
      self->send(tasks, member_beat{member, false});
    auto now = clock_type::now();
    auto lost = false;
    for (auto i = members.begin(); i != members.end();) {
      if (i->first != member && now - i->second > opts.member_timeout) {
        log::warning("member ", i->first, " is silent: taking over its tasks");
        metrics::failure_detections("consumer", "member").Increment();
        i = members.erase(i);
        lost = true;
      } else {
        ++i;
      }
    }
    if (lost)
      members_changed();
    // A task without result past task-timeout was given up by its front
    // (which may be gone): forget it.
    for (auto i = seen.begin(); i != seen.end();)
      if (!i->second.in_progress && now - i->second.seen_at > opts.task_timeout)
        i = seen.erase(i);
      else
        ++i;
    if (lost || warm())
      take_over();
    self->delayed_send(self, opts.beat_interval, tick_atom::value);
  }

  // Verifies every seen task this member owns now and is not working on.
  void take_over() {
    if (!warm())
      return;
    for (auto& kvp : seen)
      if (!kvp.second.in_progress && mine(kvp.first))
        process(kvp.second);
  }

  void process(seen_task& st) {
    log::debug("verifying ", st.task.id, " on one of ", instances.size(),
               " instance(s)");
    if (instances.empty()) {
      refresh_instances();
      return;
    }
    st.in_progress = true;
    auto& inst = instances[next_instance++ % instances.size()];
    auto id = st.task.id;
    ++verifications;
    self
      ->request(inst.handle, std::chrono::seconds(5), verify_atom::value,
                st.task.req)
      .then(
        [this, id](verdict& v) {
          publish(choreo_result{id, true, v.verified, v.verifier,
                                v.verified ? "signature ok!"
                                           : "signature does not match"});
        },
        [this, id](const caf::error& err) {
          log::debug("verifying ", id, " failed: ", self->system().render(err));
          if (is_transport_error(err)) {
            // The local instance died or stalled: try again on the next tick.
            if (auto i = seen.find(id); i != seen.end())
              i->second.in_progress = false;
            refresh_instances();
            return;
          }
          auto f = to_failure(err);
          publish(choreo_result{id, false, false, node, f.message});
        });
  }

  void publish(choreo_result r) {
    log::debug("result ", r.id, " by ", r.verifier);
    if (results)
      self->send(results, r);
    // Our own copy comes back through the group; do not wait for it.
    on_result(r);
  }

  void refresh_instances() {
    self->request(agent, std::chrono::seconds(2), caf::get_atom::value)
      .then([this](std::vector<instance_info>& list) { instances = list; },
            [](const caf::error&) {});
  }

  ~consumer_state() {
    if (tasks)
      caf::anon_send(tasks, member_beat{member, true});
  }
};

caf::behavior consumer(caf::stateful_actor<consumer_state>* self,
                       std::string node, verifier_node_actor agent,
                       choreography_options opts) {
  auto& st = self->state;
  st.node = std::move(node);
  st.agent = std::move(agent);
  st.opts = std::move(opts);
  std::random_device rd;
  std::mt19937_64 rng{rd()};
  char nonce[9];
  std::snprintf(nonce, sizeof(nonce), "%08x",
                static_cast<unsigned>(rng() & 0xFFFFFFFF));
  st.member = st.node + "#" + nonce;
  st.refresh_instances();
  st.lookup(task_group_name);
  st.lookup(result_group_name);
  self->send(self, tick_atom::value);
  return {
    [self](lookup_atom, group_lookup& r) { self->state.on_lookup(r); },
    [self](group_atom, const std::string& name) {
      self->state.lookup(name.c_str());
    },
    [self](caf::group_down_msg& msg) { self->state.on_group_down(msg); },
    [self](choreo_task& t) { self->state.on_task(t); },
    [self](const choreo_result& r) { self->state.on_result(r); },
    [self](const member_beat& b) { self->state.on_beat(b); },
    [self](tick_atom) { self->state.tick(); },
  };
}

} // namespace

std::string task_owner(const std::string& id,
                       const std::vector<std::string>& members) {
  std::string best;
  uint64_t best_hash = 0;
  auto task_hash = mix(fnv1a(id));
  for (auto& m : members) {
    auto h = mix(fnv1a(m) ^ task_hash);
    if (best.empty() || h > best_hash) {
      best = m;
      best_hash = h;
    }
  }
  return best;
}

caf::actor start_consumer(caf::actor_system& sys, const std::string& node,
                          verifier_node_actor agent,
                          const choreography_options& opts) {
  return sys.spawn(consumer, node, std::move(agent), opts);
}

} // namespace duet
