#pragma once

// The choreography's book of tasks on a front: what was accepted, what is
// pending, the first result of each, who waits for which, what expires. No
// CAF here: the task desk actor adapts the book to the hubs, and a
// desk that is restarted (see keeper.hpp) picks up the same book, so a
// crash of the desk loses no accepted task.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "actors/core/error.hpp"
#include "actors/core/name_counts.hpp"
#include "actors/core/options.hpp"
#include "actors/front/verify_service.hpp"

namespace duet {

/// Where a task book writes what a restart must find again (task_store.hpp
/// implements it on disk). Times are Unix milliseconds.
class task_journal {
public:
  virtual ~task_journal() = default;

  /// A task was accepted, with the digest its results must name; an error
  /// refuses it (nothing is accepted that was not written).
  virtual caf::error accepted(const std::string& id, const verify_request& req,
                              const std::string& digest, int64_t created_ms)
    = 0;

  /// A task got its final state.
  virtual void
  finished(const std::string& id, const task_view& view, int64_t finished_ms)
    = 0;

  /// A finished task was read by a client.
  virtual void read(const std::string& id) = 0;

  /// A task was forgotten (expired or evicted).
  virtual void forgotten(const std::string& id) = 0;

  /// Whether writes wait for `commit`.
  virtual bool dirty() const noexcept = 0;

  /// Makes the writes so far durable (as the journal promises).
  virtual caf::error commit() = 0;
};

/// The tasks of one front (not thread-safe: one desk at a time uses it).
class task_book {
public:
  using clock_type = std::chrono::steady_clock;
  using time_point = clock_type::time_point;
  /// Answers a query: the task, or `unknown_task`.
  using callback = std::function<void(caf::expected<task_view>)>;

  /// Makes task ids; empty if it cannot.
  using id_source = std::function<std::string()>;

  /// The knobs, from `[choreography]`.
  struct config {
    size_t max_pending = defaults::max_pending;
    std::chrono::nanoseconds redeliver_after = defaults::redeliver_after;
    std::chrono::nanoseconds task_timeout = defaults::task_timeout;
    size_t keep_results = defaults::keep_results;
    std::chrono::nanoseconds keep_for = defaults::keep_for;
  };

  /// A result as it arrives from a verifier.
  struct result {
    std::string id;
    bool verified = false;
    std::string verifier;
    /// Why the task could not be checked, or none.
    caf::error error;
    /// The digest of the task copy it answers (`task_digest`).
    std::string request;
  };

  /// What `record` did with a result: the first for a pending task, one
  /// for a final task, one for no task of this book, or one about another
  /// request than this book published under that id (a forged task copy).
  enum class recorded { first, duplicate, unknown, mismatch };

  /// Counters for the cluster view.
  struct counters {
    uint64_t accepted = 0;
    uint64_t redelivered = 0;
    uint64_t results = 0;
    uint64_t duplicates = 0;
    uint64_t timed_out = 0;
    uint64_t mismatched = 0;
    name_counts by_verifier;
  };

  /// A task as a journal gives it back after a restart.
  struct stored {
    std::string id;
    /// Empty once finished.
    verify_request req;
    std::string digest;
    task_view view;
    int64_t created_ms = 0;
    /// 0 while pending.
    int64_t finished_ms = 0;
    bool read = false;
  };

  /// Ids come from `ids`: by default 128 random bits in hex, so that no
  /// member of the groups can guess the id of a task to come and publish a
  /// copy of its own first.
  explicit task_book(config cfg, id_source ids = random_id);

  /// Returns 32 random hex digits (OpenSSL's RAND_bytes), or empty.
  static std::string random_id();

  /// Writes every change to `journal` from now on (null: none).
  void journal(std::unique_ptr<task_journal> journal) noexcept {
    journal_ = std::move(journal);
  }

  /// The journal, or null.
  task_journal* journal() const noexcept {
    return journal_.get();
  }

  /// Takes back a task from the journal (at start, before any other call;
  /// finished tasks in finishing order). A pending task is published again
  /// as a new one; times are carried over from the wall clock.
  void restore(stored&& x, time_point now);

  /// Accepts a task and returns its id, or `overloaded` at `max_pending`
  /// (`crypto_failure` if no id or digest could be made).
  caf::expected<std::string> accept(verify_request req, time_point now);

