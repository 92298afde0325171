#pragma once

// When to restart a crashed verifier instance, OTP-style: after a backoff
// that doubles per recent crash; past `intensity` crashes within `period`
// the instance is `failed`. Failed is not forever: it is tried again after a
// cool-down that doubles per failure in a row (up to a maximum) and starts
// over once the instance has run a whole period without crashing.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <deque>

#include "actors/core/options.hpp"

namespace duet {

/// The restart decisions for one instance slot (no CAF, no clocks of its
/// own: callers pass the time).
class restart_policy {
public:
  using clock_type = std::chrono::steady_clock;
  using duration = clock_type::duration;
  using time_point = clock_type::time_point;

  /// The knobs, from `[supervisor]`.
  struct config {
    /// Crashes allowed within `period`; one more means failed.
    size_t intensity = defaults::restart_intensity;
    duration period = defaults::restart_period;
    /// Delay of the first restart; doubles per recent crash.
    duration backoff = defaults::restart_backoff;
    duration backoff_max = defaults::restart_backoff_max;
    /// Delay before a failed instance is tried again; doubles per failure
    /// in a row.
    duration cooldown = defaults::failed_cooldown;
    duration cooldown_max = defaults::failed_cooldown_max;
  };

  /// What to do about a crash.
  struct decision {
    /// Past the restart intensity: the instance is failed until `delay`
    /// has passed; otherwise it is restarted after `delay`.
    bool failed = false;
    duration delay{0};
  };

  /// Uses the defaults of `config`.
  restart_policy();

  explicit restart_policy(config cfg) : cfg_(cfg) {
    // nop
  }

  /// Books a crash at `now` and decides.
  decision crashed(time_point now);

  /// Books a successful restart at `now`.
  void restarted(time_point now) {
    last_restart_ = now;
  }

  /// Crashes within the current period.
  size_t recent_crashes() const noexcept {
    return crashes_.size();
  }

  /// Times the instance went failed in a row.
  uint32_t failures() const noexcept {
    return failures_;
  }

private:
  config cfg_;
  std::deque<time_point> crashes_;
  uint32_t failures_ = 0;
  time_point last_restart_;
};

} // namespace duet
