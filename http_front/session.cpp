#include "http_front/session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "actors/log.hpp"

namespace duet::http {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr size_t header_limit = 16 * 1024;
constexpr size_t read_chunk = 4096;
constexpr auto write_timeout = std::chrono::seconds(30);

} // namespace

session::session(net::ip::tcp::socket&& socket,
                 std::shared_ptr<shared_state> shared)
  : stream_(std::move(socket)),
    shared_(std::move(shared)),
    opts_(shared_->ctx.opts) {
  ++shared_->connections;
}

session::~session() {
  --shared_->connections;
}

void session::run(bool reject) {
  net::dispatch(stream_.get_executor(), [self = shared_from_this(), reject] {
    if (reject) {
      self->read_closed_ = true;
      auto res
        = error_response(bhttp::status::service_unavailable,
                         "too many connections (front.max-connections); retry "
                         "later",
                         11, false);
      res.set(bhttp::field::retry_after, "1");
      self->push(std::move(res));
      return;
    }
    self->wait_for_request();
  });
}

void session::wait_for_request() {
  if (reading_ || read_closed_ || queue_.size() >= opts_.pipeline_limit)
    return;
  reading_ = true;
  if (buffer_.size() > 0) {
    read_header();
    return;
  }
  // Idle: wait for the first byte of the next request under the keep-alive
  // timeout, then give the client header-timeout for the whole header.
  stream_.expires_after(opts_.keep_alive_timeout);
  stream_.async_read_some(buffer_.prepare(read_chunk),
                          [self = shared_from_this()](error_code err,
                                                      size_t n) {
                            if (err) {
                              self->on_read_error(err);
                              return;
                            }
                            self->buffer_.commit(n);
                            self->read_header();
                          });
}

void session::read_header() {
  parser_.emplace();
  parser_->header_limit(header_limit);
  parser_->body_limit(opts_.body_limit);
  stream_.expires_after(opts_.header_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](error_code err, size_t) {
                             self->on_header(err);
                           });
}

void session::on_header(error_code err) {
  if (err) {
    on_read_error(err);
    return;
  }
  auto& req = parser_->get();
  if (auto len = parser_->content_length(); len && *len > opts_.body_limit) {
    on_read_error(bhttp::error::body_limit);
    return;
  }
  auto read_body = [self = shared_from_this()] {
    self->stream_.expires_after(self->opts_.body_timeout);
    bhttp::async_read(self->stream_, self->buffer_, *self->parser_,
                      [self](error_code err, size_t) { self->on_body(err); });
  };
  if (parser_->is_done()) {
    on_body({});
  } else if (beast::iequals(req[bhttp::field::expect], "100-continue")
             && !writing_ && queue_.empty()) {
    // Only while no response is being written: two writes must never
    // overlap on the socket. Otherwise the client sends the body anyway
    // after its own short wait.
    static const std::string continue_line = "HTTP/1.1 100 Continue\r\n\r\n";
    stream_.expires_after(write_timeout);
    net::async_write(stream_, net::buffer(continue_line),
                     [self = shared_from_this(), read_body](error_code err,
                                                            size_t) {
                       if (err)
                         self->on_read_error(err);
                       else
                         read_body();
                     });
  } else {
    read_body();
  }
}

void session::on_body(error_code err) {
  if (err) {
    on_read_error(err);
    return;
  }
  reading_ = false;
  handle(parser_->release());
  wait_for_request();
}

void session::on_read_error(error_code err) {
  reading_ = false;
  read_closed_ = true;
  auto version = parser_ ? parser_->get().version() : 11;
  if (err == bhttp::error::body_limit) {
    push(error_response(bhttp::status::payload_too_large,
                        "request body exceeds the limit of "
                          + std::to_string(opts_.body_limit)
                          + " bytes (front.body-limit)",
                        version, false));
  } else if (&err.category()
               == &bhttp::make_error_code(bhttp::error::bad_target).category()
             && err != bhttp::error::end_of_stream
             && err != bhttp::error::partial_message) {
    push(error_response(bhttp::status::bad_request,
                        "malformed HTTP request: " + err.message(), version,
                        false));
  } else if (queue_.empty()) {
    shutdown();
  }
}

