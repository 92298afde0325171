#include "actors/verifier/node_agent.hpp"

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/core/log.hpp"
#include "actors/core/text.hpp"
#include "actors/protocol/connect.hpp"
#include "actors/runtime/guard.hpp"
#include "actors/verifier/verifier.hpp"

namespace duet {

node_agent_state::~node_agent_state() {
  // The instances are not linked (a crash must not take the agent down), so
  // the agent stops them when it goes.
  for (auto& slot : slots)
    if (slot)
      caf::anon_send_exit(slot, caf::exit_reason::user_shutdown);
}

instance_info node_agent_state::spawn(uint32_t slot) {
  auto name = node.name + "/verifier-" + std::to_string(slot);
  auto handle = self->spawn(verifier, keys, name, opts.fault_injection);
  self->monitor(handle);
  slots[slot] = handle;
  return instance_info{std::move(name), slot, std::move(handle)};
}

std::vector<instance_info> node_agent_state::live() const {
  std::vector<instance_info> result;
  for (uint32_t i = 0; i < slots.size(); ++i)
    if (slots[i])
      result.push_back(
        {node.name + "/verifier-" + std::to_string(i), i, slots[i]});
  return result;
}

void node_agent_state::connect_supervisor() {
  if (opts.supervisor.empty() || supervisor || connecting)
    return;
  std::string host;
  uint16_t port = 0;
  split_address(opts.supervisor, host, port);
  connecting = true;
  connect_to<supervisor_actor>(
    self, host, port, opts.connect_timeout,
    [this](supervisor_actor handle) {
      connecting = false;
      supervisor = std::move(handle);
      self->monitor(supervisor);
      register_node();
    },
    [this](const caf::error& err) {
      connecting = false;
      // A wrong peer is worth a warning; an absent one is normal at start.
      log::print(is_code(err, ec::invalid_message) ? log::level::warning
                                                   : log::level::debug,
                 "cannot use supervisor ", opts.supervisor, ": ",
                 message_of(err));
      self->delayed_send(self, opts.reconnect_interval,
                         local::reconnect_supervisor{});
    });
}

template <class Then, class Fail>
void node_agent_state::with_proof(purpose what, Then then, Fail fail) {
  self->request(supervisor, opts.connect_timeout, challenge_atom::value)
    .then(guard(name,
                [this, what, then, fail](const std::string& challenge) mutable {
                  auto proof = identity->prove(what, challenge);
                  if (!proof)
                    fail(std::move(proof.error()));
                  else
                    then(std::move(*proof));
                }),
          guard(name, [fail](const caf::error& err) mutable { fail(err); }));
}

void node_agent_state::register_node() {
  auto retry = [this](const caf::error& err) {
    // Unregistered, the node would be invisible to orchestration: start
    // over (connect, register) after a pause.
    log::warning("registration with ", opts.supervisor,
                 " failed: ", self->system().render(err), "; trying again");
    supervisor = nullptr;
    self->delayed_send(self, opts.reconnect_interval,
                       local::reconnect_supervisor{});
  };
  with_proof(
    purpose::register_node,
    [this, retry](identity_proof proof) {
      node_registration reg{node.name,
                            node.advertise,
                            node.port,
                            caf::actor_cast<verifier_node_actor>(self),
                            static_cast<uint32_t>(slots.size()),
                            live()};
      self
        ->request(supervisor, opts.connect_timeout, register_atom::value,
                  std::move(reg), std::move(proof))
        .then(guard(name,
                    [this](const std::string& supervisor_name) {
                      log::info("registered with supervisor ",
                                printable(supervisor_name), " at ",
                                opts.supervisor);
                    }),
              guard(name, retry));
    },
    retry);
}

void node_agent_state::on_down(const caf::down_msg& msg) {
  if (supervisor && msg.source == supervisor.address()) {
    log::warning("supervisor ", opts.supervisor,
                 " is down; registering again when it returns");
    supervisor = nullptr;
    connect_supervisor();
    return;
  }
  for (auto& slot : slots)
    if (slot && slot.address() == msg.source) {
      log::info("verifier instance down: ", self->system().render(msg.reason));
      slot = nullptr;
    }
}

verifier_node_impl::behavior_type
node_agent(verifier_node_impl::stateful_pointer<node_agent_state> self,
           std::shared_ptr<const crypto::keyring> keys, node_options node,
           verifier_options opts,
           std::shared_ptr<const node_identity> identity) {
  auto& st = self->state;
  st.identity = std::move(identity);
  st.keys = std::move(keys);
  st.node = std::move(node);
  st.opts = std::move(opts);
  st.slots.resize(st.opts.instances);
  for (uint32_t i = 0; i < st.slots.size(); ++i)
    st.spawn(i);
  drop_unexpected(self, st.name);
  self->set_down_handler(
    guard(st.name, [self](caf::down_msg& msg) { self->state.on_down(msg); }));
  const char* name = st.name;
  return {
    guard(name, [self](caf::get_atom) { return self->state.live(); }),
    guard(name,
          [self](respawn_atom, uint32_t slot) -> caf::result<instance_info> {
            auto& st = self->state;
            // Only the supervisor restarts instances: it keeps the restart
            // policy (a failed instance waits out its cool-down).
            if (!st.supervisor
                || self->current_sender()
                     != caf::actor_cast<caf::strong_actor_ptr>(st.supervisor))
              return refuse(st.name,
                            caf::make_error(ec::invalid_message,
                                            "only the supervisor this node "
                                            "registered with restarts "
                                            "instances"));
            if (slot >= st.slots.size())
              return refuse(st.name, caf::make_error(ec::invalid_message,
                                                     "no such slot: "
                                                       + std::to_string(slot)));
            if (st.slots[slot])
              return instance_info{st.node.name + "/verifier-"
                                     + std::to_string(slot),
                                   slot, st.slots[slot]};
            log::info("restarting verifier-", slot,
                      " on request of the supervisor");
            return st.spawn(slot);
          }),
    guard(
      name,
      [self](local::deregister) -> caf::result<bool> {
        auto& st = self->state;
        if (!st.supervisor)
          return true;
        auto rp = self->make_response_promise<bool>();
        st.with_proof(
          purpose::deregister_node,
          [self, rp](identity_proof proof) mutable {
            auto& st = self->state;
            self
              ->request(st.supervisor, st.opts.connect_timeout,
                        deregister_atom::value, st.node.name, std::move(proof))
              .then([rp](bool x) mutable { rp.deliver(x); },
                    [rp](const caf::error& err) mutable { rp.deliver(err); });
          },
          [rp](const caf::error& err) mutable { rp.deliver(err); });
        return rp;
      }),
    guard(name,
          [self](local::start x) {
            self->state.node.port = x.port;
            self->state.connect_supervisor();
          }),
    guard(name,
          [self](local::reconnect_supervisor) {
            self->state.connect_supervisor();
          }),
  };
}

} // namespace duet
