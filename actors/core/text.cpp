#include "actors/core/text.hpp"

#include <algorithm>
#include <cstdint>

namespace duet {

namespace {

// Returns the length of the UTF-8 sequence at the start of `str`, or 0 if
// it is not a well-formed one.
size_t utf8_sequence(std::string_view str) noexcept {
  auto byte = [&](size_t i) { return static_cast<uint8_t>(str[i]); };
  auto cont = [&](size_t i) {
    return i < str.size() && (byte(i) & 0xC0) == 0x80;
  };
  auto b0 = byte(0);
  if (b0 < 0x80)
    return 1;
  if (b0 >= 0xC2 && b0 <= 0xDF)
    return cont(1) ? 2 : 0;
  if (b0 >= 0xE0 && b0 <= 0xEF) {
    if (!cont(1) || !cont(2))
      return 0;
    auto b1 = byte(1);
    if (b0 == 0xE0 && b1 < 0xA0) // overlong
      return 0;
    if (b0 == 0xED && b1 >= 0xA0) // UTF-16 surrogate
      return 0;
    return 3;
  }
  if (b0 >= 0xF0 && b0 <= 0xF4) {
    if (!cont(1) || !cont(2) || !cont(3))
      return 0;
    auto b1 = byte(1);
    if (b0 == 0xF0 && b1 < 0x90) // overlong
      return 0;
    if (b0 == 0xF4 && b1 >= 0x90) // above U+10FFFF
      return 0;
    return 4;
  }
  return 0;
}

} // namespace

bool is_utf8(std::string_view str) noexcept {
  while (!str.empty()) {
    auto n = utf8_sequence(str);
    if (n == 0)
      return false;
    str.remove_prefix(n);
  }
  return true;
}

bool is_name(std::string_view str, size_t max) noexcept {
  if (str.empty() || str.size() > max)
    return false;
  for (auto c : str) {
    auto ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'
              || c == ':' || c == '/' || c == '#' || c == '@' || c == '['
              || c == ']';
    if (!ok)
      return false;
  }
  return true;
}

std::string printable(std::string_view str, size_t max) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(std::min(str.size(), max) + 8);
  size_t shown = 0;
  while (!str.empty()) {
    if (shown == max) {
      out += "...";
      break;
    }
    auto n = utf8_sequence(str);
    auto b0 = static_cast<uint8_t>(str[0]);
    if (n == 0 || (n == 1 && (b0 < 0x20 || b0 == 0x7F))) {
      out += "\\x";
      out += digits[b0 >> 4];
      out += digits[b0 & 0xF];
      n = 1;
    } else if (b0 == '\\') {
      out += "\\\\";
    } else {
      out.append(str.data(), n);
    }
    str.remove_prefix(n);
    ++shown;
  }
  return out;
}

} // namespace duet
