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
#include "actors/front/task_store.hpp"
#include "actors/protocol/fwd.hpp"
#include "actors/protocol/hub_links.hpp"
#include "actors/protocol/identity.hpp"
#include "actors/protocol/membership.hpp"
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
  /// Proves this front's name to the hubs; checks the verifiers' results.
  std::shared_ptr<const node_identity> identity;
  bool fault_injection = false;
  /// Every hub: this front joins its result group and the member group on
  /// each, and publishes through the first it has (`current`).
  std::optional<hub_links> links;
  size_t current = hub_links::npos;
  /// Tasks wait until then after a move to another hub (see `use`).
  clock_type::time_point settle_until;
  /// The consumers beating on each hub, and their beats' checks.
  std::vector<membership> members;
  std::vector<beat_checker> beats;
  /// Declines per verifier node: it holds another key than this front pins.
  name_counts misconfigured;
  /// Accepted tasks whose 202 waits for the store's next commit, and
  /// whether that commit is scheduled (behind the messages already in the
  /// mailbox: one commit for a burst).
  std::vector<std::pair<verify_service::submit_callback, std::string>>
    uncommitted;
  bool commit_scheduled = false;

  // Schedules a commit if the store has writes waiting.
  void after_writes() {
    auto j = book->journal();
    if (j != nullptr && j->dirty() && !commit_scheduled) {
      commit_scheduled = true;
      self->send(self, local::flush{});
    }
  }

  // Commits the store, then answers the tasks accepted since the last
  // commit: a 202 only for what is written.
  void commit() {
    commit_scheduled = false;
    caf::error err;
    if (auto j = book->journal())
      err = j->commit();
    if (err) {
      static std::atomic<int64_t> last_ms{0};
      if (log::throttle(last_ms))
        log::error("cannot commit the task store: ", message_of(err));
    }
    auto waiting = std::move(uncommitted);
    uncommitted.clear();
    for (auto& [done, id] : waiting)
      if (err)
        done(caf::make_error(ec::unavailable, "cannot write the task store: "
                                                + message_of(err) + "; retry"));
      else
        done(std::move(id));
  }

  void on_joined(local::hub_joined& x) {
    auto i = links->on_joined(x);
    if (i == hub_links::npos)
      return;
    if (current == hub_links::npos)
      use(i);
  }

  void on_down(const caf::down_msg& msg) {
    auto i = links->on_down(msg);
    if (i == hub_links::npos)
      return;
    members[i] = membership{};
    if (i == current)
      use(links->first_joined());
  }

  // Publishes through hub `i` from now on (`npos`: none, tasks are refused).
  // Whatever is pending goes out again through it: what was sent through
  // the hub before may have died with it (at-least-once; the first result
  // of each task counts).
  void use(size_t i) {
    current = i;
    status->tasks_joined = i != hub_links::npos;
    if (i == hub_links::npos) {
      log::warning("no choreography hub reachable: tasks are refused until "
                   "one is");
      return;
    }
    log::info("publishing tasks through hub ", links->address(i));
    // The consumers there beat first, so that what is pending spreads over
    // all of them rather than going to the first that beats.
    settle_until = clock_type::now() + 2 * opts.beat_interval;
    book->all_due();
  }

  // Sends a task to its owner among the consumers of the current hub.
  auto publisher() {
    return
      [this](const std::string& id, uint32_t attempt, const verify_request& req,
             const std::vector<std::string>& excluded) -> std::string {
        if (current == hub_links::npos || clock_type::now() < settle_until)
          return {};
        auto owner = members[current].owner(id, excluded);
        if (!owner.empty())
          self->send(links->at(current), publish_atom::value,
                     task_topic(std::string{node_of(owner)}),
                     choreo_task{id, attempt, req, {}});
        return owner;
      };
  }

  void submit(task_submission& s) {
    if (fault_injection && s.req.key_id == "!desk-crash") {
      log::warning("task desk stopping on purpose (fault injection)");
      self->quit(caf::make_error(ec::injected_fault, "task desk crash"));
      return;
    }
    if (current == hub_links::npos) {
      // Not accepted into a void: the client retries (503, Retry-After)
      // and tasks accepted earlier wait in the book for a hub.
      s.done(
        caf::make_error(ec::unavailable, "no choreography hub is reachable ("
                                           + join(opts.hubs) + "); retry"));
      return;
    }
    auto now = clock_type::now();
    auto id = book->accept(std::move(s.req), now);
    if (!id) {
      s.done(std::move(id.error()));
      return;
    }
    metrics::pending_tasks().Set(static_cast<double>(book->pending()));
    // Without a consumer yet, published by tick() once one beats.
    book->publish(*id, now, publisher());
    if (book->journal() != nullptr) {
      uncommitted.emplace_back(std::move(s.done), std::move(*id));
      after_writes();
    } else {
      s.done(std::move(*id));
    }
  }

  static std::string join(const std::vector<std::string>& xs) {
    std::string out;
    for (auto& x : xs)
      out += (out.empty() ? "" : ", ") + x;
    return out;
  }

  void publish_due() {
    if (current != hub_links::npos)
      book->publish_due(clock_type::now(), publisher());
  }

  // A consumer beat on hub `i`: it may take tasks there; one that leaves
  // hands its pending tasks to the others.
  void on_beat(const member_beat& b) {
    auto i = links->index_of(self->current_sender());
    if (i == hub_links::npos)
      return; // not through a hub of ours
    if (auto err = beats[i].check(*identity, b)) {
      refuse(name, std::move(err));
      return;
    }
    switch (members[i].beat(b.member, b.leaving, clock_type::now())) {
      case membership::change::joined:
        log::info("consumer ", b.member, " joined on hub ", links->address(i));
        if (i == current)
          publish_due();
        break;
      case membership::change::left:
        log::info("consumer ", b.member, " left hub ", links->address(i));
        beats[i].forget(b.member);
        if (i == current)
          owner_lost(b.member);
        break;
      case membership::change::refused: {
        static std::atomic<int64_t> last_ms{0};
        if (log::throttle(last_ms))
          log::warning("consumer ", b.member, " ignored: ", members[i].size(),
                       " known (the limit)");
        break;
      }
      case membership::change::none:
        break;
    }
  }

  void owner_lost(const std::string& member) {
    auto n = book->owner_lost(member);
    if (n > 0)
      log::info(n, " pending task(s) of ", member, " go to other consumers");
    publish_due();
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
  // task, which goes to another consumer. Counted per node for the view.
  void on_decline(const task_decline& d) {
    if (auto err = check_signed(*identity, d)) {
      refuse(name, std::move(err));
      return;
    }
    // Only a task of this front says something about the verifier.
    if (!book->decline(d.id, d.member))
      return;
    misconfigured.add(std::string{node_of(d.member)});
    static std::atomic<int64_t> last_ms{0};
    if (log::throttle(last_ms))
      log::error("verifier ", node_of(d.member),
                 " is misconfigured: ", d.reason);
    publish_due();
  }

  void tick() {
    auto now = clock_type::now();
    auto timed_out = book->stats().timed_out;
    book->expire(now);
    if (book->stats().timed_out > timed_out)
      log::warning(book->stats().timed_out - timed_out,
                   " task(s) failed: no result within "
                   "choreography.task-timeout");
    for (size_t i = 0; i < members.size(); ++i)
      for (auto& m : members[i].expire(now, opts.member_timeout)) {
        log::warning("consumer ", m, " is silent on hub ", links->address(i));
        metrics::failure_detections("task-desk", "member").Increment();
        beats[i].forget(m);
        if (i == current)
          book->owner_lost(m);
      }
    publish_due();
    metrics::pending_tasks().Set(static_cast<double>(book->pending()));
    self->delayed_send(self, opts.tick_interval, local::tick{});
  }

  desk_counters counters() const {
    auto& c = book->stats();
    desk_counters x;
    x.joined = current != hub_links::npos;
    if (x.joined) {
      x.hub = links->address(current);
      x.members = members[current].size();
    }
    for (size_t i = 0; i < links->size(); ++i)
      x.hubs.emplace_back(links->address(i), links->at(i) != nullptr);
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
  st.links.emplace(
    self, st.identity,
    hub_links::config{st.opts.hubs,
                      {result_topic(st.identity->name), member_topic},
                      st.opts.lookup_timeout,
                      st.opts.lookup_retry});
  st.members.resize(st.opts.hubs.size());
  st.beats.resize(st.opts.hubs.size());
  st.links->start();
  self->set_down_handler(
    [self](caf::down_msg& msg) { self->state.on_down(msg); });
  self->send(self, local::tick{});
  drop_unexpected(self, st.name);
  const char* name = st.name;
  return {
    guard(name, [self](local::hub_joined& x) { self->state.on_joined(x); }),
    guard(name,
          [self](local::reconnect_hub& x) {
            self->state.links->reconnect(x.index);
          }),
    guard(name,
          [self](submit_atom, task_submission& s) { self->state.submit(s); }),
    guard(name,
          [self](task_atom, task_query& q) {
            self->state.book->query(q.id, q.wait, clock_type::now(),
                                    std::move(q.done));
            self->state.after_writes();
          }),
    guard(name,
          [self](const result_batch& b) {
            self->state.on_results(b);
            self->state.after_writes();
          }),
    guard(name, [self](const task_decline& d) { self->state.on_decline(d); }),
    guard(name, [self](const member_beat& b) { self->state.on_beat(b); }),
    guard(name,
          [self](local::tick) {
            self->state.tick();
            self->state.after_writes();
          }),
    guard(name, [self](local::flush) { self->state.commit(); }),
    guard(name, [self](local::counters) { return self->state.counters(); }),
  };
}

} // namespace

