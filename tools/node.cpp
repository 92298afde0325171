// duet-node: one process of a duet cluster. It runs the roles its config file
// names (front, verifier, supervisor, hub) and stops cleanly on SIGINT or
// SIGTERM.
//
//   duet-node --config-file=config/front.ini [--section.key=value ...]
//   duet-node --help
//
// On start it prints one line to stdout, `duet-node <name> ready: ...`, with
// the bound ports; bad configuration exits with 2, a start failure with 1, an
// actor that could not be kept alive (see actors/keeper.hpp) with 3.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/config.hpp"
#include "actors/connect.hpp"
#include "actors/consumer.hpp"
#include "actors/crypto.hpp"
#include "actors/front.hpp"
#include "actors/groups.hpp"
#include "actors/identity.hpp"
#include "actors/keeper.hpp"
#include "actors/log.hpp"
#include "actors/node_agent.hpp"
#include "actors/supervisor.hpp"
#include "http_front/server.hpp"

namespace {

int fail(int code, const std::string& what) {
  std::cerr << "duet-node: error: " << what << std::endl;
  return code;
}

// The service of nodes without a front role: their HTTP port only serves
// /healthz, /readyz and /metrics.
class no_front : public duet::verify_service {
public:
  void verify(duet::style, duet::verify_request, callback done) override {
    done(duet::failure{duet::ec::no_verifier, "no front role on this node"});
  }
  void submit(duet::verify_request, submit_callback done) override {
    done(duet::failure{duet::ec::no_verifier, "no front role on this node"});
  }
  void task(std::string, std::chrono::milliseconds,
            task_callback done) override {
    done(std::nullopt);
  }
  void cluster(text_callback done) override {
    done("{}");
  }
  const duet::front_status& status() const noexcept override {
    return status_;
  }

  duet::front_status& mutable_status() noexcept {
    return status_;
  }

private:
  duet::front_status status_;
};

// Publishes `handle` on the node's CAF port (over TLS unless insecure);
// returns the port or 0.
template <class Handle>
uint16_t publish(caf::actor_system& sys, const duet::node_options& node,
                 const Handle& handle, std::string& error) {
  auto port = duet::publish_actor(sys, handle, node.port, node.host);
  if (!port) {
    error = "node.port=" + std::to_string(node.port) + ": cannot publish on "
            + node.host + ":" + std::to_string(node.port) + ": "
            + sys.render(port.error());
    return 0;
  }
  return *port;
}

// Set when the keeper gave up on an actor: the node exits with 3 so that
// its service manager restarts it.
std::atomic<bool> gave_up{false};

void give_up(const std::string&) {
  gave_up = true;
  kill(getpid(), SIGTERM);
}

// An exception that escapes a thread ends the process: say so clearly and
// exit with 3 (the keeper's code) so that the service manager restarts it.
[[noreturn]] void on_terminate() {
  std::string what = "unknown";
  if (auto ptr = std::current_exception()) {
    try {
      std::rethrow_exception(ptr);
    } catch (const std::exception& e) {
      what = e.what();
    } catch (...) {
      // unknown
    }
  }
  duet::log::error("fatal: an exception escaped a thread (", what,
                   "; CAF 0.17 throws so on a message from a peer it cannot "
                   "read); exit code 3");
  std::_Exit(3);
}

} // namespace

