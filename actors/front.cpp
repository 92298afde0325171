#include "actors/front.hpp"

#include <chrono>
#include <optional>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/fwd.hpp"
#include "actors/log.hpp"

namespace duet {

namespace {

using clock_type = std::chrono::steady_clock;

/// A verifier node the front talks to.
struct peer {
  std::string host;
  uint16_t port = 0;
  /// Invalid while disconnected.
  verifier_actor handle;
  bool connecting = false;
  uint64_t served = 0;

  std::string address() const {
    return host + ":" + std::to_string(port);
  }
};

/// A request in progress.
struct job {
  verify_request req;
  verify_service::callback done;
  clock_type::time_point deadline;
  /// Incremented per try; answers to an older try are stale.
  uint32_t attempt = 0;
  /// Index of the peer of the current try.
  size_t peer = 0;
};

struct router_state {
  static inline const char* name = "front";

  explicit router_state(caf::stateful_actor<router_state>* ptr) : self(ptr) {
    // nop
  }

  caf::stateful_actor<router_state>* self;
  front_options opts;
  std::shared_ptr<front_status> status;
  std::vector<peer> peers;
  size_t next_peer = 0;
  std::unordered_map<uint64_t, job> jobs;
  uint64_t next_job = 0;

  void connect(size_t i) {
    auto& p = peers[i];
    if (p.handle || p.connecting)
      return;
    p.connecting = true;
    auto mm = self->system().middleman().actor_handle();
    self
      ->request(mm, opts.connect_timeout, caf::connect_atom::value, p.host,
                p.port)
      .then(
        [this, i](const caf::node_id&, caf::strong_actor_ptr& ptr,
                  const std::set<std::string>& ifs) {
          on_connected(i, std::move(ptr), ifs);
        },
        [this, i](const caf::error& err) {
          peers[i].connecting = false;
          log::debug("cannot reach verifier ", peers[i].address(), ": ",
                     self->system().render(err));
          retry_connect(i);
        });
  }

  void retry_connect(size_t i) {
    self->delayed_send(self, opts.reconnect_interval, reconnect_atom::value,
                       static_cast<uint64_t>(i));
  }

  void on_connected(size_t i, caf::strong_actor_ptr ptr,
                    const std::set<std::string>& ifs) {
    auto& p = peers[i];
    p.connecting = false;
    if (!ptr || ifs != self->system().message_types<verifier_actor>()) {
      log::warning(p.address(), " does not publish a verifier actor");
      retry_connect(i);
      return;
    }
    p.handle = caf::actor_cast<verifier_actor>(std::move(ptr));
    self->monitor(p.handle);
    update_status();
    log::info("connected to verifier node ", p.address());
  }

  void on_down(const caf::down_msg& msg) {
    for (size_t i = 0; i < peers.size(); ++i) {
      auto& p = peers[i];
      if (!p.handle || p.handle.address() != msg.source)
        continue;
      log::warning("verifier node ", p.address(), " is down: ",
                   self->system().render(msg.reason));
      p.handle = nullptr;
      update_status();
      // CAF does not fail requests to an actor that died: move them now.
      std::vector<uint64_t> orphans;
      for (auto& [id, j] : jobs)
        if (j.peer == i)
          orphans.push_back(id);
      for (auto id : orphans)
        dispatch(id);
      retry_connect(i);
    }
  }

  void update_status() {
    size_t up = 0;
    for (auto& p : peers)
      if (p.handle)
        ++up;
    status->verifiers_up = up;
  }

  static constexpr size_t none = static_cast<size_t>(-1);

  // Picks the next connected peer in round-robin order, preferring one other
  // than `avoid`.
  std::optional<size_t> pick(size_t avoid) {
    std::optional<size_t> fallback;
    for (size_t n = 0; n < peers.size(); ++n) {
      auto i = (next_peer + n) % peers.size();
      if (!peers[i].handle)
        continue;
      if (i == avoid) {
        fallback = i;
        continue;
      }
      next_peer = i + 1;
      return i;
    }
    return fallback;
  }

