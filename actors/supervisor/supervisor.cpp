#include "actors/supervisor/supervisor.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <prometheus/counter.h>

#include "actors/core/log.hpp"
#include "actors/core/metrics.hpp"
#include "actors/core/text.hpp"
#include "actors/protocol/validate.hpp"
#include "actors/runtime/guard.hpp"

namespace duet {

namespace {

using clock_type = supervisor_state::clock_type;

bool is_clean_exit(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::user_shutdown
         || reason == caf::exit_reason::normal;
}

long long to_ms(clock_type::duration x) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(x).count();
}

} // namespace

restart_policy::config supervisor_state::policy_config() const {
  restart_policy::config cfg;
  cfg.intensity = opts.restart_intensity;
  cfg.period = opts.restart_period;
  cfg.backoff = opts.restart_backoff;
  cfg.backoff_max = opts.restart_backoff_max;
  cfg.cooldown = opts.failed_cooldown;
  cfg.cooldown_max = opts.failed_cooldown_max;
  return cfg;
}

caf::error supervisor_state::check_proof(purpose what,
                                         const std::string& claimed,
                                         const identity_proof& proof,
                                         std::initializer_list<role> roles) {
  if (!identity->enabled())
    return {};
  // The signature first: only proofs of certified nodes use up challenges.
  if (auto err = identity->check(what, claimed, proof, roles))
    return err;
  if (!issued.redeem(proof.challenge, clock_type::now()))
    return caf::make_error(ec::invalid_message,
                           "the proof of '" + printable(claimed)
                             + "' answers no open challenge of this "
                               "supervisor");
  return {};
}

caf::result<std::string>
supervisor_state::register_node(node_registration& reg,
                                const identity_proof& proof) {
  if (auto err = check(reg))
    return refuse(name, std::move(err));
  if (auto err = check_proof(purpose::register_node, reg.name, proof,
                             {role::verifier})) {
    log::warning("refused a registration as ", printable(reg.name), " from ",
                 printable(reg.host), ":", reg.port, ": ", message_of(err));
    return refuse(name, std::move(err));
  }
  if (nodes.count(reg.name) == 0 && nodes.size() >= limits::nodes)
    return refuse(name, caf::make_error(ec::invalid_message,
                                        "the registry is full ("
                                          + std::to_string(limits::nodes)
                                          + " nodes)"));
  if (auto i = nodes.find(reg.name);
      i != nodes.end() && i->second.agent && i->second.agent != reg.agent) {
    // The name is taken by a live node: refused, never replaced. A node
    // that restarted registers again once its old self is found down.
    auto& n = i->second;
    ++n.conflicts;
    n.last_conflict = "refused a second node named " + reg.name + " from "
                      + reg.host + ":" + std::to_string(reg.port);
    log::warning(n.last_conflict, " while the one at ", n.address, " is alive");
    publish();
    return caf::make_error(ec::conflict, "node " + reg.name
                                           + " is registered and alive at "
                                           + n.address);
  }
  auto& n = nodes[reg.name];
  auto now = clock_type::now();
  n.name = reg.name;
  n.address = reg.host + ":" + std::to_string(reg.port);
  if (n.agent != reg.agent) {
    n.agent = reg.agent;
    self->monitor(n.agent);
  }
  n.state = node_state::up;
  n.slots.resize(
    reg.slots,
    slot_entry{
      {}, {}, instance_state::down, 0, restart_policy{policy_config()}, {}});
  for (uint32_t i = 0; i < n.slots.size(); ++i) {
    auto& s = n.slots[i];
    s.name = reg.name + "/verifier-" + std::to_string(i);
    s.handle = nullptr;
  }
  for (auto& inst : reg.instances) {
    auto& s = n.slots[inst.slot];
    s.handle = inst.handle;
    s.state = instance_state::up;
    s.last_seen = now;
    self->monitor(s.handle);
  }
  // A slot whose instance died while nobody could restart it is restarted
  // now, unless it is failed (its cool-down timer brings it back).
  for (uint32_t i = 0; i < n.slots.size(); ++i)
    if (!n.slots[i].handle && n.slots[i].state != instance_state::failed) {
      n.slots[i].state = instance_state::restarting;
      self->delayed_send(self, opts.restart_backoff, local::respawn{n.name, i});
    }
  log::info("node ", n.name, " registered from ", n.address, " with ",
            reg.instances.size(), " of ", reg.slots, " instances up");
  publish();
  return node_name;
}

