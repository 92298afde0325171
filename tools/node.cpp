// duet-node: one process of a duet cluster. It runs the roles its config file
// names (front, verifier, supervisor, hub) and stops cleanly on SIGINT or
// SIGTERM.
//
//   duet-node --config-file=config/front.ini [--section.key=value ...]
//   duet-node --help
//
// On start it prints one line to stdout, `duet-node <name> ready: ...`, with
// the bound ports; bad configuration exits with 2, a start failure with 1, an
// actor that could not be kept alive (see actors/runtime/keeper.hpp) with 3.

#include <atomic>
#include <csignal>
#include <cstdio>
#include <exception>
#include <iostream>
#include <memory>
#include <pthread.h>
#include <thread>
#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/io/basp_broker.hpp>
#include <caf/io/middleman.hpp>
#include <caf/scoped_actor.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/core/log.hpp"
#include "actors/crypto/keyring.hpp"
#include "actors/front/front_service.hpp"
#include "actors/hub/hub.hpp"
#include "actors/node/config.hpp"
#include "actors/protocol/connect.hpp"
#include "actors/protocol/identity.hpp"
#include "actors/runtime/keeper.hpp"
#include "actors/supervisor/supervisor.hpp"
#include "actors/verifier/consumer.hpp"
#include "actors/verifier/node_agent.hpp"
#include "http_front/server.hpp"

namespace {

using duet::role;

int fail(int code, const std::string& what) {
  std::cerr << "duet-node: error: " << what << std::endl;
  return code;
}

// The service of nodes without a front role: their HTTP port only serves
// /healthz, /readyz and /metrics.
class no_front : public duet::verify_service {
public:
  void verify(duet::style, duet::verify_request, callback done) override {
    done(none());
  }
  void submit(duet::verify_request, submit_callback done) override {
    done(none());
  }
  void task(std::string, std::chrono::milliseconds,
            task_callback done) override {
    done(none());
  }
  void cluster(cluster_callback done) override {
    done(none());
  }
  const duet::front_status& status() const noexcept override {
    return status_;
  }

  duet::front_status& mutable_status() noexcept {
    return status_;
  }

private:
  static caf::error none() {
    return caf::make_error(duet::ec::no_verifier, "no front role on this node");
  }

  duet::front_status status_;
};

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

// A node being started: what its roles spawned, for the keeper, and what it
// prints once ready.
struct node {
  caf::actor_system& sys;
  const duet::options& opts;
  std::shared_ptr<const duet::node_identity> identity;
  /// Every long-lived actor of the node is kept (see runtime/keeper.hpp).
  std::vector<duet::kept_actor> kept;
  /// Spawned but not yet handed to the keeper: stopped on a failed start.
  std::vector<caf::actor> unkept;
  duet::verifier_node_impl agent;
  std::shared_ptr<duet::front_service> front;
  std::string ready;

  // Keeps `x` alive as long as it lives; the node exits if it dies.
  void watch(std::string name, const caf::actor& x, bool owned = true) {
    duet::kept_actor k{std::move(name), [x](caf::actor_system&) { return x; },
                       nullptr, 0};
    k.owned = owned;
    kept.push_back(std::move(k));
  }

  void stop_unkept() {
    for (auto& x : unkept)
      caf::anon_send_exit(x, caf::exit_reason::user_shutdown);
  }

  // Publishes `handle` on the node's CAF port (over TLS unless insecure).
  template <class Handle>
  caf::expected<uint16_t> publish(const Handle& handle) {
    auto& n = opts.node;
    auto port = duet::publish_actor(sys, handle, n.port, n.host);
    if (!port)
      return caf::make_error(
        duet::ec::invalid_config,
        "node.port=" + std::to_string(n.port) + ": cannot publish on " + n.host
          + ":" + std::to_string(n.port) + ": " + sys.render(port.error()));
    ready += " caf=" + n.host + ":" + std::to_string(*port);
    return port;
  }

