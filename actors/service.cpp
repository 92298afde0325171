#include "actors/service.hpp"

#include "actors/options.hpp"

namespace duet {

verify_service::~verify_service() {
  // nop
}

const char* to_string(style x) noexcept {
  switch (x) {
    case style::direct:
      return "direct";
    case style::orchestration:
      return "orchestration";
    case style::choreography:
      return "choreography";
  }
  return "?";
}

std::optional<style> parse_style(std::string_view name) noexcept {
  if (name == "direct")
    return style::direct;
  if (name == "orchestration")
    return style::orchestration;
  if (name == "choreography")
    return style::choreography;
  return std::nullopt;
}

bool split_address(const std::string& address, std::string& host,
                   uint16_t& port) {
  auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == address.size())
    return false;
  auto digits = address.substr(colon + 1);
  if (digits.size() > 5
      || digits.find_first_not_of("0123456789") != std::string::npos)
    return false;
  auto num = std::stoul(digits);
  if (num == 0 || num > 65535)
    return false;
  host = address.substr(0, colon);
  port = static_cast<uint16_t>(num);
  return true;
}

} // namespace duet
