// The router's discovery half: verifier nodes and their instances, the
// supervisor's registry, and failures (see router.hpp).

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <prometheus/counter.h>

#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"
#include "actors/front/router.hpp"
#include "actors/protocol/connect.hpp"
#include "actors/protocol/validate.hpp"
#include "actors/runtime/guard.hpp"

namespace duet {

namespace {

// A wrong peer (another interface, no actor) is worth a warning; an absent
// one is normal while nodes start.
log::level severity(const caf::error& err) {
  return is_code(err, ec::invalid_message) ? log::level::warning
                                           : log::level::debug;
}

} // namespace

pool& router_state::pool_of(style how) noexcept {
  return how == style::orchestration ? orchestration_ : direct_;
}

const pool& router_state::pool_of(style how) const noexcept {
  return how == style::orchestration ? orchestration_ : direct_;
}

void router_state::connect_node(style how, const std::string& address) {
  auto node = pool_of(how).node(address);
  if (node == nullptr || node->agent || node->connecting)
    return;
  node->connecting = true;
  connect_to<verifier_node_actor>(
    self_, node->host, node->port, opts_.connect_timeout,
    [this, how, address](verifier_node_actor agent) {
      auto node = pool_of(how).node(address);
      if (node == nullptr)
        return;
      node->connecting = false;
      node->agent = std::move(agent);
      self_->monitor(node->agent);
      log::info("connected to verifier node ", address, " (", to_string(how),
                ")");
      fetch(how, address);
    },
    [this, how, address](const caf::error& err) {
      if (auto node = pool_of(how).node(address))
        node->connecting = false;
      log::print(severity(err), "cannot use verifier node ", address, ": ",
                 message_of(err));
      self_->delayed_send(self_, opts_.reconnect_interval,
                          local::reconnect{how, address});
    });
}

void router_state::reconnect_node(style how, const std::string& address) {
  auto& p = pool_of(how);
  auto node = p.node(address);
  if (node == nullptr)
    return;
  if (!node->configured && !in_registry(address)) {
    // Neither configured nor registered any more: forget it.
    p.nodes.erase(p.nodes.begin() + (node - p.nodes.data()));
    update_status();
    return;
  }
  connect_node(how, address);
}

void router_state::fetch(style how, const std::string& address) {
  auto node = pool_of(how).node(address);
  if (node == nullptr || !node->agent)
    return;
  self_->request(node->agent, opts_.connect_timeout, caf::get_atom::value)
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
                         self_->system().render(err), "; asking again");
            self_->delayed_send(self_, opts_.reconnect_interval,
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
    self_->monitor(info.handle);
    pool_instance x;
    x.name = info.name;
    x.node = address;
    x.handle = info.handle;
    x.state = state_in_registry(how, info.name).value_or(instance_state::up);
    p.instances.push_back(std::move(x));
    log::info("using verifier instance ", info.name, " (", to_string(how), ")");
  }
  update_status();
}

std::optional<instance_state>
router_state::state_in_registry(style how, const std::string& name) const {
  if (how != style::orchestration || !last_registry_)
    return std::nullopt;
  for (auto& n : last_registry_->nodes)
    for (auto& x : n.instances)
      if (x.name == name && n.state == node_state::up)
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
  for (auto& [id, j] : jobs_)
    if (j.how == how && j.target == name)
      orphans.push_back(id);
  for (auto id : orphans)
    dispatch(id);
  update_status();
}