int main(int argc, char** argv) {
  std::set_terminate(on_terminate);
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

  // The node's proof of its name, and the CA to check others' (TLS).
  auto identity = duet::load_identity(opts.node.name, opts.tls);
  if (!identity)
    return fail(2, "tls: " + identity.error().message);

  caf::actor_system sys{cfg};
  std::string ready = "duet-node " + opts.node.name + " ready:";
  // Every long-lived actor of the node is kept (see actors/keeper.hpp).
  std::vector<duet::kept_actor> kept;
  auto watched = [](std::string name, const caf::actor& x) {
    return duet::kept_actor{std::move(name),
                            [x](caf::actor_system&) { return x; }, nullptr, 0};
  };
  // CAF 0.17's network layer is an actor too; a message from a peer that
  // CAF itself cannot read (its deserializer throws on a bad variant tag)
  // ends it, and the node would stay up but deaf. It is watched: the node
  // exits instead, and its service manager restarts it.
  kept.push_back(watched(
    "network layer (CAF's BASP broker)",
    sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP"))));
  kept.back().owned = false;      // it stops with the actor system
  std::vector<caf::actor> unkept; // spawned, not yet handed to the keeper
  auto stop_unkept = [&] {
    for (auto& x : unkept)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  };
  std::string error;
  duet::verifier_node_impl agent;
  if (keys) {
    agent = sys.spawn(duet::node_agent, keys, opts.node, opts.verifier,
                      *identity);
    unkept.push_back(caf::actor_cast<caf::actor>(agent));
    kept.push_back(watched("node agent", caf::actor_cast<caf::actor>(agent)));
    auto port = publish(
      sys, opts.node, caf::actor_cast<duet::verifier_node_actor>(agent), error);
    if (port == 0) {
      stop_unkept();
      return fail(1, error);
    }
    caf::anon_send(agent, duet::local::start{port});
    if (!opts.choreography.hub.empty()) {
      auto published = caf::actor_cast<duet::verifier_node_actor>(agent);
      kept.push_back({"consumer",
                      [id = *identity, published,
                       choreo = opts.choreography](caf::actor_system& sys) {
                        return duet::start_consumer(sys, id, published, choreo);
                      },
                      nullptr});
    }
    ready += " caf=" + opts.node.host + ":" + std::to_string(port);
    duet::log::info("verifier node published on ", opts.node.host, ":", port,
                    " with ", opts.verifier.instances, " instance(s) and ",
                    keys->size(), " key(s)");
  }
  if (opts.has_role("supervisor")) {
    auto sup = sys.spawn(duet::supervisor, opts.supervisor, *identity);
    unkept.push_back(caf::actor_cast<caf::actor>(sup));
    kept.push_back(watched("supervisor", caf::actor_cast<caf::actor>(sup)));
    auto port = publish(sys, opts.node,
                        caf::actor_cast<duet::supervisor_actor>(sup), error);
    if (port == 0) {
      stop_unkept();
      return fail(1, error);
    }
    ready += " caf=" + opts.node.host + ":" + std::to_string(port);
    duet::log::info("supervisor published on ", opts.node.host, ":", port);
  }

  if (opts.has_role("hub")) {
    auto server = duet::start_group_server(sys, *identity);
    unkept.push_back(caf::actor_cast<caf::actor>(server));
    kept.push_back(
      watched("group server", caf::actor_cast<caf::actor>(server)));
    auto port = publish(sys, opts.node, server, error);
    if (port == 0) {
      stop_unkept();
      return fail(1, error);
    }
    ready += " caf=" + opts.node.host + ":" + std::to_string(port);
    duet::log::info("hub: groups served on ", opts.node.host, ":", port);
  }

  no_front stub; // outlives `http`, which refers to it
  std::shared_ptr<duet::front_service> front;
  std::unique_ptr<duet::http::server> http;
  if (opts.has_role("front")) {
    front = std::make_shared<duet::front_service>(
      std::make_shared<duet::front_status>(), !opts.choreography.hub.empty());
    for (auto& x :
         duet::front_actors(front, opts.front, opts.choreography, *identity))
      kept.push_back(std::move(x));
  }
  stub.mutable_status().plaintext = opts.tls.insecure;
  if (front)
    front->shared_status()->plaintext = opts.tls.insecure;
  auto keeper = duet::start_keeper(sys, std::move(kept), give_up);
  unkept.clear();
  auto stop_actors = [&] { caf::anon_send(keeper, duet::local::stop{}); };
  if (front) {
    duet::http::front_keys keys;
    auto pinned = duet::crypto::load_keyring(opts.front.keys);
    if (!pinned) {
      stop_actors();
      return fail(2, "front.keys: " + pinned.error().message);
    }
    keys.pinned = std::make_shared<duet::crypto::keyring>(std::move(*pinned));
    if (!opts.front.inline_keys.empty()) {
      auto ring = duet::crypto::load_keyring(opts.front.inline_keys);
      if (!ring) {
        stop_actors();
        return fail(2, "front.inline-keys: " + ring.error().message);
      }
      keys.inline_baseline
        = std::make_shared<duet::crypto::keyring>(std::move(*ring));
    }
    http = std::make_unique<duet::http::server>(opts.front, opts.node.name,
                                                *front, std::move(keys));
    auto port = http->start();
    if (!port) {
      stop_actors();
      return fail(1, "front.http-port=" + std::to_string(opts.front.http_port)
                       + ": " + port.error().message);
    }
    ready += " http=http://" + opts.front.http_host + ":"
             + std::to_string(*port);
    duet::log::info("HTTP front listening on ", opts.front.http_host, ":",
                    *port);
  }
  if (!http && opts.node.http_port != 0) {
    auto f = opts.front;
    f.http_host = opts.node.host;
    f.http_port = opts.node.http_port;
    f.io_threads = 1;
    http = std::make_unique<duet::http::server>(f, opts.node.name, stub);
    http->disable_api();
    auto port = http->start();
    if (!port) {
      stop_actors();
      return fail(1, "node.http-port=" + std::to_string(opts.node.http_port)
                       + ": " + port.error().message);
    }
    ready += " http=http://" + opts.node.host + ":" + std::to_string(*port);
  }
  if (opts.tls.insecure) {
    duet::log::warning(
      "tls.insecure=true: this node talks to others in PLAINTEXT, and any "
      "process that reaches its CAF port can join the cluster, send it "
      "messages and read its traffic. For tests only.");
    ready += " tls=off";
  } else {
    ready += " tls=" + opts.tls.proven_name;
  }
  std::cout << ready << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  if (gave_up)
    duet::log::error("stopping: an actor of this node could not be kept "
                     "alive (see above); exit code 3");
  else
    duet::log::info("stopping on signal ", sig);
  // Order matters: no new requests, then no actors, then the system goes.
  if (http)
    http->stop();
  if (agent && !gave_up) {
    // Tell the supervisor this is a clean stop, not a failure (bounded).
    caf::scoped_actor blocking{sys};
    blocking->request(agent, std::chrono::seconds(1), duet::local::deregister{})
      .receive([](bool) {}, [](const caf::error&) {});
  }
  stop_actors();
  // Actors may still hold callbacks of HTTP sessions: let them go while the
  // io_context the sessions belong to still exists.
  sys.await_all_actors_done();
  return gave_up ? 3 : 0;
}
