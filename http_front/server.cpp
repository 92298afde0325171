#include "http_front/server.hpp"

#include <thread>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/strand.hpp>

#include "actors/log.hpp"
#include "http_front/session.hpp"

namespace duet::http {

namespace net = boost::asio;
using tcp = net::ip::tcp;

struct server::impl {
  impl(front_options opts, std::string node, verify_service& service,
       std::shared_ptr<const crypto::keyring> inline_keys)
    : ioc(static_cast<int>(opts.io_threads)),
      acceptor(net::make_strand(ioc)),
      shared(std::make_shared<shared_state>(std::move(opts), std::move(node),
                                            service, std::move(inline_keys))) {
    // nop
  }

  void accept() {
    acceptor.async_accept(
      net::make_strand(ioc),
      [this](boost::beast::error_code err, tcp::socket socket) {
        if (err == net::error::operation_aborted)
          return;
        if (err) {
          log::warning("accept failed: ", err.message());
        } else {
          auto reject = shared->connections.load()
                        >= shared->ctx.opts.max_connections;
          std::make_shared<session>(std::move(socket), shared)->run(reject);
        }
        accept();
      });
  }

  net::io_context ioc;
  tcp::acceptor acceptor;
  std::shared_ptr<shared_state> shared;
  std::vector<std::thread> threads;
};

server::server(front_options opts, std::string node, verify_service& service,
               std::shared_ptr<const crypto::keyring> inline_keys)
  : impl_(std::make_unique<impl>(std::move(opts), std::move(node), service,
                                 std::move(inline_keys))) {
  // nop
}

void server::disable_api() {
  impl_->shared->ctx.api_enabled = false;
}

server::~server() {
  stop();
}

expected<uint16_t> server::start() {
  auto& opts = impl_->shared->ctx.opts;
  auto where = "cannot listen on " + opts.http_host + ":"
               + std::to_string(opts.http_port) + ": ";
  boost::beast::error_code err;
  auto addr = net::ip::make_address(opts.http_host, err);
  if (err)
    return failure{ec::invalid_config, "front.http-host=\"" + opts.http_host
                                         + "\": not an IP address"};
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
    return failure{ec::invalid_config, where + err.message()};
  impl_->accept();
  for (size_t i = 0; i < opts.io_threads; ++i)
    impl_->threads.emplace_back([this] { impl_->ioc.run(); });
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
}

} // namespace duet::http
