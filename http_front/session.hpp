#pragma once

// One HTTP connection: reads requests (pipelined up to a limit), hands
// verifications to the service, and writes responses in request order.

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include "http_front/api.hpp"

namespace duet::http {

/// Shared state of all sessions of one server.
struct shared_state {
  api_context ctx;
  std::atomic<size_t> connections{0};

  template <class... Ts>
  explicit shared_state(Ts&&... xs) : ctx(std::forward<Ts>(xs)...) {
    // nop
  }
};

/// One accepted connection.
class session : public std::enable_shared_from_this<session> {
public:
  session(boost::asio::ip::tcp::socket&& socket,
          std::shared_ptr<shared_state> shared);
  ~session();

  /// Starts serving; `reject` answers 503 and closes (too many connections).
  void run(bool reject);

private:
  using error_code = boost::beast::error_code;

  void wait_for_request();
  void read_header();
  void on_header(error_code err);
  void on_body(error_code err);
  void on_read_error(error_code err);
  void handle(request req);
  void push(response res);
  void complete(uint64_t seq, response res);
  void write_next();
  void on_write(error_code err);
  void shutdown();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<shared_state> shared_;
  const front_options& opts_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  /// Responses in request order; empty slots wait for the actors.
  std::deque<std::optional<response>> queue_;
  /// Sequence number of `queue_.front()`.
  uint64_t head_ = 0;
  bool reading_ = false;
  bool writing_ = false;
  /// No more requests will be read (client closed, error, or `close`).
  bool read_closed_ = false;
};

} // namespace duet::http