  // The verifier role: the node agent with its instances, published, and
  // the choreography consumer if a hub is configured.
  caf::error start_verifier(std::shared_ptr<const duet::crypto::keyring> keys) {
    agent = sys.spawn(duet::node_agent, keys, opts.node, opts.verifier,
                      identity);
    unkept.push_back(caf::actor_cast<caf::actor>(agent));
    watch("node agent", caf::actor_cast<caf::actor>(agent));
    auto published = caf::actor_cast<duet::verifier_node_actor>(agent);
    auto port = publish(published);
    if (!port)
      return std::move(port.error());
    caf::anon_send(agent, duet::local::start{*port});
    if (!opts.choreography.hubs.empty())
      kept.push_back(
        {"consumer",
         [id = identity, published, local = opts.verifier,
          choreo = opts.choreography](caf::actor_system& sys) {
           return caf::actor_cast<caf::actor>(
             duet::start_consumer(sys, id, published, local, choreo));
         },
         nullptr, opts.node.keeper_intensity, opts.node.keeper_period});
    duet::log::info("verifier node published on port ", *port, " with ",
                    opts.verifier.instances, " instance(s) and ", keys->size(),
                    " key(s)");
    return {};
  }

  // The supervisor role: the registry, published.
  caf::error start_supervisor() {
    auto sup = sys.spawn(duet::supervisor, opts.supervisor, identity);
    unkept.push_back(caf::actor_cast<caf::actor>(sup));
    watch("supervisor", caf::actor_cast<caf::actor>(sup));
    auto port = publish(caf::actor_cast<duet::supervisor_actor>(sup));
    if (!port)
      return std::move(port.error());
    duet::log::info("supervisor published on port ", *port);
    return {};
  }

  // The hub role: the hub actor and its groups, published.
  caf::error start_hub() {
    auto hub = duet::start_hub(sys, identity);
    unkept.push_back(caf::actor_cast<caf::actor>(hub));
    watch("hub", caf::actor_cast<caf::actor>(hub));
    auto port = publish(hub);
    if (!port)
      return std::move(port.error());
    duet::log::info("hub: groups served on port ", *port);
    return {};
  }

