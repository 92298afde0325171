#pragma once

// Exceptions stop at the edge of one message. CAF 0.17 ends an actor whose
// handler throws (its exception handler only picks the exit reason), so
// every handler of a duet actor is wrapped: an exception is logged and
// counted, a request gets `ec::internal_error`, and the actor goes on with
// its next message.

#include <exception>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <caf/detail/type_list.hpp>
#include <caf/detail/type_traits.hpp>
#include <caf/error.hpp>
#include <caf/message_view.hpp>
#include <caf/result.hpp>
#include <caf/scheduled_actor.hpp>
#include <caf/sec.hpp>

#include "actors/core/error.hpp"

namespace duet {

namespace detail {

/// Logs and counts an exception that escaped a handler of `actor`.
void report_exception(const char* actor, const char* what) noexcept;

/// Counts (and logs at most once a second) a message no handler of `actor`
/// takes.
void report_unexpected(const char* actor) noexcept;

/// What a guarded handler returns: `void` stays, `caf::result<T>` stays,
/// any other `T` becomes `caf::result<T>` so that it can carry the error.
template <class T>
struct guarded_result {
  using type = caf::result<T>;
};

template <>
struct guarded_result<void> {
  using type = void;
};

template <class T>
struct guarded_result<caf::result<T>> {
  using type = caf::result<T>;
};

template <class R>
R guard_failure(const char* actor) {
  if constexpr (!std::is_void_v<R>)
    return caf::make_error(ec::internal_error,
                           std::string{actor}
                             + ": unexpected exception (see its "
                               "node's log)");
}

// Calls `f`, stopping any exception at this frame.
template <class R, class F, class... Ts>
R call_guarded(const char* actor, F& f, Ts&&... xs) {
  try {
    return f(std::forward<Ts>(xs)...);
  } catch (const std::exception& e) {
    report_exception(actor, e.what());
  } catch (...) {
    report_exception(actor, "unknown exception");
  }
  return guard_failure<R>(actor);
}

template <class F, class... Ts>
auto guard_impl(const char* actor, F f, caf::detail::type_list<Ts...>) {
  using result_type = typename guarded_result<
    typename caf::detail::get_callable_trait<F>::result_type>::type;
  if constexpr (std::is_invocable_v<const F&, Ts...>) {
    return [actor, f = std::move(f)](Ts... xs) -> result_type {
      return call_guarded<result_type>(actor, f, std::forward<Ts>(xs)...);
    };
  } else {
    // A mutable handler: CAF calls handlers as const, so it is shared.
    return
      [actor, f = std::make_shared<F>(std::move(f))](Ts... xs) -> result_type {
        return call_guarded<result_type>(actor, *f, std::forward<Ts>(xs)...);
      };
  }
}

} // namespace detail

/// Counts a message from a peer that `check` refused, logs why (at most
/// once a second per actor), and returns the error to answer with.
caf::error refuse(const char* actor, caf::error err);

/// Wraps handler `f` of actor `actor` (a message handler, a response or
/// error handler of `request(...).then`, a down handler) with the same
/// signature, so that an exception in it stops at the edge of one message.
template <class F>
auto guard(const char* actor, F f) {
  using args = typename caf::detail::get_callable_trait<F>::arg_types;
  return detail::guard_impl(actor, std::move(f), args{});
}

/// Makes `self` count and drop messages that no handler takes (a request
/// gets `unexpected_message`) instead of CAF's default of printing each one:
/// a peer must not be able to flood the log.
template <class Self>
void drop_unexpected(Self* self, const char* actor) {
  self->set_default_handler(
    [actor](caf::scheduled_actor*,
            caf::message_view&) -> caf::result<caf::message> {
      detail::report_unexpected(actor);
      return caf::sec::unexpected_message;
    });
}

} // namespace duet
