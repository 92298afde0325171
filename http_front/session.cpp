#include "http_front/session.hpp"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include "actors/log.hpp"
#include "actors/text.hpp"

namespace duet::http {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr size_t header_limit = 16 * 1024;
constexpr size_t read_chunk = 4096;
constexpr auto write_timeout = std::chrono::seconds(30);

// Time the actors get past the front's own deadline (they answer 504 at
// front.request-timeout) before the session answers for them.
constexpr auto watchdog_grace = std::chrono::milliseconds(500);

std::string_view view(beast::string_view x) {
  return {x.data(), x.size()};
}

response unavailable(const std::string& why, unsigned version,
                     bool keep_alive) {
  auto res = error_response(bhttp::status::service_unavailable, why, version,
                            keep_alive);
  res.set(bhttp::field::retry_after, "1");
  return res;
}

response internal_error(unsigned version, bool keep_alive) {
  return error_response(bhttp::status::internal_server_error,
                        "internal error while handling this request (see "
                        "the front's log); other requests are not affected",
                        version, keep_alive);
}

} // namespace

/// Answers one slot of a session once: with the response `render` makes on
/// the session's strand, or with 503 if it is destroyed without being
/// called (the actor holding the callback died, or its message was dropped).
struct session::completion {
  completion(std::shared_ptr<session> s, uint64_t seq, unsigned version,
             bool keep_alive)
    : self(std::move(s)), seq(seq), version(version), keep_alive(keep_alive) {
    // nop
  }

  template <class Render>
  void operator()(Render render) {
    done = true;
    net::post(self->stream_.get_executor(),
              [self = self, seq = seq, version = version,
               keep_alive = keep_alive, render = std::move(render)]() mutable {
                try {
                  self->complete(seq, render());
                } catch (const std::exception& e) {
                  log::error("cannot render an answer: ", e.what());
                  self->complete(seq, internal_error(version, keep_alive));
                }
              });
  }

  ~completion() {
    if (done)
      return;
    net::post(self->stream_.get_executor(), [self = self, seq = seq,
                                             version = version,
                                             keep_alive = keep_alive] {
      self->complete(seq, unavailable("the front's actors dropped this "
                                      "request (restarting?); retry",
                                      version, keep_alive));
    });
  }

  std::shared_ptr<session> self;
  uint64_t seq;
  unsigned version;
  bool keep_alive;
  bool done = false;
};

session::session(net::ip::tcp::socket&& socket,
                 std::shared_ptr<shared_state> shared,
                 connection_table::id_type id)
  : stream_(std::move(socket)),
    shared_(std::move(shared)),
    opts_(shared_->ctx.opts),
    id_(id),
    watchdog_(stream_.get_executor()) {
  // nop
}

session::~session() {
  std::lock_guard<std::mutex> guard{shared_->mtx};
  shared_->table.remove(id_);
  shared_->sessions.erase(id_);
}

void session::run(const char* refusal) {
  net::dispatch(stream_.get_executor(), [self = shared_from_this(), refusal] {
    if (self->id_ == 0) {
      self->read_closed_ = true;
      self->push(unavailable(refusal, 11, false));
      return;
    }
    // A new connection must send its first header within header-timeout,
    // whether it sends a first byte or not.
    self->first_deadline_ = clock_type::now() + self->opts_.header_timeout;
    self->wait_for_request();
  });
}

void session::evict() {
  if (!in_header_ || !queue_.empty() || writing_)
    return; // busy since: it stays (uncounted) until it closes
  log::debug("closing a waiting connection to admit a new one");
  read_closed_ = true;
  shutdown();
}

void session::wait_for_request() {
  if (reading_ || read_closed_ || queue_.size() >= opts_.pipeline_limit)
    return;
  reading_ = true;
  in_header_ = true;
  update_waiting();
  if (buffer_.size() > 0) {
    read_header();
    return;
  }
  // Idle: wait for the first byte of the next request under the keep-alive
  // timeout, then give the client header-timeout for the whole header.
  if (first_deadline_)
    stream_.expires_at(*first_deadline_);
  else
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
  if (first_deadline_)
    stream_.expires_at(*first_deadline_);
  else
    stream_.expires_after(opts_.header_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = shared_from_this()](error_code err, size_t) {
                             self->on_header(err);
                           });
}

