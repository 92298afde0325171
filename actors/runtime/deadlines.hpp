#pragma once

// Timeouts for many requests on one timer. A CAF 0.17 request with a
// timeout puts an entry into the clock thread's queue when it is sent and
// another when it is answered, and wakes that thread both times (measured:
// 4.3 us of CPU per request on the front, plus the wake-ups). An actor
// that sends requests at a high rate sends them without a timeout instead,
// books each here and calls `expire` from a periodic tick: an answer past
// its time gets what CAF's clock would have delivered, `request_timeout`,
// so its error handler runs once and a later answer is dropped.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <unordered_map>

#include <caf/error.hpp>
#include <caf/message_id.hpp>
#include <caf/sec.hpp>

namespace duet {

class request_deadlines {
public:
  using clock_type = std::chrono::steady_clock;

  /// Books the request whose answer carries `answer_id` as due by `due`.
  void add(caf::message_id answer_id, clock_type::time_point due) {
    due_.emplace(answer_id.integer_value(), due);
  }

  /// The answer `answer_id` arrived (or its error did).
  void answered(caf::message_id answer_id) {
    due_.erase(answer_id.integer_value());
  }

  /// Gives every request past its time its `request_timeout`, delivered to
  /// `self` as its answer; returns whether requests are still booked.
  template <class Self>
  bool expire(Self* self, clock_type::time_point now) {
    for (auto i = due_.begin(); i != due_.end();) {
      if (i->second > now) {
        ++i;
        continue;
      }
      self->eq_impl(caf::message_id{i->first}, nullptr, self->context(),
                    caf::make_error(caf::sec::request_timeout));
      i = due_.erase(i);
    }
    return !due_.empty();
  }

  /// Returns the number of requests booked.
  size_t size() const noexcept {
    return due_.size();
  }

  /// The tick for requests that time out after `timeout`: they end at most
  /// a twentieth of it late, ticking every 5 to 50 ms.
  static clock_type::duration tick_for(clock_type::duration timeout) {
    using std::chrono::milliseconds;
    return std::clamp<clock_type::duration>(timeout / 20, milliseconds(5),
                                            milliseconds(50));
  }

private:
  std::unordered_map<uint64_t, clock_type::time_point> due_;
};

} // namespace duet
