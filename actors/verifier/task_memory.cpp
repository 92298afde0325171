#include "actors/verifier/task_memory.hpp"

#include <algorithm>

namespace duet {

task_memory::task_memory(size_t max_seen, size_t max_done)
  : max_seen_(max_seen), max_done_(max_done) {
  // nop
}

task_memory::seen_task* task_memory::see(choreo_task&& t, time_point now) {
  if (done_.count(t.id) > 0) {
    if (t.attempt <= 1)
      return nullptr;  // a late copy of a task with a result
    done_.erase(t.id); // its result was lost on the way: answer again
  }
  auto i = seen_.find(t.id);
  if (i != seen_.end()) {
    i->second.task.attempt = std::max(i->second.task.attempt, t.attempt);
    return &i->second;
  }
  if (seen_.size() >= max_seen_)
    return nullptr;
  auto id = t.id; // not `t.id`: the task is moved into the value
  return &seen_.emplace(std::move(id), seen_task{std::move(t), false, now, {}})
            .first->second;
}

void task_memory::done(const std::string& id) {
  seen_.erase(id);
  if (!done_.insert(id).second)
    return;
  done_order_.push_back(id);
  while (done_order_.size() > max_done_) {
    done_.erase(done_order_.front());
    done_order_.pop_front();
  }
}

void task_memory::forget_before(time_point cutoff) {
  for (auto i = seen_.begin(); i != seen_.end();)
    if (!i->second.in_progress && i->second.seen_at < cutoff)
      i = seen_.erase(i);
    else
      ++i;
}

task_memory::seen_task* task_memory::find(const std::string& id) {
  auto i = seen_.find(id);
  return i == seen_.end() ? nullptr : &i->second;
}

} // namespace duet