void session::handle(request req) {
  if (!req.keep_alive())
    read_closed_ = true;
  auto routed = route(req, shared_->ctx);
  if (auto res = std::get_if<response>(&routed)) {
    push(std::move(*res));
    return;
  }
  auto seq = head_ + queue_.size();
  queue_.emplace_back();
  auto& job = std::get<deferred>(routed);
  auto version = req.version();
  auto keep_alive = req.keep_alive();
  if (job.kind == deferred::cluster) {
    shared_->ctx.service.cluster([self = shared_from_this(), seq, version,
                                  keep_alive, as_text = job.as_text](
                                   std::string doc) mutable {
      net::post(self->stream_.get_executor(), [self, seq, version, keep_alive,
                                               as_text, doc = std::move(doc)] {
        self->complete(seq, render_cluster(doc, as_text, version, keep_alive));
      });
    });
    return;
  }
  auto started = std::chrono::steady_clock::now();
  auto elapsed = [started] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now()
                                         - started)
      .count();
  };
  if (job.kind == deferred::submit) {
    shared_->ctx.service.submit(
      std::move(job.req), [self = shared_from_this(), seq, version, keep_alive,
                           elapsed](expected<std::string> id) mutable {
        net::post(self->stream_.get_executor(), [self, seq, version, keep_alive,
                                                 elapsed, id = std::move(id)] {
          auto res = render_submitted(id, version, keep_alive);
          count_request(style::choreography, res, elapsed());
          self->complete(seq, std::move(res));
        });
      });
    return;
  }
  if (job.kind == deferred::task) {
    shared_->ctx.service.task(
      job.task_id, job.wait,
      [self = shared_from_this(), seq, version, keep_alive,
       id = job.task_id](std::optional<task_view> view) mutable {
        net::post(self->stream_.get_executor(), [self, seq, version, keep_alive,
                                                 id = std::move(id),
                                                 view = std::move(view)] {
          self->complete(seq, render_task(id, view, version, keep_alive));
        });
      });
    return;
  }
  shared_->ctx.service.verify(
    job.how, std::move(job.req),
    [self = shared_from_this(), seq, version, keep_alive, elapsed,
     how = job.how](expected<verdict> outcome) mutable {
      // Called on an actor thread: hop back onto this session's strand.
      net::post(self->stream_.get_executor(),
                [self, seq, version, keep_alive, elapsed, how,
                 outcome = std::move(outcome)]() mutable {
                  auto res = render(outcome, version, keep_alive);
                  count_request(how, res, elapsed(), &outcome);
                  self->complete(seq, std::move(res));
                });
    });
}

void session::push(response res) {
  queue_.emplace_back(std::move(res));
  write_next();
}

void session::complete(uint64_t seq, response res) {
  queue_[seq - head_] = std::move(res);
  write_next();
}

void session::write_next() {
  if (writing_ || queue_.empty() || !queue_.front())
    return;
  writing_ = true;
  if (read_closed_ && queue_.size() == 1 && queue_.front()->keep_alive())
    queue_.front()->keep_alive(false);
  stream_.expires_after(write_timeout);
  bhttp::async_write(stream_, *queue_.front(),
                     [self = shared_from_this()](error_code err, size_t) {
                       self->on_write(err);
                     });
}

void session::on_write(error_code err) {
  writing_ = false;
  if (err) {
    log::debug("write failed: ", err.message());
    stream_.socket().close(err);
    return;
  }
  auto close = queue_.front()->need_eof();
  queue_.pop_front();
  ++head_;
  if (close) {
    shutdown();
    return;
  }
  write_next();
  wait_for_request();
  if (read_closed_ && queue_.empty())
    shutdown();
}

void session::shutdown() {
  error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

} // namespace duet::http