void session::on_header(error_code err) {
  in_header_ = false;
  update_waiting();
  if (err) {
    on_read_error(err);
    return;
  }
  first_deadline_.reset();
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
    writing_ = true;
    net::async_write(stream_, net::buffer(continue_line),
                     [self = shared_from_this(), read_body](error_code err,
                                                            size_t) {
                       self->writing_ = false;
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
  in_header_ = false;
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
  } else if (queue_.empty() && !writing_) {
    shutdown();
  }
}

void session::handle(request req) {
  if (!req.keep_alive())
    read_closed_ = true;
  auto slots = queue_.size();
  try {
    auto routed = route(req, shared_->ctx);
    if (auto res = std::get_if<response>(&routed))
      push(std::move(*res));
    else
      defer(req, std::get<deferred>(routed));
  } catch (const std::exception& e) {
    // The request's own slot, if `defer` made one, gets the 500; a 503 from
    // its dropped callback then finds the slot answered.
    log::error("unexpected exception on ", printable(view(req.method_string())),
               " ", printable(view(req.target()), 120), ": ", e.what());
    auto res = internal_error(req.version(), req.keep_alive());
    if (queue_.size() > slots)
      complete(head_ + slots, std::move(res));
    else
      push(std::move(res));
  }
}

void session::defer(request& req, deferred& job) {
  auto seq = head_ + queue_.size();
  auto version = req.version();
  auto keep_alive = req.keep_alive();
  auto deadline = clock_type::now() + opts_.request_timeout + watchdog_grace;
  if (job.kind == deferred::task)
    deadline += job.wait;
  queue_.push_back(slot{std::nullopt, deadline, version, keep_alive});
  update_waiting();
  arm_watchdog();
  auto done = std::make_shared<completion>(shared_from_this(), seq, version,
                                           keep_alive);
  auto& service = shared_->ctx.service;
  switch (job.kind) {
    case deferred::cluster:
      service.cluster([done, as_text = job.as_text](std::string doc) {
        (*done)([=, doc = std::move(doc)] {
          return render_cluster(doc, as_text, done->version, done->keep_alive);
        });
      });
      return;
    case deferred::task:
      service.task(job.task_id, job.wait,
                   [done, id = job.task_id](std::optional<task_view> view) {
                     (*done)([=, view = std::move(view)] {
                       return render_task(id, view, done->version,
                                          done->keep_alive);
                     });
                   });
      return;
    case deferred::submit:
    case deferred::verify:
      break;
  }
  auto started = clock_type::now();
  auto elapsed = [started] {
    return std::chrono::duration<double>(clock_type::now() - started).count();
  };
  if (job.kind == deferred::submit) {
    service.submit(std::move(job.req), [done,
                                        elapsed](expected<std::string> id) {
      (*done)([=, id = std::move(id)] {
        auto res = render_submitted(id, done->version, done->keep_alive);
        count_request(style::choreography, res, elapsed());
        return res;
      });
    });
    return;
  }
  service.verify(job.how, std::move(job.req),
                 [done, elapsed, how = job.how](expected<verdict> outcome) {
                   (*done)([=, outcome = std::move(outcome)] {
                     auto res = render(outcome, done->version,
                                       done->keep_alive);
                     count_request(how, res, elapsed(), &outcome);
                     return res;
                   });
                 });
}

void session::push(response res) {
  queue_.push_back(slot{std::move(res), {}, 11, false});
  update_waiting();
  write_next();
}

void session::complete(uint64_t seq, response res) {
  if (seq < head_ || seq - head_ >= queue_.size())
    return;
  auto& s = queue_[seq - head_];
  if (s.res)
    return;
  s.res = std::move(res);
  write_next();
}

void session::arm_watchdog() {
  std::optional<clock_type::time_point> next;
  for (auto& s : queue_)
    if (!s.res && (!next || s.deadline < *next))
      next = s.deadline;
  if (!next || (watchdog_armed_ && armed_for_ <= *next))
    return;
  watchdog_armed_ = true;
  armed_for_ = *next;
  watchdog_.expires_at(*next); // cancels an earlier wait
  watchdog_.async_wait(
    [weak = std::weak_ptr<session>{shared_from_this()}](error_code err) {
      auto self = weak.lock();
      if (!self || err == net::error::operation_aborted)
        return;
      self->watchdog_armed_ = false;
      self->on_watchdog();
    });
}

void session::on_watchdog() {
  auto now = clock_type::now();
  for (auto& s : queue_) {
    if (s.res || s.deadline > now)
      continue;
    log::warning("the actors did not answer a request in time; answering "
                 "503");
    s.res = unavailable("the front could not answer within "
                        "front.request-timeout (its actors are restarting "
                        "or overloaded); retry",
                        s.version, s.keep_alive);
  }
  write_next();
  arm_watchdog();
}

void session::write_next() {
  if (writing_ || queue_.empty() || !queue_.front().res)
    return;
  writing_ = true;
  auto& res = *queue_.front().res;
  if (read_closed_ && queue_.size() == 1 && res.keep_alive())
    res.keep_alive(false);
  stream_.expires_after(write_timeout);
  bhttp::async_write(stream_, res,
                     [self = shared_from_this()](error_code err, size_t) {
                       self->on_write(err);
                     });
}

void session::on_write(error_code err) {
  writing_ = false;
  if (err) {
    log::debug("write failed: ", err.message());
    read_closed_ = true;
    shutdown();
    return;
  }
  auto close = queue_.front().res->need_eof();
  queue_.pop_front();
  ++head_;
  if (close) {
    read_closed_ = true;
    shutdown();
    return;
  }
  update_waiting();
  write_next();
  wait_for_request();
  if (read_closed_ && queue_.empty() && !writing_)
    shutdown();
}

void session::update_waiting() {
  auto now_waiting = in_header_ && queue_.empty() && !writing_;
  if (now_waiting == waiting_ || id_ == 0)
    return;
  waiting_ = now_waiting;
  std::lock_guard<std::mutex> guard{shared_->mtx};
  if (waiting_)
    shared_->table.waiting(id_, clock_type::now());
  else
    shared_->table.busy(id_);
}

void session::shutdown() {
  error_code ignored;
  stream_.socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  stream_.socket().close(ignored);
}

} // namespace duet::http