  // The front role's actors (the HTTP server starts once they are kept).
  caf::error start_front() {
    front = std::make_shared<duet::front_service>(
      std::make_shared<duet::front_status>(), !opts.choreography.hubs.empty());
    front->shared_status()->plaintext = opts.tls.insecure;
    auto actors = duet::front_actors(front, opts, identity);
    if (!actors)
      return std::move(actors.error());
    for (auto& x : *actors)
      kept.push_back(std::move(x));
    return {};
  }
};

// Loads a key folder, naming the option on failure.
caf::expected<std::shared_ptr<const duet::crypto::keyring>>
load_keys(const std::string& option, const std::string& dir) {
  auto ring = duet::crypto::load_keyring(dir);
  if (!ring)
    return caf::make_error(duet::ec::invalid_config,
                           option + ": " + duet::message_of(ring.error()));
  return std::make_shared<const duet::crypto::keyring>(std::move(*ring));
}

// The HTTP server of a front (the API), or of another node with
// node.http-port (health and metrics only); null if neither.
caf::expected<std::unique_ptr<duet::http::server>>
start_http(const duet::options& opts, duet::verify_service& service,
           bool is_front, std::string& ready) {
  std::unique_ptr<duet::http::server> http;
  if (is_front) {
    duet::http::front_keys keys;
    auto pinned = load_keys("front.keys", opts.front.keys);
    if (!pinned)
      return std::move(pinned.error());
    keys.pinned = *pinned;
    if (!opts.front.inline_keys.empty()) {
      auto ring = load_keys("front.inline-keys", opts.front.inline_keys);
      if (!ring)
        return std::move(ring.error());
      keys.inline_baseline = *ring;
    }
    http = std::make_unique<duet::http::server>(opts.front, opts.node.name,
                                                service, std::move(keys));
  } else if (opts.node.http_port != 0) {
    auto f = opts.front;
    f.http_host = opts.node.host;
    f.http_port = opts.node.http_port;
    f.io_threads = 1;
    http = std::make_unique<duet::http::server>(f, opts.node.name, service);
    http->disable_api();
  } else {
    return http;
  }
  auto& f = http->options();
  auto port = http->start();
  if (!port) // a start failure (exit code 1), not a config error
    return caf::make_error(duet::ec::unavailable,
                           (is_front ? "front.http-port=" : "node.http-port=")
                             + std::to_string(f.http_port) + ": "
                             + duet::message_of(port.error()));
  if (is_front)
    duet::log::info("HTTP front listening on ", f.http_host, ":", *port);
  ready += " http=http://" + f.http_host + ":" + std::to_string(*port);
  return http;
}

// A node told to stop does stop. CAF 0.17's actor system waits, at its very
// end, for the thread of every detached actor, and such an actor lives as
// long as anything holds it: a front's task desk (detached with
// durability=fsync) that was reconnecting to a hub that had just stopped
// is held by the connect pending in CAF's middleman, which stops before
// that wait (measured: 2 of 6 stops hung forever). Past `grace` this logs
// and ends the process at once: every task answered 202 is in the store
// already, and its WAL survives an abrupt end as it survives a crash.
void exit_after(std::chrono::nanoseconds grace, int code) {
  std::thread{[grace, code] {
    std::this_thread::sleep_for(grace);
    duet::log::error(
      "stopping took longer than ",
      std::chrono::duration_cast<std::chrono::milliseconds>(grace).count(),
      " ms (2 x node.stop-timeout + 3 s); exiting without waiting for the "
      "rest");
    std::_Exit(code);
  }}.detach();
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
    return fail(2, duet::message_of(loaded.error()));
  if (!*loaded)
    return 0;
  auto& opts = cfg.opts;
  duet::log::init(opts.node.name, opts.node.log_level);
  std::shared_ptr<const duet::crypto::keyring> keys;
  if (opts.has_role(role::verifier)) {
    auto ring = load_keys("verifier.keys", opts.verifier.keys);
    if (!ring)
      return fail(2, duet::message_of(ring.error()));
    keys = *ring;
  }
  // The node's proof of its name, and the CA to check others' (TLS).
  auto identity = duet::load_identity(opts.node.name, opts.tls);
  if (!identity)
    return fail(2, "tls: " + duet::message_of(identity.error()));

  caf::actor_system sys{cfg};
  node n{sys, opts, *identity, {}, {}, {}, {}, ""};
  // CAF 0.17's network layer is an actor too; a message from a peer that
  // CAF itself cannot read (its deserializer throws on a bad variant tag)
  // ends it, and the node would stay up but deaf. It is watched: the node
  // exits instead, and its service manager restarts it. (It stops with the
  // actor system: not owned.)
  n.watch("network layer (CAF's BASP broker)",
          sys.middleman().named_broker<caf::io::basp_broker>(caf::atom("BASP")),
          false);
  caf::error err;
  if (opts.has_role(role::verifier))
    err = n.start_verifier(keys);
  if (!err && opts.has_role(role::supervisor))
    err = n.start_supervisor();
  if (!err && opts.has_role(role::hub))
    err = n.start_hub();
  if (!err && opts.has_role(role::front))
    err = n.start_front();
  if (err) {
    n.stop_unkept();
    return fail(1, duet::message_of(err));
  }
  auto keeper = duet::start_keeper(sys, std::move(n.kept), give_up);
  n.unkept.clear();
  auto stop_actors = [&] { caf::anon_send(keeper, duet::local::stop{}); };
  no_front stub; // outlives `http`, which refers to it
  stub.mutable_status().plaintext = opts.tls.insecure;
  duet::verify_service& service
    = n.front ? static_cast<duet::verify_service&>(*n.front) : stub;
  auto http = start_http(opts, service, static_cast<bool>(n.front), n.ready);
  if (!http) {
    stop_actors();
    return fail(is_code(http.error(), duet::ec::unavailable) ? 1 : 2,
                duet::message_of(http.error()));
  }
  if (opts.tls.insecure) {
    duet::log::warning(
      "tls.insecure=true: this node talks to others in PLAINTEXT, and any "
      "process that reaches its CAF port can join the cluster, send it "
      "messages and read its traffic. For tests only.");
    n.ready += " tls=off";
  } else {
    n.ready += " tls=" + opts.tls.proven_name;
  }
  std::cout << "duet-node " << opts.node.name << " ready:" << n.ready
            << std::endl;

  int sig = 0;
  sigwait(&stop_signals, &sig);
  if (gave_up)
    duet::log::error("stopping: an actor of this node could not be kept "
                     "alive (see above); exit code 3");
  else
    duet::log::info("stopping on signal ", sig);
  exit_after(2 * opts.node.stop_timeout + std::chrono::seconds(3),
             gave_up ? 3 : 0);
  // Order matters: no new requests, then no actors, then the system goes.
  if (*http)
    (*http)->stop();
  if (n.agent && !gave_up) {
    // Tell the supervisor this is a clean stop, not a failure (bounded).
    caf::scoped_actor blocking{sys};
    blocking
      ->request(n.agent, opts.node.stop_timeout, duet::local::deregister{})
      .receive([](bool) {}, [](const caf::error&) {});
  }
  stop_actors();
  // Actors may still hold callbacks of HTTP sessions: let them go while the
  // io_context the sessions belong to still exists.
  sys.await_all_actors_done();
  return gave_up ? 3 : 0;
}
