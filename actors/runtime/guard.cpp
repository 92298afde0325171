#include "actors/runtime/guard.hpp"

#include <atomic>
#include <chrono>

#include <prometheus/counter.h>

#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"

namespace duet::detail {

void report_exception(const char* actor, const char* what) noexcept {
  try {
    log::error(actor, ": a handler threw (", what,
               "); the message is dropped, the actor goes on");
    metrics::handler_exceptions(actor).Increment();
  } catch (...) {
    // Out of memory while reporting: nothing left to do.
  }
}

void report_unexpected(const char* actor) noexcept {
  try {
    metrics::invalid_messages(actor).Increment();
    static std::atomic<int64_t> last_ms{0};
    if (log::throttle(last_ms))
      log::warning(actor, ": dropped a message no handler takes (more are "
                          "counted in duet_invalid_messages_total)");
  } catch (...) {
    // Out of memory while reporting: nothing left to do.
  }
}

} // namespace duet::detail

namespace duet {

caf::error refuse(const char* actor, caf::error err) {
  metrics::invalid_messages(actor).Increment();
  static std::atomic<int64_t> last_ms{0};
  if (log::throttle(last_ms))
    log::warning(actor, ": refused a message from a peer: ", message_of(err));
  return err;
}

} // namespace duet
