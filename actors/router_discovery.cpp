#include "actors/router.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <prometheus/counter.h>

#include "actors/connect.hpp"
#include "actors/guard.hpp"
#include "actors/log.hpp"
#include "actors/metrics.hpp"
#include "actors/validate.hpp"

namespace duet {

void router_state::connect_node(style how, const std::string& address) {
  auto node = pool_of(how).node(address);
  if (node == nullptr || node->agent || node->connecting)
    return;
  node->connecting = true;
  connect_to<verifier_node_actor>(
    self, node->host, node->port, opts.connect_timeout,
    [this, how, address](verifier_node_actor agent) {
      auto node = pool_of(how).node(address);
      if (node == nullptr)
        return;
      node->connecting = false;
      node->agent = std::move(agent);
      self->monitor(node->agent);
      log::info("connected to verifier node ", address, " (", to_string(how),
                ")");
      fetch(how, address);
    },
    [this, how, address](const std::string& why, bool wrong_peer) {
      if (auto node = pool_of(how).node(address))
        node->connecting = false;
      log::print(wrong_peer ? log::level::warning : log::level::debug,
                 "cannot use verifier node ", address, ": ", why);
      retry_node(how, address);
    });
}

void router_state::retry_node(style how, const std::string& address) {
  self->delayed_send(self, opts.reconnect_interval,
                     local::reconnect{how, address});
}

// Asks the node's agent for its instances and syncs the pool with them.
void router_state::fetch(style how, const std::string& address) {
  auto node = pool_of(how).node(address);
  if (node == nullptr || !node->agent)
    return;
  self->request(node->agent, opts.connect_timeout, caf::get_atom::value)
    .then(guard(name,
                [this, how, address](std::vector<instance_info>& list) {
                  if (auto err = check(list, limits::slots)) {
                    refuse(name, std::move(err));
                    return;
                  }
                  sync(how, address, list);
                }),
          guard(name, [this, how, address](const caf::error& err) {
            log::warning("cannot list the instances of ", address, ": ",
                         self->system().render(err), "; asking again");
            self->delayed_send(self, opts.reconnect_interval,
                               local::fetch{how, address});
          }));
}

void router_state::sync(style how, const std::string& address,
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
    p.instances.push_back({info.name, address, info.handle, "up", 0, {}});
    if (auto st = state_in_registry(how, info.name))
      p.instances.back().state = *st;
    log::info("using verifier instance ", info.name, " (", to_string(how), ")");
  }
  update_status();
}

std::optional<std::string>
router_state::state_in_registry(style how, const std::string& name) {
  if (how != style::orchestration || !last_registry)
    return std::nullopt;
  for (auto& n : last_registry->nodes)
    for (auto& x : n.instances)
      if (x.name == name)
        return x.state;
  return std::nullopt;
}

void router_state::remove_instance(style how, const std::string& name) {
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

void router_state::on_down(const caf::down_msg& msg) {
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
      log::warning("verifier node ", node.address, " is down (", to_string(how),
                   "): ", self->system().render(msg.reason));
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
      log::warning("verifier instance ", x.name,
                   " is down: ", self->system().render(msg.reason));
      metrics::failure_detections("front", "instance").Increment();
      auto address = x.node;
      remove_instance(how, x.name);
      // The supervisor may restart it; look again shortly.
      self->delayed_send(self, opts.reconnect_interval,
                         local::fetch{how, address});
      break;
    }
  }
}

void router_state::update_status() {
  // The choreography style has no pool: the front does not know its
  // verifiers. Report the pool of the style requests use otherwise.
  auto how = default_style == style::choreography ? style::orchestration
                                                  : default_style;
  status->verifiers_up = pool_of(how).nodes_up();
  status->verifiers_known = pool_of(how).nodes.size();
}

void router_state::connect_supervisor() {
  if (opts.supervisor.empty() || supervisor || supervisor_connecting)
    return;
  std::string host;
  uint16_t port = 0;
  split_address(opts.supervisor, host, port);
  supervisor_connecting = true;
  connect_to<supervisor_actor>(
    self, host, port, opts.connect_timeout,
    [this](supervisor_actor handle) {
      supervisor_connecting = false;
      supervisor = std::move(handle);
      self->monitor(supervisor);
      subscribe();
      log::info("connected to supervisor ", opts.supervisor);
    },
    [this](const std::string& why, bool wrong_peer) {
      supervisor_connecting = false;
      log::print(wrong_peer ? log::level::warning : log::level::debug,
                 "cannot use supervisor ", opts.supervisor, ": ", why);
      retry_supervisor();
    });
}

void router_state::subscribe() {
  // Without a subscription no update would ever arrive: on any failure,
  // start over (connect, subscribe) after a pause.
  auto failed = [this](const caf::error& err) {
    log::warning("cannot subscribe to the supervisor: ",
                 self->system().render(err), "; trying again");
    supervisor = nullptr;
    retry_supervisor();
  };
  self->request(supervisor, opts.connect_timeout, challenge_atom::value)
    .then(guard(name,
                [this, failed](const std::string& challenge) {
                  auto proof = identity->prove("subscribe", challenge);
                  if (!proof) {
                    failed(to_caf_error(std::move(proof.error())));
                    return;
                  }
                  self
                    ->request(supervisor, opts.connect_timeout,
                              subscribe_atom::value, caf::actor{self},
                              node_name, std::move(*proof))
                    .then(guard(name,
                                [this](registry& reg) {
                                  if (auto err = check(reg)) {
                                    refuse(name, std::move(err));
                                    return;
                                  }
                                  on_registry(reg);
                                }),
                          guard(name, failed));
                }),
          guard(name, failed));
}

void router_state::retry_supervisor() {
  self->delayed_send(self, opts.reconnect_interval,
                     local::reconnect_supervisor{});
}

// Applies a registry pushed by the supervisor. Instances the registry does
// not list are kept: a supervisor that just restarted knows less than the
// front, and the front's own monitors catch instances that die.
void router_state::on_registry(registry& reg) {
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

bool router_state::in_registry(const std::string& address) const {
  if (!last_registry)
    return false;
  for (auto& n : last_registry->nodes)
    if (n.address == address)
      return true;
  return false;
}

} // namespace duet
