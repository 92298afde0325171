#include "actors/protocol/connect.hpp"

#include <cerrno>
#include <chrono>

#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <caf/event_based_actor.hpp>
#include <caf/openssl/manager.hpp>
#include <caf/openssl/publish.hpp>
#include <caf/sec.hpp>

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

namespace {

// Whether a TCP connection to one of `host`'s addresses opens before
// `deadline` (blocking: runs on the prober's own thread).
bool reachable(const std::string& host, uint16_t port,
               std::chrono::steady_clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  auto service = std::to_string(port);
  if (getaddrinfo(host.c_str(), service.c_str(), &hints, &found) != 0)
    return false;
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> guard{found, freeaddrinfo};
  for (auto* ai = found; ai != nullptr; ai = ai->ai_next) {
    auto fd = ::socket(ai->ai_family,
                       ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                       ai->ai_protocol);
    if (fd < 0)
      continue;
    auto ok = false;
    if (::connect(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
      ok = true;
    } else if (errno == EINPROGRESS) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
      pollfd p{fd, POLLOUT, 0};
      if (left.count() > 0
          && ::poll(&p, 1, static_cast<int>(left.count())) == 1) {
        int err = 0;
        socklen_t len = sizeof(err);
        ok = ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0
             && err == 0;
      }
    }
    ::close(fd);
    if (ok)
      return true;
  }
  return false;
}

caf::behavior prober(caf::event_based_actor* self) {
  return {
    [self](probe_atom, const std::string& host, uint16_t port,
           caf::timespan timeout) -> caf::result<bool> {
      auto deadline = std::chrono::steady_clock::now() + timeout;
      self->quit();
      if (reachable(host, port, deadline))
        return true;
      return caf::make_error(caf::sec::cannot_connect_to_node);
    },
  };
}

} // namespace

caf::actor spawn_prober(caf::actor_system& sys) {
  return sys.spawn<caf::detached + caf::hidden>(prober);
}

} // namespace duet
