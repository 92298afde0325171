#include "actors/front/task_desk.hpp"

#include <chrono>
#include <optional>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/stateful_actor.hpp>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>

#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"
#include "actors/core/text.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/group_lookup.hpp"
#include "actors/protocol/identity.hpp"
#include "actors/protocol/validate.hpp"
#include "actors/runtime/guard.hpp"

namespace duet {

namespace {

using clock_type = std::chrono::steady_clock;

struct task_desk_state {
  static inline const char* name = "task-desk";

  explicit task_desk_state(caf::stateful_actor<task_desk_state>* ptr)
    : self(ptr) {
    // nop
  }

  caf::stateful_actor<task_desk_state>* self;
  choreography_options opts;
  std::shared_ptr<front_status> status;
  std::shared_ptr<task_book> book;
  /// Proves this front's name to the hub; checks the verifiers' results.
  std::shared_ptr<const node_identity> identity;
  bool fault_injection = false;
  /// The hub's groups: this front publishes to the task group (without
  /// joining it) and joins the result group.
  std::optional<hub_groups> groups;
  /// Declines per verifier node: it holds another key than this front pins.
  name_counts misconfigured;

  void on_lookup(group_lookup& r) {
    auto grp = groups->on_lookup(r);
    if (grp != nullptr && grp == &groups->tasks()) {
      status->tasks_joined = true;
      publish_due();
    }
  }

  void on_group_down(const caf::group_down_msg& msg) {
    if (groups->on_down(msg))
      status->tasks_joined = false;
  }

  auto publisher() {
    return [this](const std::string& id, uint32_t attempt,
                  const verify_request& req) {
      self->send(groups->tasks(), choreo_task{id, attempt, req});
    };
  }

  void submit(task_submission& s) {
    if (fault_injection && s.req.key_id == "!desk-crash") {
      log::warning("task desk stopping on purpose (fault injection)");
      self->quit(caf::make_error(ec::injected_fault, "task desk crash"));
      return;
    }
    if (!groups->tasks()) {
      // Not accepted into a void: the client retries (503, Retry-After)
      // and tasks accepted earlier wait in the book for the hub.
      s.done(caf::make_error(
        ec::unavailable,
        groups->stale()
          ? "the choreography hub " + groups->hub()
              + " came back after a partition with groups this node cannot "
                "use again (CAF 0.17); restart this node"
          : "the choreography hub " + groups->hub()
              + " is not reachable; retry"));
      return;
    }
    auto now = clock_type::now();
    auto id = book->accept(std::move(s.req), now);
    if (!id) {
      s.done(std::move(id.error()));
      return;
    }
    metrics::pending_tasks().Set(static_cast<double>(book->pending()));
    if (groups->tasks())
      book->publish(*id, now, publisher());
    // Otherwise published by tick() once the group is back.
    s.done(std::move(*id));
  }

  void publish_due() {
    if (groups->tasks())
      book->publish_due(clock_type::now(), publisher());
  }

  // Records a batch of results signed by the verifier node that made them;
  // a batch without a valid signature of the node its results name is
  // refused as a whole (no forged verdict reaches a client).
  void on_results(const result_batch& b) {
    if (auto err = check_signed(*identity, b)) {
      refuse(name, std::move(err));
      return;
    }
    auto now = clock_type::now();
    for (auto& r : b.results) {
      auto outcome
        = book->record({r.id, r.verified, r.verifier, r.error, r.request}, now);
      if (outcome == task_book::recorded::duplicate)
        metrics::duplicates().Increment();
      if (outcome == task_book::recorded::mismatch) {
        // The verifier answered a copy of the task that this front did not
        // publish (a member published its own request under the id).
        static std::atomic<int64_t> last_ms{0};
        if (log::throttle(last_ms))
          log::warning("ignored a result of ", printable(b.signer),
                       " for task ", r.id,
                       ": it answers another request than this front "
                       "published under that id (a forged task copy)");
      }
    }
    metrics::pending_tasks().Set(static_cast<double>(book->pending()));
  }

