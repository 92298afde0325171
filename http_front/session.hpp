#pragma once

// One HTTP connection: reads requests (pipelined up to a limit), hands
// verifications to the service, and writes responses in request order.
// Every request is answered: by the service, by a 500 if handling it threw,
// by a 503 if the service dropped its callback or did not call it in time.

#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>

#include "http_front/api.hpp"
#include "http_front/connections.hpp"

namespace duet::http {

class session;

/// Shared state of all sessions of one server.
struct shared_state {
  template <class... Ts>
  explicit shared_state(Ts&&... xs)
    : ctx(std::forward<Ts>(xs)...),
      table(ctx.opts.max_connections, ctx.opts.max_connections_per_client) {
    // nop
  }

  api_context ctx;
  /// Guards `table` and `sessions`.
  std::mutex mtx;
  connection_table table;
  /// The live sessions by connection id (to close an evicted one).
  std::unordered_map<connection_table::id_type, std::weak_ptr<session>>
    sessions;
};

/// One accepted connection.
class session : public std::enable_shared_from_this<session> {
public:
  using clock_type = std::chrono::steady_clock;

  session(boost::asio::ip::tcp::socket&& socket,
          std::shared_ptr<shared_state> shared, connection_table::id_type id);
  ~session();

  /// Starts serving; a session with id 0 was refused: it answers 503 with
  /// `refusal` and closes.
  void run(const char* refusal);

  /// Closes the connection to make room for a new one, unless a request
  /// arrived meanwhile (call on its strand).
  void evict();

  /// The strand of this connection.
  auto executor() {
    return stream_.get_executor();
  }

  /// Answers slot `seq` with `res` unless it is answered already.
  void complete(uint64_t seq, response res);

private:
  using error_code = boost::beast::error_code;

  struct completion;

  /// A response slot, in request order.
  struct slot {
    std::optional<response> res;
    /// Past this, a pending slot is answered 503 by the watchdog.
    clock_type::time_point deadline;
    unsigned version = 11;
    bool keep_alive = true;
  };

  void wait_for_request();
  void read_header();
  void on_header(error_code err);
  void on_body(error_code err);
  void on_read_error(error_code err);
  void handle(request req);
  void defer(request& req, deferred& job);
  void push(response res);
  void arm_watchdog();
  void on_watchdog();
  void write_next();
  void on_write(error_code err);
  void update_waiting();
  void shutdown();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::shared_ptr<shared_state> shared_;
  const front_options& opts_;
  connection_table::id_type id_;
  std::optional<bhttp::request_parser<bhttp::string_body>> parser_;
  /// Responses in request order; empty ones wait for the actors.
  std::deque<slot> queue_;
  /// Sequence number of `queue_.front()`.
  uint64_t head_ = 0;
  /// Answers slots whose service did not call back in time.
  boost::asio::steady_timer watchdog_;
  bool watchdog_armed_ = false;
  clock_type::time_point armed_for_;
  /// Until the first header is complete, it must arrive by this time.
  std::optional<clock_type::time_point> first_deadline_;
  bool reading_ = false;
  /// Reading a request header (or waiting for its first byte).
  bool in_header_ = false;
  /// Reported to the connection table as waiting.
  bool waiting_ = true;
  bool writing_ = false;
  /// No more requests will be read (client closed, error, or `close`).
  bool read_closed_ = false;
};

} // namespace duet::http
