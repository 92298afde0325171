// duet-node: one process of a duet cluster. It runs the roles its config file
// names (front, verifier) and stops cleanly on SIGINT or SIGTERM.
//
//   duet-node --config-file=config/front.ini [--section.key=value ...]
//   duet-node --help
//
// On start it prints one line to stdout, `duet-node <name> ready: ...`, with
// the bound ports; bad configuration exits with 2, a start failure with 1.

#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <pthread.h>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/config.hpp"
#include "actors/crypto.hpp"
#include "actors/front.hpp"
#include "actors/log.hpp"
#include "actors/verifier.hpp"
#include "http_front/server.hpp"

namespace {

int fail(int code, const std::string& what) {
  std::cerr << "duet-node: error: " << what << std::endl;
  return code;
}

} // namespace

int main(int argc, char** argv) {
  // Block the stop signals before any thread starts; main waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  duet::node_config cfg;
  auto loaded = cfg.init(argc, argv);
  if (!loaded)
    return fail(2, loaded.error().message);
  if (!*loaded)
    return 0;
  auto& opts = cfg.opts;
  duet::log::init(opts.node.name, opts.node.log_level);

  std::shared_ptr<const duet::crypto::keyring> keys;
  if (opts.has_role("verifier")) {
    auto ring = duet::crypto::load_keyring(opts.verifier.keys);
    if (!ring)
      return fail(2, "verifier.keys: " + ring.error().message);
    keys = std::make_shared<duet::crypto::keyring>(std::move(*ring));
  }

  caf::actor_system sys{cfg};
  std::string ready = "duet-node " + opts.node.name + " ready:";
  duet::verifier_actor verifier;
  if (keys) {
    verifier = sys.spawn(duet::verifier, keys, opts.node.name + "/verifier-0");
    auto port = sys.middleman().publish(verifier, opts.node.port,
                                        opts.node.host.c_str(), true);
    if (!port) {
      caf::anon_send_exit(verifier, caf::exit_reason::user_shutdown);
      return fail(1, "node.port=" + std::to_string(opts.node.port)
                       + ": cannot publish on " + opts.node.host + ":"
                       + std::to_string(opts.node.port) + ": "
                       + sys.render(port.error()));
    }
    ready += " caf=" + opts.node.host + ":" + std::to_string(*port);
    duet::log::info("verifier published on ", opts.node.host, ":", *port,
                    " with keys: ", keys->size());
  }

  std::shared_ptr<duet::front_service> front;
  std::unique_ptr<duet::http::server> http;
  if (opts.has_role("front")) {
    front = duet::start_front(sys, opts.front);
    http = std::make_unique<duet::http::server>(opts.front, opts.node.name,
                                                *front);
    auto port = http->start();
    if (!port) {
      caf::anon_send_exit(front->router(), caf::exit_reason::user_shutdown);
      if (verifier)
        caf::anon_send_exit(verifier, caf::exit_reason::user_shutdown);
      return fail(1, port.error().message);
    }
    ready += " http=http://" + opts.front.http_host + ":"
             + std::to_string(*port);
    duet::log::info("HTTP front listening on ", opts.front.http_host, ":",
                    *port);
  }
  std::cout << ready << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  duet::log::info("stopping on signal ", sig);
  // Order matters: no new requests, then no actors, then the system goes.
  if (http)
    http->stop();
  if (front)
    caf::anon_send_exit(front->router(), caf::exit_reason::user_shutdown);
  if (verifier)
    caf::anon_send_exit(verifier, caf::exit_reason::user_shutdown);
  return 0;
}