caf::result<bool> supervisor_state::deregister(const std::string& node,
                                               const identity_proof& proof) {
  if (auto err = check_proof(purpose::deregister_node, node, proof,
                             {role::verifier}))
    return refuse(name, std::move(err));
  auto i = nodes.find(node);
  if (i == nodes.end())
    return false;
  log::info("node ", node, " deregistered");
  nodes.erase(i);
  publish();
  return true;
}

caf::result<registry> supervisor_state::subscribe(caf::actor front,
                                                  const std::string& front_name,
                                                  const identity_proof& proof) {
  if (!front)
    return refuse(name, caf::make_error(ec::invalid_message,
                                        "subscribe without an actor"));
  if (auto err = check(proof))
    return refuse(name, std::move(err));
  if (auto err = check_proof(purpose::subscribe, front_name, proof,
                             {role::front})) {
    log::warning("refused a subscription as ", printable(front_name), ": ",
                 message_of(err));
    return refuse(name, std::move(err));
  }
  auto known = std::any_of(subscribers.begin(), subscribers.end(),
                           [&](const caf::actor& x) { return x == front; });
  if (!known) {
    if (subscribers.size() >= limits::subscribers)
      return refuse(
        name, caf::make_error(ec::invalid_message,
                              "too many subscribers ("
                                + std::to_string(limits::subscribers) + ")"));
    self->monitor(front);
    subscribers.push_back(std::move(front));
  }
  return snapshot();
}

registry supervisor_state::snapshot() const {
  registry result;
  auto now = clock_type::now();
  for (auto& [node, n] : nodes) {
    node_view nv{n.name, n.address, n.state, {}, n.conflicts, n.last_conflict};
    for (auto& s : n.slots) {
      auto age = s.handle ? static_cast<int64_t>(to_ms(now - s.last_seen))
                          : int64_t{-1};
      nv.instances.push_back({s.name, s.state, s.restarts, age});
    }
    result.nodes.push_back(std::move(nv));
  }
  return result;
}

void supervisor_state::publish() {
  if (subscribers.empty())
    return;
  auto reg = snapshot();
  // Not anonymous: a front takes registries only from its supervisor.
  auto me = caf::actor_cast<caf::actor>(self);
  for (auto& sub : subscribers)
    caf::send_as(me, sub, registry_atom::value, reg);
}

void supervisor_state::tick() {
  auto now = clock_type::now();
  auto changed = false;
  for (auto& [node_name, n] : nodes) {
    for (auto& s : n.slots) {
      if (!s.handle)
        continue;
      auto age = now - s.last_seen;
      if (age > opts.down_after && s.state != instance_state::down) {
        log::warning(s.name, " silent for ", to_ms(age), " ms: down");
        s.state = instance_state::down;
        changed = true;
        metrics::failure_detections("supervisor", "silent").Increment();
      } else if (age > opts.suspect_after && s.state == instance_state::up) {
        s.state = instance_state::suspect;
        changed = true;
        metrics::failure_detections("supervisor", "suspect").Increment();
      }
      self->request(s.handle, opts.down_after, ping_atom::value)
        .then(guard(name,
                    [this, node = n.name, handle = s.handle](uint64_t) {
                      auto i = nodes.find(node);
                      if (i == nodes.end())
                        return;
                      for (auto& slot : i->second.slots) {
                        if (slot.handle != handle)
                          continue;
                        slot.last_seen = clock_type::now();
                        if (slot.state == instance_state::suspect
                            || slot.state == instance_state::down) {
                          log::info(slot.name, " answers again: up");
                          slot.state = instance_state::up;
                          publish();
                        }
                      }
                    }),
              [](const caf::error&) {
                // Aging above decides; CAF's heartbeat closes dead links.
              });
    }
  }
  if (changed)
    publish();
  self->delayed_send(self, opts.ping_interval, local::tick{});
}

void supervisor_state::on_down(const caf::down_msg& msg) {
  auto& src = msg.source;
  auto sub
    = std::find_if(subscribers.begin(), subscribers.end(),
                   [&](const caf::actor& x) { return x.address() == src; });
  if (sub != subscribers.end()) {
    subscribers.erase(sub);
    return;
  }
  for (auto& [node_name, n] : nodes) {
    if (n.agent && n.agent.address() == src) {
      log::warning("node ", n.name,
                   " is down: ", self->system().render(msg.reason));
      n.agent = nullptr;
      n.state = node_state::down;
      metrics::failure_detections("supervisor", "node").Increment();
      for (auto& s : n.slots) {
        s.handle = nullptr;
        if (s.state != instance_state::failed)
          s.state = instance_state::down;
      }
      publish();
      return;
    }
    for (uint32_t i = 0; i < n.slots.size(); ++i) {
      auto& s = n.slots[i];
      if (!s.handle || s.handle.address() != src)
        continue;
      s.handle = nullptr;
      if (msg.reason == caf::exit_reason::remote_link_unreachable
          || is_clean_exit(msg.reason)) {
        log::warning(s.name, " is down: ", self->system().render(msg.reason));
        s.state = instance_state::down;
        publish();
      } else {
        log::warning(s.name, " crashed: ", self->system().render(msg.reason));
        metrics::failure_detections("supervisor", "crash").Increment();
        crashed(n, i);
      }
      return;
    }
  }
}