  void accept(front_job& fj) {
    auto id = next_job++;
    auto& j = jobs[id];
    j.req = std::move(fj.req);
    j.done = std::move(fj.done);
    j.deadline = clock_type::now() + opts.request_timeout;
    status->in_flight = jobs.size();
    dispatch(id);
  }

  void dispatch(uint64_t id) {
    auto& j = jobs[id];
    auto now = clock_type::now();
    if (now >= j.deadline) {
      finish(id, failure{ec::deadline_exceeded,
                         "no verifier answered within the request deadline"});
      return;
    }
    auto i = pick(j.attempt > 0 ? j.peer : none);
    if (!i) {
      finish(id, failure{ec::no_verifier,
                         "no verifier is reachable (0 of "
                           + std::to_string(peers.size()) + " connected)"});
      return;
    }
    j.peer = *i;
    auto attempt = ++j.attempt;
    auto timeout = std::min<clock_type::duration>(j.deadline - now,
                                                  opts.attempt_timeout);
    self->request(peers[*i].handle, timeout, verify_atom::value, j.req)
      .then(
        [this, id, attempt](verdict& v) {
          if (current(id, attempt)) {
            ++peers[jobs[id].peer].served;
            finish(id, std::move(v));
          }
        },
        [this, id, attempt](const caf::error& err) {
          if (!current(id, attempt))
            return;
          if (!is_transport_error(err)) {
            finish(id, to_failure(err));
            return;
          }
          log::warning("try ", attempt, " on ",
                       peers[jobs[id].peer].address(),
                       " failed: ", self->system().render(err));
          dispatch(id);
        });
  }

  bool current(uint64_t id, uint32_t attempt) {
    auto i = jobs.find(id);
    return i != jobs.end() && i->second.attempt == attempt;
  }

  void finish(uint64_t id, expected<verdict> outcome) {
    auto i = jobs.find(id);
    auto done = std::move(i->second.done);
    jobs.erase(i);
    status->in_flight = jobs.size();
    done(std::move(outcome));
  }

  ~router_state() {
    for (auto& kvp : jobs)
      kvp.second.done(failure{ec::no_verifier, "the front is shutting down"});
  }
};

caf::behavior router(caf::stateful_actor<router_state>* self,
                     front_options opts, std::shared_ptr<front_status> st) {
  auto& s = self->state;
  s.opts = std::move(opts);
  s.status = std::move(st);
  for (auto& address : s.opts.verifiers) {
    auto colon = address.rfind(':');
    peer p;
    p.host = address.substr(0, colon);
    p.port = static_cast<uint16_t>(std::stoul(address.substr(colon + 1)));
    s.peers.push_back(std::move(p));
  }
  s.status->verifiers_known = s.peers.size();
  self->set_down_handler([self](caf::down_msg& msg) { self->state.on_down(msg); });
  for (size_t i = 0; i < s.peers.size(); ++i)
    s.connect(i);
  return {
    [self](job_atom, front_job& fj) { self->state.accept(fj); },
    [self](reconnect_atom, uint64_t i) { self->state.connect(i); },
  };
}

} // namespace

front_service::front_service(caf::actor router,
                             std::shared_ptr<front_status> status)
  : router_(std::move(router)), status_(std::move(status)) {
  // nop
}

void front_service::verify(style how, verify_request req, callback done) {
  caf::anon_send(router_, job_atom::value,
                 front_job{how, std::move(req), std::move(done)});
}

const front_status& front_service::status() const noexcept {
  return *status_;
}

std::shared_ptr<front_service> start_front(caf::actor_system& sys,
                                           const front_options& opts) {
  auto status = std::make_shared<front_status>();
  auto handle = sys.spawn(router, opts, status);
  return std::make_shared<front_service>(std::move(handle), std::move(status));
}

} // namespace duet
