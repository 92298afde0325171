#include "actors/task_desk.hpp"

#include <chrono>
#include <deque>
#include <map>
#include <random>
#include <unordered_map>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <nlohmann/json.hpp>

#include "actors/fwd.hpp"
#include "actors/groups.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>

namespace duet {

namespace {

using clock_type = std::chrono::steady_clock;

constexpr auto tick_interval = std::chrono::milliseconds(100);

struct task_entry {
  verify_request req;
  task_view view;
  uint32_t attempt = 0;
  clock_type::time_point created;
  /// When the task was last published; epoch if never.
  clock_type::time_point published;
  clock_type::time_point finished;
  bool read = false;
};

struct task_desk_state {
  static inline const char* name = "task-desk";

  explicit task_desk_state(caf::stateful_actor<task_desk_state>* ptr)
    : self(ptr) {
    // nop
  }

  caf::stateful_actor<task_desk_state>* self;
  choreography_options opts;
  std::shared_ptr<front_status> status;
  std::string front;
  std::string id_prefix;
  uint64_t next_id = 0;
  caf::group tasks;
  caf::group results;
  std::unordered_map<std::string, task_entry> entries;
  size_t pending = 0;
  /// Finished task ids in finishing order, for eviction.
  std::deque<std::string> finished_order;
  /// Finished task ids nobody has read yet, oldest first.
  std::deque<std::string> unread;
  /// Long polls waiting for a pending task to end, with their deadlines.
  std::unordered_multimap<std::string, std::pair<clock_type::time_point,
                                                 verify_service::task_callback>>
    waiters;
  uint64_t accepted = 0;
  uint64_t redelivered = 0;
  uint64_t results_received = 0;
  uint64_t duplicates = 0;
  std::map<std::string, uint64_t> by_verifier;

  void lookup(const char* name) {
    lookup_group(self->system(), self, opts.hub, name, opts.lookup_timeout);
  }

  void on_lookup(group_lookup& r) {
    if (!r.grp) {
      retry_lookup(self, r, opts.hub);
      return;
    }
    if (r.name == task_group_name) {
      // The front only publishes tasks; it does not need to see them.
      tasks = r.grp;
      status->tasks_joined = true;
    } else {
      self->join(r.grp);
      results = r.grp;
    }
    log::info("using ", r.name, " on hub ", opts.hub);
  }

  void on_group_down(const caf::group_down_msg& msg) {
    if (results && msg.source == results) {
      log::warning("hub ", opts.hub, " lost; joining the groups again");
      results = caf::group{};
      tasks = caf::group{};
      status->tasks_joined = false;
      lookup(task_group_name);
      lookup(result_group_name);
    }
  }

  void submit(task_submission& s) {
    if (pending >= opts.max_pending) {
      s.done(failure{ec::overloaded,
                     "too many pending tasks (" + std::to_string(pending)
                       + ", choreography.max-pending); retry later"});
      return;
    }
    auto id = id_prefix + std::to_string(next_id++);
    auto& e = entries[id];
    e.req = std::move(s.req);
    e.view = task_view{id, "pending", false, {}, "verification requested"};
    e.created = clock_type::now();
    ++pending;
    ++accepted;
    metrics::pending_tasks().Set(static_cast<double>(pending));
    publish(id, e);
    s.done(std::move(id));
  }

  void publish(const std::string& id, task_entry& e) {
    if (!tasks)
      return; // published by tick() once the group is back
    ++e.attempt;
    e.published = clock_type::now();
    self->send(tasks, choreo_task{id, e.attempt, e.req});
  }

  void on_result(const choreo_result& r) {
    ++results_received;
    auto i = entries.find(r.id);
    if (i == entries.end())
      return;
    auto& e = i->second;
    if (e.view.state != "pending") {
      ++duplicates;
      metrics::duplicates().Increment();
      return;
    }
    ++by_verifier[r.verifier];
    e.view.state = r.ok ? "done" : "failed";
    e.view.verified = r.ok && r.verified;
    e.view.verifier = r.verifier;
    e.view.message = r.message;
    finish(r.id, e);
  }

  void finish(const std::string& id, task_entry& e) {
    e.finished = clock_type::now();
    e.req = verify_request{}; // the text is not needed any more
    --pending;
    metrics::pending_tasks().Set(static_cast<double>(pending));
    finished_order.push_back(id);
    auto [first, last] = waiters.equal_range(id);
    if (first != last) {
      e.read = true;
      for (auto i = first; i != last; ++i)
        i->second.second(e.view);
      waiters.erase(first, last);
    } else {
      unread.push_back(id);
    }
  }

