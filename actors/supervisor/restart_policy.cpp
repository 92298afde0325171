#include "actors/supervisor/restart_policy.hpp"

#include <algorithm>

namespace duet {

namespace {

// `base` doubled `times` times, at most `max`.
restart_policy::duration doubled(restart_policy::duration base, size_t times,
                                 restart_policy::duration max) {
  auto x = base;
  for (size_t i = 0; i < times && x < max; ++i)
    x *= 2;
  return std::min(x, max);
}

} // namespace

restart_policy::restart_policy() : cfg_(config{}) {
  // nop
}

restart_policy::decision restart_policy::crashed(time_point now) {
  if (failures_ > 0 && now - last_restart_ > cfg_.period)
    failures_ = 0; // it ran a whole period since it was last restarted
  while (!crashes_.empty() && now - crashes_.front() > cfg_.period)
    crashes_.pop_front();
  crashes_.push_back(now);
  if (crashes_.size() > cfg_.intensity) {
    auto delay = doubled(cfg_.cooldown, failures_, cfg_.cooldown_max);
    ++failures_;
    crashes_.clear();
    return {true, delay};
  }
  return {false, doubled(cfg_.backoff, crashes_.size() - 1, cfg_.backoff_max)};
}

} // namespace duet
