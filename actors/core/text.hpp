#pragma once

// Untrusted text: what a client or a peer sends is checked before use and
// rendered safely before it is echoed into a log line, an error message or
// a JSON document.

#include <cstddef>
#include <string>
#include <string_view>

namespace duet {

/// Returns whether `str` is well-formed UTF-8 (no overlong forms, no
/// surrogates, nothing above U+10FFFF).
bool is_utf8(std::string_view str) noexcept;

/// Returns whether `str` is a usable name of a node, an instance, a member
/// or a task: 1 to `max` characters out of `A-Z a-z 0-9 - _ . : / # @ [ ]`.
bool is_name(std::string_view str, size_t max = 128) noexcept;

/// Renders untrusted bytes for a log line or an error message: printable
/// UTF-8 is kept, control characters and invalid bytes become `\xNN`, and
/// the result is cut after `max` characters with "..." appended.
std::string printable(std::string_view str, size_t max = 64);

} // namespace duet
