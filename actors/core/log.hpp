#pragma once

// A minimal thread-safe logger to stderr: `[level] node: text`.

#include <atomic>
#include <chrono>
#include <cstdint>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>

#include "actors/core/names.hpp"

namespace duet::log {

/// Severity of a log line, from most to least severe.
enum class level : uint8_t { error, warning, info, debug };

/// Sets the node name and the least severe level that is printed.
void init(std::string node, level max_level);

/// Returns whether lines of level `x` are printed.
bool enabled(level x) noexcept;

/// Prints one line (without checking `enabled`).
void write(level x, const std::string& line);

/// Returns true at most once per `every` for the same `last` (the time of
/// the last `true` in milliseconds): for lines a peer could trigger at will.
bool throttle(std::atomic<int64_t>& last, std::chrono::milliseconds every
                                          = std::chrono::seconds(1)) noexcept;

template <class... Ts>
void print(level x, const Ts&... xs) {
  if (!enabled(x))
    return;
  std::ostringstream out;
  (out << ... << xs);
  write(x, out.str());
}

template <class... Ts>
void error(const Ts&... xs) {
  print(level::error, xs...);
}

template <class... Ts>
void warning(const Ts&... xs) {
  print(level::warning, xs...);
}

template <class... Ts>
void info(const Ts&... xs) {
  print(level::info, xs...);
}

template <class... Ts>
void debug(const Ts&... xs) {
  print(level::debug, xs...);
}

} // namespace duet::log

namespace duet {

template <>
struct enum_names<log::level> {
  static constexpr std::pair<log::level, const char*> table[] = {
    {log::level::error, "error"},
    {log::level::warning, "warning"},
    {log::level::info, "info"},
    {log::level::debug, "debug"},
  };
};

} // namespace duet
