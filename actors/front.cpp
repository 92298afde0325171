#include "actors/front.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/cluster_view.hpp"
#include "actors/fwd.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include "actors/pool.hpp"
#include "actors/task_desk.hpp"

namespace duet {

namespace {

using clock_type = std::chrono::steady_clock;

/// A request in progress.
struct job {
  verify_request req;
  verify_service::callback done;
  clock_type::time_point deadline;
  style how = style::direct;
  /// Incremented per try; answers to an older try are stale.
  uint32_t attempt = 0;
  /// Instance of the current try.
  std::string target;
};

struct router_state {
  static inline const char* name = "front";

  explicit router_state(caf::stateful_actor<router_state>* ptr) : self(ptr) {
    // nop
  }

  caf::stateful_actor<router_state>* self;
  front_options opts;
  std::string node_name;
  std::shared_ptr<front_status> status;
  caf::actor desk;
  style default_style = style::direct;
  std::array<pool, 2> pools;
  supervisor_actor supervisor;
  bool supervisor_connecting = false;
  std::optional<registry> last_registry;
  std::unordered_map<uint64_t, job> jobs;
  uint64_t next_job = 0;

  static constexpr int32_t index(style how) {
    return static_cast<int32_t>(how);
  }

  pool& pool_of(style how) {
    return pools[index(how)];
  }

  // -- nodes and instances ----------------------------------------------------

  void connect_node(style how, const std::string& address) {
    auto node = pool_of(how).node(address);
    if (node == nullptr || node->agent || node->connecting)
      return;
    node->connecting = true;
    auto mm = self->system().middleman().actor_handle();
    self
      ->request(mm, opts.connect_timeout, caf::connect_atom::value, node->host,
                node->port)
      .then(
        [this, how, address](const caf::node_id&, caf::strong_actor_ptr& ptr,
                             const std::set<std::string>& ifs) {
          auto node = pool_of(how).node(address);
          if (node == nullptr)
            return;
          node->connecting = false;
          if (!ptr
              || ifs != self->system().message_types<verifier_node_actor>()) {
            log::warning(address, " does not publish a verifier node");
            retry_node(how, address);
            return;
          }
          node->agent = caf::actor_cast<verifier_node_actor>(std::move(ptr));
          self->monitor(node->agent);
          log::info("connected to verifier node ", address, " (",
                    to_string(how), ")");
          fetch(how, address);
        },
        [this, how, address](const caf::error& err) {
          if (auto node = pool_of(how).node(address))
            node->connecting = false;
          log::debug("cannot reach verifier node ", address, ": ",
                     self->system().render(err));
          retry_node(how, address);
        });
  }

  void retry_node(style how, const std::string& address) {
    self->delayed_send(self, opts.reconnect_interval, reconnect_atom::value,
                       index(how), address);
  }

  // Asks the node's agent for its instances and syncs the pool with them.
  void fetch(style how, const std::string& address) {
    auto node = pool_of(how).node(address);
    if (node == nullptr || !node->agent)
      return;
    self->request(node->agent, opts.connect_timeout, caf::get_atom::value)
      .then(
        [this, how, address](std::vector<instance_info>& list) {
          sync(how, address, list);
        },
        [this, address](const caf::error& err) {
          log::warning("cannot list the instances of ", address, ": ",
                       self->system().render(err));
        });
  }

  void sync(style how, const std::string& address,
            std::vector<instance_info>& list) {
    auto& p = pool_of(how);
    for (size_t i = p.instances.size(); i-- > 0;) {
      auto& x = p.instances[i];
      if (x.node != address)
        continue;
      auto alive = std::any_of(list.begin(), list.end(), [&](auto& info) {
        return info.name == x.name && info.handle == x.handle;
      });
      if (!alive)
        remove_instance(how, x.name);
    }
    for (auto& info : list) {
      if (p.find(info.name) != nullptr)
        continue;
      self->monitor(info.handle);
      p.instances.push_back({info.name, address, info.handle, "up", 0});
      if (auto st = state_in_registry(how, info.name))
        p.instances.back().state = *st;
      log::info("using verifier instance ", info.name, " (", to_string(how),
                ")");
    }
    update_status();
  }

