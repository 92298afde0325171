#pragma once

// One HTTP connection (plain or HTTPS): reads requests (pipelined up to a
// limit), hands verifications to the service, and writes responses in
// request order. Every request is answered: by the service, by a 500 if
// handling it threw, by a 503 if the service dropped its callback or did not
// call it in time.

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/thread_pool.hpp>

#include "http_front/api.hpp"
#include "http_front/connections.hpp"

namespace boost::asio::ssl {
class context;
} // namespace boost::asio::ssl

namespace duet::http {

class connection;

/// Shared state of all sessions of one server.
struct shared_state {
  template <class... Ts>
  explicit shared_state(Ts&&... xs)
    : ctx(std::forward<Ts>(xs)...),
      table(ctx.opts.max_connections, ctx.opts.max_connections_per_client) {
    // nop
  }

  api_context ctx;
  /// Hashes `textFile` documents off the io threads (the server's; null:
  /// on the calling thread).
  boost::asio::thread_pool* hashers = nullptr;
  /// Open GET /api/events streams (at most limits::event_streams).
  std::atomic<size_t> event_streams{0};
  /// Guards `table` and `sessions`.
  std::mutex mtx;
  connection_table table;
  /// The live sessions by connection id (to close an evicted one).
  std::unordered_map<connection_table::id_type, std::weak_ptr<connection>>
    sessions;
};

/// One accepted connection, plaintext or TLS (the server sees only this).
class connection {
public:
  virtual ~connection();

  /// Starts serving; a connection with id 0 was refused: it answers 503
  /// with `refusal` and closes.
  virtual void run(const char* refusal) = 0;

  /// Closes the connection to make room for a new one, unless a request
  /// arrived meanwhile (posted onto its strand; call from any thread).
  virtual void evict() = 0;
};

/// Makes the connection of `socket` (admitted as `id`): HTTPS if `tls` is
/// not null, plain HTTP otherwise.
std::shared_ptr<connection>
make_connection(boost::asio::ip::tcp::socket&& socket,
                std::shared_ptr<shared_state> shared,
                connection_table::id_type id, boost::asio::ssl::context* tls);

} // namespace duet::http
