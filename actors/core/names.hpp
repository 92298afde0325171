#pragma once

// Names of enum values, for configuration, logs, metrics and the HTTP API:
// each enum that has names specializes `enum_names` with one table, and
// `to_string`, `parse` and `name_list` work from it. One table per enum,
// so a name is spelled in exactly one place.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

namespace duet {

/// Specialize with `static constexpr std::pair<E, const char*> table[]`.
template <class E>
struct enum_names;

namespace detail {

template <class E, class = void>
struct has_names : std::false_type {};

template <class E>
struct has_names<E, std::void_t<decltype(enum_names<E>::table)>>
  : std::true_type {};

} // namespace detail

/// Returns the name of `x` ("?" for a value without one, e.g. one a peer
/// made up).
template <class E, class = std::enable_if_t<detail::has_names<E>::value>>
const char* to_string(E x) noexcept {
  for (auto& [value, name] : enum_names<E>::table)
    if (value == x)
      return name;
  return "?";
}

/// Returns the value named `name`, if any.
template <class E>
std::optional<E> parse(std::string_view name) noexcept {
  for (auto& [value, text] : enum_names<E>::table)
    if (name == text)
      return value;
  return std::nullopt;
}

/// Returns whether `x` is one of the named values.
template <class E>
bool is_named(E x) noexcept {
  for (auto& entry : enum_names<E>::table)
    if (entry.first == x)
      return true;
  return false;
}

/// Returns the names for messages and help texts: `"a", "b" or "c"`.
template <class E>
std::string name_list() {
  std::string result;
  constexpr auto n = std::size(enum_names<E>::table);
  for (size_t i = 0; i < n; ++i) {
    if (i > 0)
      result += i + 1 == n ? " or " : ", ";
    result += '"';
    result += enum_names<E>::table[i].second;
    result += '"';
  }
  return result;
}

} // namespace duet
