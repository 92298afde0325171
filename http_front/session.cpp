#include "http_front/session.hpp"

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <type_traits>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <nlohmann/json.hpp>

#include "actors/core/json_text.hpp"
#include "actors/core/limits.hpp"
#include "actors/core/log.hpp"
#include "actors/core/text.hpp"
#include "http_front/live.hpp"

namespace duet::http {

namespace net = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr size_t header_limit = 16 * 1024;
constexpr size_t read_chunk = 4096;
/// How often GET /api/events sends the cluster's state.
constexpr auto event_interval = std::chrono::milliseconds(500);

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

/// One accepted connection over `Stream` (beast::tcp_stream, or an
/// ssl_stream over one for HTTPS).
template <class Stream>
class session : public connection,
                public std::enable_shared_from_this<session<Stream>> {
public:
  using clock_type = std::chrono::steady_clock;

  static constexpr bool is_tls = !std::is_same_v<Stream, beast::tcp_stream>;

  /// `xs...`: the TLS context for HTTPS, nothing otherwise.
  template <class... Ts>
  session(boost::asio::ip::tcp::socket&& socket,
          std::shared_ptr<shared_state> shared, connection_table::id_type id,
          Ts&... xs)
    : stream_(std::move(socket), xs...),
      shared_(std::move(shared)),
      opts_(shared_->ctx.opts),
      id_(id),
      watchdog_(stream_.get_executor()) {
    // nop
  }

  ~session() override;

  /// Starts serving; a session with id 0 was refused: it answers 503 with
  /// `refusal` and closes.
  void run(const char* refusal) override;

  void evict() override {
    net::post(stream_.get_executor(),
              [self = this->shared_from_this()] { self->do_evict(); });
  }

  /// Answers slot `seq` with `res` unless it is answered already.
  void complete(uint64_t seq, response&& res);

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

  void do_evict();
  void start(const char* refusal);
  void wait_for_request();
  auto& lowest() {
    return beast::get_lowest_layer(stream_);
  }
  void read_header();
  void on_header(error_code err);
  void on_body(error_code err);
  void on_read_error(error_code err);
  void handle(request req);
  void defer(request& req, deferred& job);
  void stream_events(const request& req);
  void next_event();
  void send_event(caf::expected<cluster_view> view);
  static void dispatch(verify_service& service, deferred job,
                       std::shared_ptr<completion> done,
                       clock_type::time_point started);
  static void hash_then_dispatch(std::shared_ptr<shared_state> shared,
                                 deferred job, std::shared_ptr<completion> done,
                                 clock_type::time_point started);
  void push(response res);
  void arm_watchdog();
  void on_watchdog();
  void write_next();
  void on_write(error_code err);
  void update_waiting();
  void shutdown();

  Stream stream_;
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
  /// GET /api/events: the connection carries events until the client goes.
  struct event_stream {
    explicit event_stream(boost::asio::any_io_executor ex) : timer(ex) {
      // nop
    }
    boost::asio::steady_timer timer;
    /// The cluster as last sent, to report what changed.
    nlohmann::json last;
  };
  std::unique_ptr<event_stream> events_;
  /// Bytes of the event being written.
  std::string event_text_;
  /// Reported to the connection table as waiting.
  bool waiting_ = true;
  bool writing_ = false;
  /// No more requests will be read (client closed, error, or `close`).
  bool read_closed_ = false;
};

/// Answers one slot of a session once: with the response `render` makes on
/// the session's strand, or with 503 if it is destroyed without being
/// called (the actor holding the callback died, or its message was dropped).
template <class Stream>
struct session<Stream>::completion {
  completion(std::shared_ptr<session<Stream>> s, uint64_t seq, unsigned version,
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

  std::shared_ptr<session<Stream>> self;
  uint64_t seq;
  unsigned version;
  bool keep_alive;
  bool done = false;
};

template <class Stream>
session<Stream>::~session() {
  if (events_)
    --shared_->event_streams;
  std::lock_guard<std::mutex> guard{shared_->mtx};
  shared_->table.remove(id_);
  shared_->sessions.erase(id_);
}

template <class Stream>
void session<Stream>::run(const char* refusal) {
  net::dispatch(stream_.get_executor(), [self = this->shared_from_this(),
                                         refusal] {
    // A new connection must send its first header within header-timeout,
    // whether it sends a first byte or not (the TLS handshake included).
    self->first_deadline_ = clock_type::now() + self->opts_.header_timeout;
    if constexpr (is_tls) {
      self->lowest().expires_at(*self->first_deadline_);
      self->stream_.async_handshake(
        net::ssl::stream_base::server, [self, refusal](error_code err) {
          if (err) {
            log::debug("TLS handshake failed: ", err.message());
            self->shutdown();
            return;
          }
          self->start(refusal);
        });
    } else {
      self->start(refusal);
    }
  });
}

template <class Stream>
void session<Stream>::start(const char* refusal) {
  if (id_ == 0) {
    read_closed_ = true;
    push(unavailable(refusal, 11, false));
    return;
  }
  wait_for_request();
}

template <class Stream>
void session<Stream>::do_evict() {
  if (!in_header_ || !queue_.empty() || writing_)
    return; // busy since: it stays (uncounted) until it closes
  log::debug("closing a waiting connection to admit a new one");
  read_closed_ = true;
  shutdown();
}

template <class Stream>
void session<Stream>::wait_for_request() {
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
    lowest().expires_at(*first_deadline_);
  else
    lowest().expires_after(opts_.keep_alive_timeout);
  stream_.async_read_some(buffer_.prepare(read_chunk),
                          [self = this->shared_from_this()](error_code err,
                                                            size_t n) {
                            if (err) {
                              self->on_read_error(err);
                              return;
                            }
                            self->buffer_.commit(n);
                            self->read_header();
                          });
}

template <class Stream>
void session<Stream>::read_header() {
  parser_.emplace();
  parser_->header_limit(header_limit);
  parser_->body_limit(opts_.body_limit);
  if (first_deadline_)
    lowest().expires_at(*first_deadline_);
  else
    lowest().expires_after(opts_.header_timeout);
  bhttp::async_read_header(stream_, buffer_, *parser_,
                           [self = this->shared_from_this()](
                             error_code err, size_t) { self->on_header(err); });
}

template <class Stream>
void session<Stream>::on_header(error_code err) {
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
  auto read_body = [self = this->shared_from_this()] {
    self->lowest().expires_after(self->opts_.body_timeout);
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
    lowest().expires_after(opts_.write_timeout);
    writing_ = true;
    net::async_write(stream_, net::buffer(continue_line),
                     [self = this->shared_from_this(),
                      read_body](error_code err, size_t) {
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

template <class Stream>
void session<Stream>::on_body(error_code err) {
  if (err) {
    on_read_error(err);
    return;
  }
  reading_ = false;
  handle(parser_->release());
  wait_for_request();
}

template <class Stream>
void session<Stream>::on_read_error(error_code err) {
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

template <class Stream>
void session<Stream>::handle(request req) {
  if (!req.keep_alive())
    read_closed_ = true;
  auto slots = queue_.size();
  try {
    auto routed = route(req, shared_->ctx);
    if (auto res = std::get_if<response>(&routed))
      push(std::move(*res));
    else if (std::get<deferred>(routed).kind == deferred::events)
      stream_events(req);
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

template <class Stream>
void session<Stream>::defer(request& req, deferred& job) {
  auto seq = head_ + queue_.size();
  auto version = req.version();
  auto keep_alive = req.keep_alive();
  // The actors answer 504 at front.request-timeout; past front.answer-grace
  // more the session answers for them.
  auto deadline = clock_type::now() + opts_.request_timeout
                  + opts_.answer_grace;
  if (job.kind == deferred::task)
    deadline += job.wait;
  queue_.push_back(slot{std::nullopt, deadline, version, keep_alive});
  update_waiting();
  arm_watchdog();
  auto done = std::make_shared<completion>(this->shared_from_this(), seq,
                                           version, keep_alive);
  auto& service = shared_->ctx.service;
  switch (job.kind) {
    case deferred::cluster:
      service.cluster([done, as_text = job.as_text,
                       live = job.live](caf::expected<cluster_view> view) {
        (*done)([=, view = std::move(view)] {
          if (live)
            return render_live(view, done->version, done->keep_alive);
          return render_cluster(view, as_text, done->version, done->keep_alive);
        });
      });
      return;
    case deferred::task:
      service.task(job.task_id, job.wait,
                   [done, id = job.task_id](caf::expected<task_view> view) {
                     (*done)([=, view = std::move(view)] {
                       return render_task(id, view, done->version,
                                          done->keep_alive);
                     });
                   });
      return;
    case deferred::events:
      // `handle` streams these; a slot of one is answered rather than left.
      (*done)([done] { return internal_error(done->version, false); });
      return;
    case deferred::submit:
    case deferred::verify:
      break;
  }
  auto started = clock_type::now();
  if (job.document.empty()) {
    dispatch(service, std::move(job), std::move(done), started);
    return;
  }
  // A document: its digest from the cache if the file is unchanged (one
  // stat), else hashed on the front's hashing thread, never on this one.
  auto algo = crypto::parse_algorithm(job.req.algorithm);
  auto& docs = shared_->ctx.documents;
  if (algo)
    if (auto hit = docs.cached(job.document, *algo)) {
      job.req.digest = std::move(*hit);
      dispatch(service, std::move(job), std::move(done), started);
      return;
    }
  if (shared_->hashers == nullptr) {
    hash_then_dispatch(shared_, std::move(job), std::move(done), started);
    return;
  }
  net::post(*shared_->hashers, [shared = shared_, job = std::move(job),
                                done = std::move(done), started]() mutable {
    hash_then_dispatch(std::move(shared), std::move(job), std::move(done),
                       started);
  });
}

template <class Stream>
void session<Stream>::hash_then_dispatch(std::shared_ptr<shared_state> shared,
                                         deferred job,
                                         std::shared_ptr<completion> done,
                                         clock_type::time_point started) {
  auto algo = crypto::parse_algorithm(job.req.algorithm);
  auto digest = algo ? shared->ctx.documents.digest(
                  job.document, *algo, shared->ctx.opts.document_limit)
                     : caf::expected<std::string>{caf::make_error(
                       ec::unknown_key, "no algorithm pinned for the key")};
  if (!digest) {
    auto how = job.kind == deferred::submit ? style::choreography : job.how;
    (*done)([done, how, started, err = std::move(digest.error())] {
      auto res = error_response(err, done->version, done->keep_alive);
      count_request(
        how, res,
        std::chrono::duration<double>(clock_type::now() - started).count());
      return res;
    });
    return;
  }
  job.req.digest = std::move(*digest);
  dispatch(shared->ctx.service, std::move(job), std::move(done), started);
}

template <class Stream>
void session<Stream>::dispatch(verify_service& service, deferred job,
                               std::shared_ptr<completion> done,
                               clock_type::time_point started) {
  auto elapsed = [started] {
    return std::chrono::duration<double>(clock_type::now() - started).count();
  };
  if (job.kind == deferred::submit) {
    service.submit(
      std::move(job.req), [done, elapsed](caf::expected<std::string> id) {
        (*done)([=, id = std::move(id)] {
          auto res = render_submitted(id, done->version, done->keep_alive);
          count_request(style::choreography, res, elapsed());
          return res;
        });
      });
    return;
  }
  service.verify(
    job.how, std::move(job.req),
    [done, elapsed, how = job.how](caf::expected<verdict> outcome) {
      (*done)([=, outcome = std::move(outcome)] {
        auto res = render(outcome, done->version, done->keep_alive);
        count_request(how, res, elapsed(), &outcome);
        return res;
      });
    });
}

template <class Stream>
void session<Stream>::push(response res) {
  queue_.push_back(slot{std::move(res), {}, 11, false});
  update_waiting();
  write_next();
}

template <class Stream>
void session<Stream>::complete(uint64_t seq, response&& res) {
  if (seq < head_ || seq - head_ >= queue_.size())
    return;
  auto& s = queue_[seq - head_];
  if (s.res)
    return;
  s.res = std::move(res);
  write_next();
}

template <class Stream>
void session<Stream>::arm_watchdog() {
  std::optional<clock_type::time_point> next;
  for (auto& s : queue_)
    if (!s.res && (!next || s.deadline < *next))
      next = s.deadline;
  if (!next || (watchdog_armed_ && armed_for_ <= *next))
    return;
  watchdog_armed_ = true;
  armed_for_ = *next;
  watchdog_.expires_at(*next); // cancels an earlier wait
  watchdog_.async_wait([weak = std::weak_ptr<session<Stream>>{
                          this->shared_from_this()}](error_code err) {
    auto self = weak.lock();
    if (!self || err == net::error::operation_aborted)
      return;
    self->watchdog_armed_ = false;
    self->on_watchdog();
  });
}

template <class Stream>
void session<Stream>::on_watchdog() {
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

template <class Stream>
void session<Stream>::stream_events(const request& req) {
  if (!queue_.empty() || writing_) {
    push(error_response(bhttp::status::bad_request,
                        "GET /api/events must not be pipelined behind other "
                        "requests",
                        req.version(), false));
    read_closed_ = true;
    return;
  }
  if (++shared_->event_streams > limits::event_streams) {
    --shared_->event_streams;
    push(unavailable("too many event streams open on this front (at most "
                       + std::to_string(limits::event_streams)
                       + "); poll GET /api/live instead",
                     req.version(), false));
    read_closed_ = true;
    return;
  }
  // No more requests on this connection: it carries events (no length, so
  // it ends when either side closes it).
  read_closed_ = true;
  events_ = std::make_unique<event_stream>(stream_.get_executor());
  event_text_ = "HTTP/1.1 200 OK\r\n"
                "Content-Type: text/event-stream\r\n"
                "Cache-Control: no-store\r\n"
                "X-Accel-Buffering: no\r\n"
                "Connection: close\r\n\r\n"
                "retry: 1000\n\n";
  writing_ = true;
  update_waiting();
  lowest().expires_after(opts_.write_timeout);
  net::async_write(stream_, net::buffer(event_text_),
                   [self = this->shared_from_this()](error_code err, size_t) {
                     self->writing_ = false;
                     if (err) {
                       self->shutdown();
                       return;
                     }
                     self->next_event();
                   });
}

template <class Stream>
void session<Stream>::next_event() {
  // The service answers on an actor's thread; the event is written on the
  // session's. A query the actors drop (a restarting router) still gets an
  // event, with the error, so that the stream goes on.
  // It holds the session: nothing else does while the query is out.
  struct answer_once {
    std::shared_ptr<session<Stream>> self;
    bool done = false;
    void operator()(caf::expected<cluster_view> view) {
      done = true;
      auto ex = self->stream_.get_executor();
      net::post(ex, [self = std::move(self), view = std::move(view)]() mutable {
        self->send_event(std::move(view));
      });
    }
    ~answer_once() {
      if (!done)
        (*this)(caf::make_error(ec::unavailable,
                                "the front's actors dropped the query "
                                "(restarting?)"));
    }
  };
  auto once = std::make_shared<answer_once>();
  once->self = this->shared_from_this();
  shared_->ctx.service.cluster(
    [once](caf::expected<cluster_view> view) { (*once)(std::move(view)); });
}

template <class Stream>
void session<Stream>::send_event(caf::expected<cluster_view> view) {
  auto state = live_state(view);
  auto& cluster = state["cluster"];
  if (!cluster.contains("error")) {
    if (!events_->last.is_null())
      for (auto& c : cluster_changes(events_->last, cluster))
        state["changes"].push_back(std::move(c));
    events_->last = cluster;
  }
  event_text_ = "event: state\ndata: " + dump_json(state) + "\n\n";
  writing_ = true;
  lowest().expires_after(opts_.write_timeout);
  net::async_write(stream_, net::buffer(event_text_),
                   [self = this->shared_from_this()](error_code err, size_t) {
                     self->writing_ = false;
                     if (err) {
                       log::debug("event stream closed: ", err.message());
                       self->shutdown();
                       return;
                     }
                     self->lowest().expires_never();
                     self->events_->timer.expires_after(event_interval);
                     self->events_->timer.async_wait([self](error_code err) {
                       if (!err)
                         self->next_event();
                     });
                   });
}

template <class Stream>
void session<Stream>::write_next() {
  if (writing_ || queue_.empty() || !queue_.front().res)
    return;
  writing_ = true;
  auto& res = *queue_.front().res;
  if (read_closed_ && queue_.size() == 1 && res.keep_alive())
    res.keep_alive(false);
  lowest().expires_after(opts_.write_timeout);
  bhttp::async_write(stream_, res,
                     [self = this->shared_from_this()](error_code err, size_t) {
                       self->on_write(err);
                     });
}

template <class Stream>
void session<Stream>::on_write(error_code err) {
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

template <class Stream>
void session<Stream>::update_waiting() {
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

template <class Stream>
void session<Stream>::shutdown() {
  error_code ignored;
  lowest().socket().shutdown(net::ip::tcp::socket::shutdown_send, ignored);
  lowest().socket().close(ignored);
}

} // namespace

connection::~connection() {
  // nop
}

std::shared_ptr<connection>
make_connection(net::ip::tcp::socket&& socket,
                std::shared_ptr<shared_state> shared,
                connection_table::id_type id, net::ssl::context* tls) {
  if (tls != nullptr)
    return std::make_shared<session<beast::ssl_stream<beast::tcp_stream>>>(
      std::move(socket), std::move(shared), id, *tls);
  return std::make_shared<session<beast::tcp_stream>>(std::move(socket),
                                                      std::move(shared), id);
}

} // namespace duet::http
