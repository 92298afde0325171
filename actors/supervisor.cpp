#include "actors/supervisor.hpp"

#include <algorithm>

#include <caf/actor_system.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/log.hpp"
#include "actors/metrics.hpp"

#include <prometheus/counter.h>

namespace duet {

namespace {

using clock_type = supervisor_state::clock_type;

bool is_clean_exit(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::user_shutdown
         || reason == caf::exit_reason::normal;
}

} // namespace

std::string supervisor_state::register_node(node_registration& reg) {
  auto& n = nodes[reg.name];
  auto now = clock_type::now();
  n.name = reg.name;
  n.address = reg.host + ":" + std::to_string(reg.port);
  n.agent = reg.agent;
  n.state = "up";
  self->monitor(n.agent);
  n.slots.resize(reg.slots);
  for (uint32_t i = 0; i < n.slots.size(); ++i) {
    auto& s = n.slots[i];
    s.name = reg.name + "/verifier-" + std::to_string(i);
    s.handle = nullptr;
  }
  for (auto& inst : reg.instances) {
    if (inst.slot >= n.slots.size())
      continue;
    auto& s = n.slots[inst.slot];
    s.handle = inst.handle;
    s.state = "up";
    s.last_seen = now;
    self->monitor(s.handle);
  }
  // A slot whose instance died while nobody could restart it is restarted
  // now, unless it already failed for good.
  for (uint32_t i = 0; i < n.slots.size(); ++i)
    if (!n.slots[i].handle && n.slots[i].state != "failed") {
      n.slots[i].state = "restarting";
      self->delayed_send(self, opts.restart_backoff, respawn_atom::value,
                         n.name, i);
    }
  log::info("node ", n.name, " registered from ", n.address, " with ",
            reg.instances.size(), " of ", reg.slots, " instances up");
  publish();
  return node_name;
}

bool supervisor_state::deregister(const std::string& name) {
  auto i = nodes.find(name);
  if (i == nodes.end())
    return false;
  log::info("node ", name, " deregistered");
  nodes.erase(i);
  publish();
  return true;
}

registry supervisor_state::snapshot() const {
  using std::chrono::duration_cast;
  using std::chrono::milliseconds;
  registry result;
  auto now = clock_type::now();
  for (auto& [name, n] : nodes) {
    node_view nv{n.name, n.address, n.state, {}};
    for (auto& s : n.slots) {
      auto age = s.handle
                   ? duration_cast<milliseconds>(now - s.last_seen).count()
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
  for (auto& sub : subscribers)
    caf::anon_send(sub, registry_atom::value, reg);
}

void supervisor_state::tick() {
  auto now = clock_type::now();
  auto changed = false;
  for (auto& [name, n] : nodes) {
    for (auto& s : n.slots) {
      if (!s.handle)
        continue;
      auto age = now - s.last_seen;
      if (age > opts.down_after && s.state != "down") {
        log::warning(
          s.name, " silent for ",
          std::chrono::duration_cast<std::chrono::milliseconds>(age).count(),
          " ms: down");
        s.state = "down";
        changed = true;
        metrics::failure_detections("supervisor", "silent").Increment();
      } else if (age > opts.suspect_after && s.state == "up") {
        s.state = "suspect";
        changed = true;
        metrics::failure_detections("supervisor", "suspect").Increment();
      }
      auto node = n.name;
      auto handle = s.handle;
      self->request(s.handle, opts.down_after, ping_atom::value)
        .then(
          [this, node, handle](uint64_t) {
            auto i = nodes.find(node);
            if (i == nodes.end())
              return;
            for (auto& slot : i->second.slots)
              if (slot.handle == handle) {
                slot.last_seen = clock_type::now();
                if (slot.state == "suspect" || slot.state == "down") {
                  log::info(slot.name, " answers again: up");
                  slot.state = "up";
                  publish();
                }
              }
          },
          [](const caf::error&) {
            // Aging above decides; CAF's heartbeat closes dead links.
          });
    }
  }
  if (changed)
    publish();
  self->delayed_send(self, opts.ping_interval, tick_atom::value);
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
  for (auto& [name, n] : nodes) {
    if (n.agent && n.agent.address() == src) {
      log::warning("node ", n.name,
                   " is down: ", self->system().render(msg.reason));
      n.agent = nullptr;
      n.state = "down";
      metrics::failure_detections("supervisor", "node").Increment();
      for (auto& s : n.slots) {
        s.handle = nullptr;
        if (s.state != "failed")
          s.state = "down";
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
        s.state = "down";
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
  auto now = clock_type::now();
  while (!s.crashes.empty() && now - s.crashes.front() > opts.restart_period)
    s.crashes.pop_front();
  s.crashes.push_back(now);
  if (s.crashes.size() > opts.restart_intensity) {
    log::error(
      s.name, " failed: ", s.crashes.size(), " crashes within ",
      std::chrono::duration_cast<std::chrono::seconds>(opts.restart_period)
        .count(),
      " s (restart-intensity ", opts.restart_intensity, "); not restarting it");
    s.state = "failed";
    publish();
    return;
  }
  auto backoff = opts.restart_backoff
                 * (1 << std::min<size_t>(s.crashes.size() - 1, 16));
  backoff = std::min(backoff, opts.restart_backoff_max);
  s.state = "restarting";
  self->delayed_send(self, backoff, respawn_atom::value, n.name, slot);
  publish();
}

void supervisor_state::respawn(const std::string& node, uint32_t slot) {
  auto i = nodes.find(node);
  if (i == nodes.end() || !i->second.agent || slot >= i->second.slots.size()
      || i->second.slots[slot].state != "restarting")
    return;
  self
    ->request(i->second.agent, defaults::connect_timeout, respawn_atom::value,
              slot)
    .then(
      [this, node, slot](instance_info& info) {
        auto i = nodes.find(node);
        if (i == nodes.end() || slot >= i->second.slots.size())
          return;
        auto& s = i->second.slots[slot];
        s.handle = std::move(info.handle);
        s.state = "up";
        s.last_seen = clock_type::now();
        ++s.restarts;
        metrics::restarts().Increment();
        self->monitor(s.handle);
        log::info("restarted ", s.name, " (restarts: ", s.restarts, ")");
        publish();
      },
      [this, node](const caf::error& err) {
        log::warning("cannot restart an instance of ", node, ": ",
                     self->system().render(err));
      });
}

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           supervisor_options opts, std::string node_name) {
  self->state.opts = std::move(opts);
  self->state.node_name = std::move(node_name);
  self->set_down_handler(
    [self](caf::down_msg& msg) { self->state.on_down(msg); });
  self->send(self, tick_atom::value);
  return {
    [self](register_atom, node_registration& reg) {
      return self->state.register_node(reg);
    },
    [self](deregister_atom, const std::string& name) {
      return self->state.deregister(name);
    },
    [self](subscribe_atom, caf::actor& front) {
      self->monitor(front);
      self->state.subscribers.push_back(std::move(front));
      return self->state.snapshot();
    },
    [self](caf::get_atom) { return self->state.snapshot(); },
    [self](tick_atom) { self->state.tick(); },
    [self](respawn_atom, const std::string& node, uint32_t slot) {
      self->state.respawn(node, slot);
    },
  };
}

} // namespace duet