  /// Publishes pending task `id` at `now`: calls `publish(id, attempt,
  /// request, excluded)` with its next attempt and the members it must not
  /// go to (those that declined it and, after a publication that got no
  /// result within `redeliver_after`, those that did not answer it), which
  /// sends it to the owner among the others and returns that owner, or
  /// returns empty if there is none (then nothing was sent and the task
  /// stays due). Returns whether it was published.
  template <class F>
  bool publish(const std::string& id, time_point now, F&& publish) {
    auto i = entries_.find(id);
    if (i == entries_.end() || i->second.view.state != task_state::pending)
      return false;
    auto& e = i->second;
    // No result in time: the owner may be wedged; another member gets it.
    if (e.attempt > 0 && !e.due && !e.owner.empty())
      add_once(e.skipped, e.owner);
    auto excluded = e.declined;
    excluded.insert(excluded.end(), e.skipped.begin(), e.skipped.end());
    std::string owner = publish(i->first, e.attempt + 1, e.req, excluded);
    if (owner.empty() && !e.skipped.empty()) {
      // Every member was tried: start over with all that did not decline.
      e.skipped.clear();
      owner = publish(i->first, e.attempt + 1, e.req, e.declined);
    }
    if (owner.empty())
      return false;
    if (e.attempt > 0)
      ++counters_.redelivered;
    ++e.attempt;
    e.published = now;
    e.due = false;
    e.owner = std::move(owner);
    return true;
  }

  /// Calls `publish` (as above) for every pending task that is due: never
  /// published, marked due, or without a result for `redeliver_after`.
  template <class F>
  void publish_due(time_point now, F&& publish) {
    for (auto& id : pending_ids(now))
      this->publish(id, now, publish);
  }

  /// Member `member` declined pending task `id` (its node holds another
  /// key): the task is due for another member. Returns false if `id` is
  /// not pending.
  bool decline(const std::string& id, const std::string& member);

  /// Marks every pending task last published to `member` due (the member
  /// is gone); returns how many.
  size_t owner_lost(const std::string& member);

  /// Marks every pending task due (the front moved to another hub).
  void all_due();

  /// Records a result; only the first result of a pending task counts.
  recorded record(const result& r, time_point now);

  /// Answers a query: task `id` (marked read once final), or with an empty
  /// `id` the oldest finished task nobody read (the seed's id-less GET). A
  /// pending task with `wait` > 0 is answered when it ends or at `now +
  /// wait`, whichever comes first.
  void query(const std::string& id, std::chrono::milliseconds wait,
             time_point now, callback done);

  /// Fails pending tasks past `task_timeout`, answers long polls past their
  /// time, and forgets finished tasks past `keep_for` or `keep_results`.
  void expire(time_point now);

  /// Returns whether task `id` is known and pending.
  bool is_pending(const std::string& id) const {
    auto i = entries_.find(id);
    return i != entries_.end() && i->second.view.state == task_state::pending;
  }

  /// Returns the number of pending tasks.
  size_t pending() const noexcept {
    return open_.size();
  }

  /// Returns the number of tasks kept (pending and finished).
  size_t size() const noexcept {
    return entries_.size();
  }

  /// Returns the number of long polls waiting.
  size_t waiting() const noexcept {
    return waiters_.size();
  }

  const counters& stats() const noexcept {
    return counters_;
  }

private:
  struct entry {
    verify_request req;
    /// `task_digest(id, req)`: what the results for it must name.
    std::string digest;
    task_view view;
    uint32_t attempt = 0;
    /// The member it was last published to, and the members it must not
    /// go to (see `publish`); bounded by `limits::members`.
    std::string owner;
    std::vector<std::string> declined;
    std::vector<std::string> skipped;
    /// Published again at the next `publish_due`, whatever its age.
    bool due = false;
    time_point created;
    /// When the task was last published; epoch if never.
    time_point published;
    time_point finished;
    bool read = false;
  };

  std::vector<std::string> pending_ids(time_point now) const;
  static void add_once(std::vector<std::string>& xs, const std::string& x);
  caf::expected<task_view> take(const std::string& id);
  static caf::error unknown(const std::string& id);
  void finish(const std::string& id, entry& e, time_point now);

  config cfg_;
  id_source ids_;
  std::unique_ptr<task_journal> journal_;
  std::unordered_map<std::string, entry> entries_;
  /// The ids of the pending tasks: what the scans for due, lost and late
  /// tasks walk (not the finished ones, up to `keep_results` of them).
  std::unordered_set<std::string> open_;
  /// Finished task ids in finishing order, for eviction.
  std::deque<std::string> finished_order_;
  /// Finished task ids nobody has read yet, oldest first.
  std::deque<std::string> unread_;
  /// Long polls waiting for a pending task to end, with their deadlines.
  std::unordered_multimap<std::string, std::pair<time_point, callback>>
    waiters_;
  counters counters_;
};

} // namespace duet