  void answer(task_query& q) {
    if (!q.id.empty() && q.wait.count() > 0) {
      auto i = entries.find(q.id);
      if (i != entries.end() && i->second.view.state == "pending") {
        waiters.emplace(q.id, std::make_pair(clock_type::now() + q.wait,
                                             std::move(q.done)));
        return;
      }
    }
    q.done(query(q.id));
  }

  std::optional<task_view> query(const std::string& id) {
    if (id.empty()) {
      while (!unread.empty()) {
        auto i = entries.find(unread.front());
        unread.pop_front();
        if (i != entries.end() && !i->second.read) {
          i->second.read = true;
          return i->second.view;
        }
      }
      return std::nullopt;
    }
    auto i = entries.find(id);
    if (i == entries.end())
      return std::nullopt;
    if (i->second.view.state != "pending")
      i->second.read = true;
    return i->second.view;
  }

  void tick() {
    auto now = clock_type::now();
    for (auto& [id, e] : entries) {
      if (e.view.state != "pending")
        continue;
      if (now - e.created > opts.task_timeout) {
        e.view.state = "failed";
        e.view.message
          = "no verifier answered within choreography.task-timeout";
        log::warning("task ", id, " failed: no result in time");
        finish(id, e);
      } else if (tasks && now - e.published > opts.redeliver_after) {
        if (e.attempt > 0)
          ++redelivered;
        publish(id, e);
      }
    }
    for (auto i = waiters.begin(); i != waiters.end();) {
      if (now >= i->second.first) {
        auto e = entries.find(i->first);
        i->second.second(e == entries.end() ? std::nullopt
                                            : std::optional{e->second.view});
        i = waiters.erase(i);
      } else {
        ++i;
      }
    }
    while (!finished_order.empty()) {
      auto i = entries.find(finished_order.front());
      auto expired = i == entries.end()
                     || now - i->second.finished > opts.keep_for;
      if (!expired && finished_order.size() <= opts.keep_results)
        break;
      if (i != entries.end())
        entries.erase(i);
      finished_order.pop_front();
    }
    // Unread ids of evicted tasks sit at the front (both lists are in
    // finishing order).
    while (!unread.empty() && entries.count(unread.front()) == 0)
      unread.pop_front();
    self->delayed_send(self, tick_interval, tick_atom::value);
  }

  std::string stats() const {
    nlohmann::json by = nlohmann::json::object();
    for (auto& [name, n] : by_verifier)
      by[name] = n;
    return nlohmann::json{{"hub", opts.hub},
                          {"joined", static_cast<bool>(results)},
                          {"accepted", accepted},
                          {"pending", pending},
                          {"redelivered", redelivered},
                          {"results", results_received},
                          {"duplicates", duplicates},
                          {"byVerifier", by}}
      .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
};

caf::behavior task_desk(caf::stateful_actor<task_desk_state>* self,
                        std::string front, choreography_options opts,
                        std::shared_ptr<front_status> status) {
  auto& st = self->state;
  st.status = std::move(status);
  st.front = std::move(front);
  st.opts = std::move(opts);
  std::random_device rd;
  char prefix[16];
  std::snprintf(prefix, sizeof(prefix), "%08x-", rd());
  st.id_prefix = prefix;
  st.lookup(task_group_name);
  st.lookup(result_group_name);
  self->send(self, tick_atom::value);
  return {
    [self](lookup_atom, group_lookup& r) { self->state.on_lookup(r); },
    [self](group_atom, const std::string& name) {
      self->state.lookup(name.c_str());
    },
    [self](caf::group_down_msg& msg) { self->state.on_group_down(msg); },
    [self](submit_atom, task_submission& s) { self->state.submit(s); },
    [self](task_atom, task_query& q) { self->state.answer(q); },
    [self](const choreo_result& r) { self->state.on_result(r); },
    [self](tick_atom) { self->state.tick(); },
    [self](cluster_atom) { return self->state.stats(); },
  };
}

} // namespace

caf::actor start_task_desk(caf::actor_system& sys, const std::string& front,
                           const choreography_options& opts,
                           std::shared_ptr<front_status> status) {
  return sys.spawn(task_desk, front, opts, std::move(status));
}

} // namespace duet
