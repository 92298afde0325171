#pragma once

// The HTTP front's server: an io_context with its threads and a listener.
// Nothing here blocks on an actor; verification results come back through
// the service's callback and are posted onto each session's strand.

#include <cstdint>
#include <memory>
#include <string>

#include "actors/core/error.hpp"
#include "actors/core/options.hpp"
#include "actors/crypto/keyring.hpp"
#include "actors/front/verify_service.hpp"
#include "http_front/keys.hpp"

namespace duet::http {

/// Runs the HTTP API of a front node.
class server {
public:
  server(front_options opts, std::string node, verify_service& service,
         front_keys keys = {});

  /// The options it serves with.
  const front_options& options() const noexcept;

  /// Serves only /healthz, /readyz and /metrics (nodes without a front).
  void disable_api();
  ~server();

  server(const server&) = delete;
  server& operator=(const server&) = delete;

  /// Binds, starts the io threads and returns the bound port, or a failure
  /// naming `front.http-port` if the address cannot be bound.
  caf::expected<uint16_t> start();

  /// Stops accepting, closes connections and joins the io threads.
  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace duet::http