  std::optional<std::string> state_in_registry(style how,
                                               const std::string& name) {
    if (how != style::orchestration || !last_registry)
      return std::nullopt;
    for (auto& n : last_registry->nodes)
      for (auto& x : n.instances)
        if (x.name == name)
          return x.state;
    return std::nullopt;
  }

  void remove_instance(style how, const std::string& name) {
    auto& p = pool_of(how);
    auto i = std::find_if(p.instances.begin(), p.instances.end(),
                          [&](auto& x) { return x.name == name; });
    if (i == p.instances.end())
      return;
    p.instances.erase(i);
    // CAF does not fail requests to an actor that died: move them now.
    std::vector<uint64_t> orphans;
    for (auto& [id, j] : jobs)
      if (j.how == how && j.target == name)
        orphans.push_back(id);
    for (auto id : orphans)
      dispatch(id);
    update_status();
  }

  void on_down(const caf::down_msg& msg) {
    if (supervisor && msg.source == supervisor.address()) {
      log::warning("supervisor ", opts.supervisor,
                   " is down; serving with the last known instances");
      supervisor = nullptr;
      retry_supervisor();
      return;
    }
    for (auto how : {style::direct, style::orchestration}) {
      auto& p = pool_of(how);
      for (auto& node : p.nodes) {
        if (!node.agent || node.agent.address() != msg.source)
          continue;
        log::warning("verifier node ", node.address, " is down (",
                     to_string(how), "): ", self->system().render(msg.reason));
        metrics::failure_detections("front", "node").Increment();
        node.agent = nullptr;
        auto address = node.address;
        std::vector<std::string> names;
        for (auto& x : p.instances)
          if (x.node == address)
            names.push_back(x.name);
        for (auto& name : names)
          remove_instance(how, name);
        retry_node(how, address);
        break;
      }
      for (auto& x : p.instances) {
        if (x.handle.address() != msg.source)
          continue;
        log::warning("verifier instance ", x.name, " is down: ",
                     self->system().render(msg.reason));
        metrics::failure_detections("front", "instance").Increment();
        auto address = x.node;
        remove_instance(how, x.name);
        // The supervisor may restart it; look again shortly.
        self->delayed_send(self, opts.reconnect_interval, fetch_atom::value,
                           index(how), address);
        break;
      }
    }
  }

  void update_status() {
    // The choreography style has no pool: the front does not know its
    // verifiers. Report the pool of the style requests use otherwise.
    auto how = default_style == style::choreography ? style::orchestration
                                                    : default_style;
    status->verifiers_up = pool_of(how).nodes_up();
    status->verifiers_known = pool_of(how).nodes.size();
  }

  // -- supervisor ---------------------------------------------------------------

  void connect_supervisor() {
    if (opts.supervisor.empty() || supervisor || supervisor_connecting)
      return;
    std::string host;
    uint16_t port = 0;
    split_address(opts.supervisor, host, port);
    supervisor_connecting = true;
    auto mm = self->system().middleman().actor_handle();
    self
      ->request(mm, opts.connect_timeout, caf::connect_atom::value, host, port)
      .then(
        [this](const caf::node_id&, caf::strong_actor_ptr& ptr,
               const std::set<std::string>& ifs) {
          supervisor_connecting = false;
          if (!ptr || ifs != self->system().message_types<supervisor_actor>()) {
            log::warning(opts.supervisor, " does not publish a supervisor");
            retry_supervisor();
            return;
          }
          supervisor = caf::actor_cast<supervisor_actor>(std::move(ptr));
          self->monitor(supervisor);
          self
            ->request(supervisor, opts.connect_timeout, subscribe_atom::value,
                      caf::actor{self})
            .then([this](registry& reg) { on_registry(reg); },
                  [this](const caf::error& err) {
                    log::warning("cannot subscribe to the supervisor: ",
                                 self->system().render(err));
                  });
          log::info("connected to supervisor ", opts.supervisor);
        },
        [this](const caf::error& err) {
          supervisor_connecting = false;
          log::debug("cannot reach supervisor ", opts.supervisor, ": ",
                     self->system().render(err));
          retry_supervisor();
        });
  }

