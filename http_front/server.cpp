#include "http_front/server.hpp"

#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/strand.hpp>

#include "actors/core/log.hpp"
#include "http_front/session.hpp"

namespace duet::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct server::impl {
  impl(front_options opts, std::string node, verify_service& service,
       front_keys keys)
    : ioc(static_cast<int>(opts.io_threads)),
      acceptor(net::make_strand(ioc)),
      shared(std::make_shared<shared_state>(std::move(opts), std::move(node),
                                            service, std::move(keys))) {
    shared->hashers = &hashers;
  }

  void accept() {
    acceptor.async_accept(net::make_strand(ioc),
                          [this](boost::beast::error_code err,
                                 tcp::socket socket) {
                            if (err == net::error::operation_aborted)
                              return;
                            if (err)
                              log::warning("accept failed: ", err.message());
                            else
                              admit(std::move(socket));
                            accept();
                          });
  }

  // Admits a connection through the connection table, closing a waiting
  // one to make room if a limit is reached.
  void admit(tcp::socket socket) {
    boost::beast::error_code err;
    auto client = socket.remote_endpoint(err).address().to_string();
    if (err)
      return; // already gone
    std::shared_ptr<connection> victim;
    std::shared_ptr<connection> fresh;
    connection_table::admission adm;
    {
      std::lock_guard<std::mutex> guard{shared->mtx};
      adm = shared->table.admit(client, std::chrono::steady_clock::now());
      if (adm.evict != 0) {
        if (auto i = shared->sessions.find(adm.evict);
            i != shared->sessions.end()) {
          victim = i->second.lock();
          shared->sessions.erase(i);
        }
      }
      fresh = make_connection(std::move(socket), shared, adm.id, tls.get());
      if (adm.id != 0)
        shared->sessions.emplace(adm.id, fresh);
    }
    if (victim)
      victim->evict();
    if (adm.id == 0)
      log::debug("refused a connection from ", client, ": ", adm.reason);
    fresh->run(adm.reason);
  }

  // Runs the io_context until it is stopped; an exception that escapes a
  // handler is logged and the thread goes on serving.
  void run_io() {
    for (;;) {
      try {
        ioc.run();
        return;
      } catch (const std::exception& e) {
        log::error("unexpected exception on an HTTP thread: ", e.what());
      } catch (...) {
        log::error("unexpected exception on an HTTP thread");
      }
    }
  }

  net::io_context ioc;
  tcp::acceptor acceptor;
  /// HTTPS (front.tls-certificate and front.tls-key); null: plain HTTP.
  std::unique_ptr<net::ssl::context> tls;
  std::shared_ptr<shared_state> shared;
  /// One thread hashes `textFile` documents (a document read from disk is
  /// hashed at disk speed; more threads would only contend for the disk).
  net::thread_pool hashers{1};
  std::vector<std::thread> threads;
};

server::server(front_options opts, std::string node, verify_service& service,
               front_keys keys)
  : impl_(std::make_unique<impl>(std::move(opts), std::move(node), service,
                                 std::move(keys))) {
  // nop
}

const front_options& server::options() const noexcept {
  return impl_->shared->ctx.opts;
}

void server::disable_api() {
  impl_->shared->ctx.api_enabled = false;
}

server::~server() {
  stop();
}

caf::expected<uint16_t> server::start() {
  auto& opts = impl_->shared->ctx.opts;
  if (!opts.tls_certificate.empty()) {
    auto ctx
      = std::make_unique<net::ssl::context>(net::ssl::context::tls_server);
    boost::system::error_code err;
    ctx->set_options(
      net::ssl::context::default_workarounds | net::ssl::context::no_sslv2
        | net::ssl::context::no_sslv3 | net::ssl::context::no_tlsv1
        | net::ssl::context::no_tlsv1_1,
      err);
    if (!err)
      ctx->use_certificate_chain_file(opts.tls_certificate, err);
    if (err)
      return caf::make_error(ec::invalid_config, "front.tls-certificate=\""
                                                   + opts.tls_certificate
                                                   + "\": " + err.message());
    ctx->use_private_key_file(opts.tls_key, net::ssl::context::pem, err);
    if (err)
      return caf::make_error(ec::invalid_config, "front.tls-key=\""
                                                   + opts.tls_key
                                                   + "\": " + err.message());
    impl_->tls = std::move(ctx);
  }
  auto where = "cannot listen on " + opts.http_host + ":"
               + std::to_string(opts.http_port) + ": ";
  boost::beast::error_code err;
  auto addr = net::ip::make_address(opts.http_host, err);
  if (err)
    return caf::make_error(ec::invalid_config, "front.http-host=\""
                                                 + opts.http_host
                                                 + "\": not an IP address");
  tcp::endpoint ep{addr, opts.http_port};
  auto& acc = impl_->acceptor;
  acc.open(ep.protocol(), err);
  if (!err)
    acc.set_option(net::socket_base::reuse_address(true), err);
  if (!err)
    acc.bind(ep, err);
  if (!err)
    acc.listen(net::socket_base::max_listen_connections, err);
  if (err)
    return caf::make_error(ec::invalid_config, where + err.message());
  impl_->accept();
  for (size_t i = 0; i < opts.io_threads; ++i)
    impl_->threads.emplace_back([this] { impl_->run_io(); });
  return acc.local_endpoint().port();
}

void server::stop() {
  if (!impl_)
    return;
  impl_->ioc.stop();
  for (auto& t : impl_->threads)
    if (t.joinable())
      t.join();
  impl_->threads.clear();
  // A document being hashed is finished; queued ones are dropped (their
  // sessions are gone with the io threads).
  impl_->hashers.stop();
  impl_->hashers.join();
}

} // namespace duet::http