void router_state::on_down(const caf::down_msg& msg) {
  if (supervisor_ && msg.source == supervisor_.address()) {
    log::warning("supervisor ", opts_.supervisor,
                 " is down; serving with the last known instances");
    supervisor_ = nullptr;
    retry_supervisor();
    return;
  }
  for (auto how : {style::direct, style::orchestration}) {
    auto& p = pool_of(how);
    for (auto& node : p.nodes) {
      if (!node.agent || node.agent.address() != msg.source)
        continue;
      log::warning("verifier node ", node.address, " is down (", to_string(how),
                   "): ", self_->system().render(msg.reason));
      metrics::failure_detections(name, "node").Increment();
      node.agent = nullptr;
      auto address = node.address;
      std::vector<std::string> names;
      for (auto& x : p.instances)
        if (x.node == address)
          names.push_back(x.name);
      for (auto& instance : names)
        remove_instance(how, instance);
      self_->delayed_send(self_, opts_.reconnect_interval,
                          local::reconnect{how, address});
      break;
    }
    for (auto& x : p.instances) {
      if (x.handle.address() != msg.source)
        continue;
      log::warning("verifier instance ", x.name,
                   " is down: ", self_->system().render(msg.reason));
      metrics::failure_detections(name, "instance").Increment();
      auto address = x.node;
      remove_instance(how, x.name);
      // The supervisor may restart it; look again shortly.
      self_->delayed_send(self_, opts_.reconnect_interval,
                          local::fetch{how, address});
      break;
    }
  }
}

void router_state::update_status() {
  // The choreography style has no pool: the front does not know its
  // verifiers. Report the pool of the style requests use otherwise.
  auto how = opts_.default_style == style::choreography ? style::orchestration
                                                        : opts_.default_style;
  status_->verifiers_up = pool_of(how).nodes_up();
  status_->verifiers_known = pool_of(how).nodes.size();
}

// -- supervisor ---------------------------------------------------------------

void router_state::connect_supervisor() {
  if (opts_.supervisor.empty() || supervisor_ || supervisor_connecting_)
    return;
  std::string host;
  uint16_t port = 0;
  split_address(opts_.supervisor, host, port);
  supervisor_connecting_ = true;
  connect_to<supervisor_actor>(
    self_, host, port, opts_.connect_timeout,
    [this](supervisor_actor handle) {
      supervisor_connecting_ = false;
      supervisor_ = std::move(handle);
      self_->monitor(supervisor_);
      subscribe();
      log::info("connected to supervisor ", opts_.supervisor);
    },
    [this](const caf::error& err) {
      supervisor_connecting_ = false;
      log::print(severity(err), "cannot use supervisor ", opts_.supervisor,
                 ": ", message_of(err));
      retry_supervisor();
    });
}

void router_state::subscribe() {
  // Without a subscription no update would ever arrive: on any failure,
  // start over (connect, subscribe) after a pause.
  auto failed = [this](const caf::error& err) {
    log::warning("cannot subscribe to the supervisor: ",
                 self_->system().render(err), "; trying again");
    supervisor_ = nullptr;
    retry_supervisor();
  };
  self_->request(supervisor_, opts_.connect_timeout, challenge_atom::value)
    .then(guard(name,
                [this, failed](const std::string& challenge) {
                  auto proof = identity_->prove(purpose::subscribe, challenge);
                  if (!proof) {
                    failed(proof.error());
                    return;
                  }
                  self_
                    ->request(supervisor_, opts_.connect_timeout,
                              subscribe_atom::value,
                              caf::actor_cast<caf::actor>(self_),
                              identity_->name, std::move(*proof))
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
  self_->delayed_send(self_, opts_.reconnect_interval,
                      local::reconnect_supervisor{});
}

void router_state::on_registry(registry& reg) {
  auto& p = orchestration_;
  for (auto& n : reg.nodes) {
    auto& node = p.add_node(n.address, false);
    if (n.state == node_state::up && !node.agent)
      connect_node(style::orchestration, n.address);
    // A node the supervisor lost but this front still reaches (the
    // supervisor was cut off, e.g. a partition that heals): the front's own
    // link decides, as it does while the supervisor is away.
    if (n.state != node_state::up && node.agent)
      continue;
    auto missing = false;
    for (auto& view : n.instances) {
      if (auto x = p.find(view.name))
        x->state = view.state;
      else if (view.state == instance_state::up)
        missing = true;
    }
    if (missing && node.agent)
      fetch(style::orchestration, n.address);
  }
  last_registry_ = std::move(reg);
  update_status();
}

bool router_state::in_registry(const std::string& address) const {
  if (!last_registry_)
    return false;
  for (auto& n : last_registry_->nodes)
    if (n.address == address)
      return true;
  return false;
}

} // namespace duet
