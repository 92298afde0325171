#include "actors/core/options.hpp"

namespace duet {

bool options::has_role(role x) const {
  for (auto& y : node.roles)
    if (y == x)
      return true;
  return false;
}

bool is_wildcard(std::string_view host) noexcept {
  return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]";
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
