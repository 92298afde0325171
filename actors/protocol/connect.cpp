#include "actors/protocol/connect.hpp"

#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>

namespace duet {

void link_tls_error_fix(); // tls_errors.cpp

caf::io::middleman_actor connector(caf::actor_system& sys) {
  link_tls_error_fix();
  if (sys.has_openssl_manager())
    return sys.openssl_manager().actor_handle();
  return sys.middleman().actor_handle();
}

caf::expected<uint16_t> publish_tls(caf::actor_system& sys,
                                    const caf::strong_actor_ptr& whom,
                                    std::set<std::string> interface,
                                    uint16_t port, const std::string& host) {
  return caf::openssl::publish(sys, whom, std::move(interface), port,
                               host.c_str(), true);
}

} // namespace duet