  void retry_supervisor() {
    self->delayed_send(self, opts.reconnect_interval, tick_atom::value);
  }

  // Applies a registry pushed by the supervisor. Instances the registry does
  // not list are kept: a supervisor that just restarted knows less than the
  // front, and the front's own monitors catch instances that die.
  void on_registry(registry& reg) {
    auto& p = pool_of(style::orchestration);
    for (auto& n : reg.nodes) {
      auto& node = p.add_node(n.address, false);
      if (n.state == "up" && !node.agent)
        connect_node(style::orchestration, n.address);
      auto missing = false;
      for (auto& view : n.instances) {
        if (auto x = p.find(view.name))
          x->state = view.state;
        else if (view.state == "up")
          missing = true;
      }
      if (missing && node.agent)
        fetch(style::orchestration, n.address);
    }
    last_registry = std::move(reg);
    update_status();
  }

  bool in_registry(const std::string& address) const {
    if (!last_registry)
      return false;
    for (auto& n : last_registry->nodes)
      if (n.address == address)
        return true;
    return false;
  }

  // -- jobs -------------------------------------------------------------------

  void accept(front_job& fj) {
    auto id = next_job++;
    auto& j = jobs[id];
    j.req = std::move(fj.req);
    j.done = std::move(fj.done);
    j.how = fj.how;
    j.deadline = clock_type::now() + opts.request_timeout;
    status->in_flight = jobs.size();
    metrics::in_flight().Set(static_cast<double>(jobs.size()));
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
    auto& p = pool_of(j.how);
    auto target = p.pick(j.attempt > 0 ? j.target : std::string{});
    if (target == nullptr) {
      auto why = j.how == style::orchestration && opts.supervisor.empty()
                   ? "the orchestration style is not configured on this "
                     "front (set front.supervisor)"
                 : j.how == style::direct && opts.verifiers.empty()
                   ? "the direct style is not configured on this front "
                     "(set front.verifiers)"
                   : "no verifier is reachable (0 of "
                       + std::to_string(p.nodes.size()) + " nodes up)";
      finish(id, failure{ec::no_verifier, why});
      return;
    }
    if (j.how == style::orchestration)
      log::debug("Service instance: ", target->name);
    j.target = target->name;
    ++target->in_flight;
    auto attempt = ++j.attempt;
    auto timeout = std::min<clock_type::duration>(j.deadline - now,
                                                  opts.attempt_timeout);
    auto how = j.how;
    auto name = target->name;
    self->request(target->handle, timeout, verify_atom::value, j.req)
      .then(
        [this, id, attempt, how, name](verdict& v) {
          settle(how, name);
          if (!current(id, attempt))
            return;
          ++pool_of(how).served_by[name];
          finish(id, std::move(v));
        },
        [this, id, attempt, how, name](const caf::error& err) {
          settle(how, name);
          if (!current(id, attempt))
            return;
          if (!is_transport_error(err)) {
            finish(id, to_failure(err));
            return;
          }
          log::warning("try ", attempt, " on ", name,
                       " failed: ", self->system().render(err));
          dispatch(id);
        });
  }

  // Books the end of one try on instance `name`.
  pool_instance* settle(style how, const std::string& name) {
    auto x = pool_of(how).find(name);
    if (x != nullptr && x->in_flight > 0)
      --x->in_flight;
    return x;
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
    metrics::in_flight().Set(static_cast<double>(jobs.size()));
    done(std::move(outcome));
  }

  // -- cluster view -----------------------------------------------------------

  void cluster(cluster_query& q) {
    auto reply = [this, done = std::move(q.done)](const registry* reg,
                                                  bool fresh,
                                                  const std::string& choreo) {
      done(render_cluster(node_name, opts, reg, fresh,
                          pool_of(style::orchestration),
                          pool_of(style::direct), choreo));
    };
    // Gathers the task desk's counters, then the supervisor's registry.
    auto with_registry = [this, reply](std::string choreo) {
      if (!supervisor) {
        reply(last_registry ? &*last_registry : nullptr, false, choreo);
        return;
      }
      self->request(supervisor, std::chrono::milliseconds(500),
                    caf::get_atom::value)
        .then([reply, choreo](registry& reg) { reply(&reg, true, choreo); },
              [this, reply, choreo](const caf::error&) {
                reply(last_registry ? &*last_registry : nullptr, false,
                      choreo);
              });
    };
    if (!desk) {
      with_registry({});
      return;
    }
    self->request(desk, std::chrono::milliseconds(500), cluster_atom::value)
      .then([with_registry](std::string& doc) { with_registry(doc); },
            [with_registry](const caf::error&) { with_registry({}); });
  }