caf::expected<std::shared_ptr<task_book>>
make_task_book(const choreography_options& opts) {
  task_book::config cfg;
  cfg.max_pending = opts.max_pending;
  cfg.redeliver_after = opts.redeliver_after;
  cfg.task_timeout = opts.task_timeout;
  cfg.keep_results = opts.keep_results;
  cfg.keep_for = opts.keep_for;
  auto book = std::make_shared<task_book>(cfg);
  if (opts.durability == durability::memory)
    return book;
  auto store = task_store::open(opts.store, opts.durability,
                                opts.store_max_bytes);
  if (!store)
    return std::move(store.error());
  size_t pending = 0;
  size_t finished = 0;
  auto now = task_book::clock_type::now();
  auto err = (*store)->load([&](task_book::stored&& x) {
    (x.finished_ms == 0 ? pending : finished) += 1;
    book->restore(std::move(x), now);
  });
  if (err)
    return err;
  log::info("task store ", opts.store, " (", to_string(opts.durability),
            "): ", pending, " pending and ", finished,
            " finished task(s) restored");
  book->journal(std::move(*store));
  return book;
}

task_desk_actor start_task_desk(caf::actor_system& sys,
                                std::shared_ptr<const node_identity> identity,
                                const choreography_options& opts,
                                std::shared_ptr<front_status> status,
                                std::shared_ptr<task_book> book,
                                bool fault_injection) {
  // With a store that syncs, on a thread of its own: a commit waits for
  // the disk, and no other actor of the node should wait with it.
  if (opts.durability == durability::fsync)
    return caf::actor_cast<task_desk_actor>(sys.spawn<caf::detached>(
      task_desk, std::move(identity), opts, std::move(status), std::move(book),
      fault_injection));
  return caf::actor_cast<task_desk_actor>(
    sys.spawn(task_desk, std::move(identity), opts, std::move(status),
              std::move(book), fault_injection));
}

} // namespace duet