void supervisor_state::crashed(node_entry& n, uint32_t slot) {
  auto& s = n.slots[slot];
  auto recent = s.policy.recent_crashes() + 1;
  auto decision = s.policy.crashed(clock_type::now());
  if (decision.failed) {
    log::error(s.name, " failed: ", recent, " crashes within ",
               to_ms(opts.restart_period) / 1000, " s (restart-intensity ",
               opts.restart_intensity, "); trying it again in ",
               to_ms(decision.delay), " ms (supervisor.failed-cooldown, ",
               "doubling per failure in a row)");
    s.state = instance_state::failed;
  } else {
    s.state = instance_state::restarting;
  }
  self->delayed_send(self, decision.delay, local::respawn{n.name, slot});
  publish();
}

void supervisor_state::respawn(const std::string& node, uint32_t slot) {
  auto i = nodes.find(node);
  if (i == nodes.end() || !i->second.agent || slot >= i->second.slots.size())
    return;
  auto& state = i->second.slots[slot].state;
  if (state != instance_state::restarting && state != instance_state::failed)
    return;
  if (state == instance_state::failed) {
    log::info(i->second.slots[slot].name, ": cool-down over, restarting it");
    state = instance_state::restarting;
    publish();
  }
  self
    ->request(i->second.agent, opts.respawn_timeout, respawn_atom::value, slot)
    .then(guard(name,
                [this, node, slot](instance_info& info) {
                  auto i = nodes.find(node);
                  if (i == nodes.end() || slot >= i->second.slots.size())
                    return;
                  auto& s = i->second.slots[slot];
                  if (auto err = check({info}, i->second.slots.size());
                      err || info.slot != slot) {
                    refuse(name, err ? err
                                     : caf::make_error(ec::invalid_message,
                                                       "respawned the wrong "
                                                       "slot"));
                    return;
                  }
                  s.handle = std::move(info.handle);
                  s.state = instance_state::up;
                  s.last_seen = clock_type::now();
                  s.policy.restarted(s.last_seen);
                  ++s.restarts;
                  metrics::restarts().Increment();
                  self->monitor(s.handle);
                  log::info("restarted ", s.name, " (restarts: ", s.restarts,
                            ")");
                  publish();
                }),
          guard(name, [this, node, slot](const caf::error& err) {
            log::warning("cannot restart ", node, "/verifier-", slot, ": ",
                         self->system().render(err), "; trying again");
            self->delayed_send(self, opts.restart_backoff_max,
                               local::respawn{node, slot});
          }));
}

supervisor_impl::behavior_type
supervisor(supervisor_impl::stateful_pointer<supervisor_state> self,
           supervisor_options opts,
           std::shared_ptr<const node_identity> identity) {
  auto& st = self->state;
  st.opts = opts;
  st.node_name = identity->name;
  st.identity = std::move(identity);
  st.issued = challenges{st.identity->proof_ttl};
  drop_unexpected(self, st.name);
  self->set_down_handler(
    guard(st.name, [self](caf::down_msg& msg) { self->state.on_down(msg); }));
  self->send(self, local::tick{});
  const char* name = st.name;
  return {
    guard(name,
          [self](challenge_atom) {
            return self->state.issued.issue(clock_type::now());
          }),
    guard(name,
          [self](register_atom, node_registration& reg,
                 const identity_proof& proof) {
            return self->state.register_node(reg, proof);
          }),
    guard(name,
          [self](deregister_atom, const std::string& node,
                 const identity_proof& proof) {
            return self->state.deregister(node, proof);
          }),
    guard(name,
          [self](subscribe_atom, caf::actor& front, const std::string& node,
                 const identity_proof& proof) {
            return self->state.subscribe(std::move(front), node, proof);
          }),
    guard(name, [self](caf::get_atom) { return self->state.snapshot(); }),
    guard(name, [self](local::tick) { self->state.tick(); }),
    guard(name,
          [self](local::respawn& x) { self->state.respawn(x.node, x.slot); }),
  };
}

} // namespace duet
