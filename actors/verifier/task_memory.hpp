#pragma once

// What a choreography consumer remembers of tasks: the tasks it has seen
// without a result (with their requests, to take them over when their owner
// dies) and the ids of recent results (to ignore late copies). Both are
// bounded: tasks come from peers.

#include <chrono>
#include <cstddef>
#include <deque>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "actors/core/limits.hpp"
#include "actors/protocol/fwd.hpp"

namespace duet {

/// The tasks a consumer knows.
class task_memory {
public:
  using clock_type = std::chrono::steady_clock;
  using time_point = clock_type::time_point;

  /// A task seen on this node's task group, without a result yet.
  struct seen_task {
    choreo_task task;
    /// Being verified, or verified with its result waiting to be published.
    bool in_progress = false;
    time_point seen_at;
    /// The hub it came through (an index of the consumer's hubs).
    size_t hub = 0;
  };

  explicit task_memory(size_t max_seen = limits::seen_tasks,
                       size_t max_done = 100000);

  /// Books a task from the task group and returns it; null if it is done (a
  /// late copy) or the memory is full. A redelivery (attempt > 1) of a task
  /// whose result this consumer saw is taken again: the front published it
  /// again because that result never reached it.
  seen_task* see(choreo_task&& t, time_point now);

  /// Books a result for task `id`: forgets the task, remembers the id.
  void done(const std::string& id);

  /// Forgets tasks seen before `cutoff` that are not in progress (their
  /// front gave them up).
  void forget_before(time_point cutoff);

  /// Returns the seen task `id`, if any.
  seen_task* find(const std::string& id);

  /// The seen tasks by id.
  std::unordered_map<std::string, seen_task>& seen() noexcept {
    return seen_;
  }

  /// Returns whether a result for `id` was seen (and is still remembered).
  bool is_done(const std::string& id) const {
    return done_.count(id) > 0;
  }

  size_t done_count() const noexcept {
    return done_.size();
  }

private:
  size_t max_seen_;
  size_t max_done_;
  std::unordered_map<std::string, seen_task> seen_;
  std::deque<std::string> done_order_;
  std::unordered_set<std::string> done_;
};

} // namespace duet