  ~router_state() {
    for (auto& kvp : jobs)
      kvp.second.done(failure{ec::no_verifier, "the front is shutting down"});
  }
};

caf::behavior router(caf::stateful_actor<router_state>* self,
                     front_options opts, std::string node_name,
                     std::shared_ptr<front_status> st, caf::actor desk) {
  auto& s = self->state;
  s.desk = std::move(desk);
  s.opts = std::move(opts);
  s.node_name = std::move(node_name);
  s.status = std::move(st);
  s.default_style = parse_style(s.opts.style).value_or(style::direct);
  auto least_loaded = s.opts.balance == "least-loaded";
  s.pools = {pool{least_loaded}, pool{least_loaded}};
  for (auto& address : s.opts.verifiers)
    s.pool_of(style::direct).add_node(address, true);
  s.update_status();
  self->set_down_handler(
    [self](caf::down_msg& msg) { self->state.on_down(msg); });
  for (auto& address : s.opts.verifiers)
    s.connect_node(style::direct, address);
  s.connect_supervisor();
  return {
    [self](job_atom, front_job& fj) { self->state.accept(fj); },
    [self](cluster_atom, cluster_query& q) { self->state.cluster(q); },
    [self](registry_atom, registry& reg) { self->state.on_registry(reg); },
    [self](reconnect_atom, int32_t how, const std::string& address) {
      auto& st = self->state;
      auto& p = st.pools[how];
      auto node = p.node(address);
      if (node == nullptr)
        return;
      if (!node->configured && !st.in_registry(address)) {
        // Neither configured nor registered any more: forget it.
        p.nodes.erase(p.nodes.begin() + (node - p.nodes.data()));
        st.update_status();
        return;
      }
      st.connect_node(static_cast<style>(how), address);
    },
    [self](fetch_atom, int32_t how, const std::string& address) {
      self->state.fetch(static_cast<style>(how), address);
    },
    [self](tick_atom) { self->state.connect_supervisor(); },
  };
}

} // namespace

front_service::front_service(caf::actor router, caf::actor desk,
                             std::shared_ptr<front_status> status)
  : router_(std::move(router)),
    desk_(std::move(desk)),
    status_(std::move(status)) {
  // nop
}

void front_service::submit(verify_request req, submit_callback done) {
  if (!desk_) {
    done(failure{ec::no_verifier, "the choreography style is not configured "
                                  "on this front (set choreography.hub)"});
    return;
  }
  caf::anon_send(desk_, submit_atom::value,
                 task_submission{std::move(req), std::move(done)});
}

void front_service::task(std::string id, task_callback done) {
  if (!desk_) {
    done(std::nullopt);
    return;
  }
  caf::anon_send(desk_, task_atom::value,
                 task_query{std::move(id), std::move(done)});
}

void front_service::verify(style how, verify_request req, callback done) {
  caf::anon_send(router_, job_atom::value,
                 front_job{how, std::move(req), std::move(done)});
}

void front_service::cluster(text_callback done) {
  caf::anon_send(router_, cluster_atom::value, cluster_query{std::move(done)});
}

const front_status& front_service::status() const noexcept {
  return *status_;
}

std::shared_ptr<front_service>
start_front(caf::actor_system& sys, const front_options& opts,
            const choreography_options& choreo, const std::string& node_name) {
  auto status = std::make_shared<front_status>();
  caf::actor desk;
  if (!choreo.hub.empty())
    desk = start_task_desk(sys, node_name, choreo, status);
  auto handle = sys.spawn(router, opts, node_name, status, desk);
  return std::make_shared<front_service>(std::move(handle), std::move(desk),
                                         std::move(status));
}

} // namespace duet
