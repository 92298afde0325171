#include "actors/service.hpp"

namespace duet {

verify_service::~verify_service() {
  // nop
}

const char* to_string(style x) noexcept {
  switch (x) {
    case style::direct:
      return "direct";
  }
  return "?";
}

std::optional<style> parse_style(std::string_view name) noexcept {
  if (name == "direct")
    return style::direct;
  return std::nullopt;
}

} // namespace duet