  // A verifier node holds another key than this front pins: it declined a
  // task (another verifier takes it). Counted per instance for the view.
  void on_decline(const task_decline& d) {
    if (auto err = check_signed(*identity, d)) {
      refuse(name, std::move(err));
      return;
    }
    // Only a task of this front says something about the verifier; a
    // rogue's task without the pinned fingerprint says nothing.
    if (!book->is_pending(d.id))
      return;
    misconfigured.add(std::string{node_of(d.member)});
    static std::atomic<int64_t> last_ms{0};
    if (log::throttle(last_ms))
      log::error("verifier ", node_of(d.member),
                 " is misconfigured: ", d.reason);
  }

  void tick() {
    auto now = clock_type::now();
    auto timed_out = book->stats().timed_out;
    book->expire(now);
    if (book->stats().timed_out > timed_out)
      log::warning(book->stats().timed_out - timed_out,
                   " task(s) failed: no result within "
                   "choreography.task-timeout");
    publish_due();
    metrics::pending_tasks().Set(static_cast<double>(book->pending()));
    self->delayed_send(self, opts.tick_interval, local::tick{});
  }

  desk_counters counters() const {
    auto& c = book->stats();
    desk_counters x;
    x.hub = opts.hub;
    x.joined = groups->tasks() && groups->results();
    x.accepted = c.accepted;
    x.pending = book->pending();
    x.redelivered = c.redelivered;
    x.results = c.results;
    x.duplicates = c.duplicates;
    x.mismatched = c.mismatched;
    for (auto& [verifier, n] : c.by_verifier.all())
      x.by_verifier.emplace_back(verifier, n);
    for (auto& [node, n] : misconfigured.all())
      x.misconfigured.emplace_back(node, n);
    return x;
  }
};

caf::behavior task_desk(caf::stateful_actor<task_desk_state>* self,
                        std::shared_ptr<const node_identity> identity,
                        choreography_options opts,
                        std::shared_ptr<front_status> status,
                        std::shared_ptr<task_book> book, bool fault_injection) {
  auto& st = self->state;
  st.status = std::move(status);
  st.book = std::move(book);
  st.identity = std::move(identity);
  st.opts = std::move(opts);
  st.fault_injection = fault_injection;
  st.status->tasks_joined = false;
  st.groups.emplace(self, st.identity,
                    hub_groups::config{st.opts.hub, st.opts.lookup_timeout,
                                       st.opts.lookup_retry, false});
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
    guard(name,
          [self](submit_atom, task_submission& s) { self->state.submit(s); }),
    guard(name,
          [self](task_atom, task_query& q) {
            self->state.book->query(q.id, q.wait, clock_type::now(),
                                    std::move(q.done));
          }),
    guard(name, [self](const result_batch& b) { self->state.on_results(b); }),
    guard(name, [self](const task_decline& d) { self->state.on_decline(d); }),
    guard(name, [self](local::tick) { self->state.tick(); }),
    guard(name, [self](local::counters) { return self->state.counters(); }),
  };
}

} // namespace

std::shared_ptr<task_book> make_task_book(const choreography_options& opts) {
  task_book::config cfg;
  cfg.max_pending = opts.max_pending;
  cfg.redeliver_after = opts.redeliver_after;
  cfg.task_timeout = opts.task_timeout;
  cfg.keep_results = opts.keep_results;
  cfg.keep_for = opts.keep_for;
  return std::make_shared<task_book>(cfg);
}

task_desk_actor start_task_desk(caf::actor_system& sys,
                                std::shared_ptr<const node_identity> identity,
                                const choreography_options& opts,
                                std::shared_ptr<front_status> status,
                                std::shared_ptr<task_book> book,
                                bool fault_injection) {
  return caf::actor_cast<task_desk_actor>(
    sys.spawn(task_desk, std::move(identity), opts, std::move(status),
              std::move(book), fault_injection));
}

} // namespace duet
