#include "actors/groups.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/group_manager.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/connect.hpp"
#include "actors/guard.hpp"
#include "actors/log.hpp"
#include "actors/options.hpp"
#include "actors/text.hpp"

namespace duet {

namespace {

struct group_server_state {
  static inline const char* name = "group-server";
  std::shared_ptr<const node_identity> identity;
  challenges issued;
};

group_server_actor::behavior_type
group_server(group_server_actor::stateful_pointer<group_server_state> self,
             std::shared_ptr<const node_identity> identity) {
  self->state.identity = std::move(identity);
  drop_unexpected(self, group_server_state::name);
  const char* name = group_server_state::name;
  return {
    guard(name,
          [self](challenge_atom) {
            return self->state.issued.issue(challenges::clock_type::now());
          }),
    guard(name,
          [self, name](caf::get_atom, const std::string& group,
                       const std::string& node,
                       const identity_proof& proof) -> caf::result<caf::group> {
            auto& st = self->state;
            if (group != task_group_name && group != result_group_name)
              return refuse(name,
                            caf::make_error(ec::invalid_message,
                                            "no group '" + printable(group)
                                              + "' on this hub"));
            // Fronts publish tasks and read results; verifier nodes do
            // both. No other role has business in the groups.
            if (auto err = st.identity->check("group", node, proof,
                                              {"front", "verifier"})) {
              log::warning("refused group ", group,
                           " to a node: ", to_failure(err).message);
              return refuse(name, std::move(err));
            }
            if (st.identity->enabled()
                && !st.issued.redeem(proof.challenge,
                                     challenges::clock_type::now()))
              return refuse(name, caf::make_error(ec::invalid_message,
                                                  "the proof answers no open "
                                                  "challenge of this hub"));
            return self->system().groups().get_local(group);
          }),
  };
}

} // namespace

group_server_actor
start_group_server(caf::actor_system& sys,
                   std::shared_ptr<const node_identity> identity) {
  return sys.spawn(group_server, std::move(identity));
}

void lookup_group(caf::event_based_actor* self,
                  const std::shared_ptr<const node_identity>& identity,
                  const std::string& hub, const std::string& name,
                  std::chrono::nanoseconds timeout) {
  auto reply = [self, name](caf::group grp, std::string error) {
    self->send(self, lookup_atom::value,
               group_lookup{name, std::move(grp), std::move(error)});
  };
  std::string host;
  uint16_t port = 0;
  if (!split_address(hub, host, port)) {
    reply({}, "'" + hub + "' is not host:port");
    return;
  }
  auto span = caf::timespan{timeout};
  auto failed = [self, reply](const caf::error& err) {
    reply({}, self->system().render(err));
  };
  auto ask = [self, name, span, reply, failed, identity](
               const group_server_actor& server, const std::string& challenge) {
    auto proof = identity->prove("group", challenge);
    if (!proof) {
      reply({}, proof.error().message);
      return;
    }
    self
      ->request(server, span, caf::get_atom::value, name, identity->name,
                std::move(*proof))
      .then(guard(self->name(),
                  [reply](caf::group& grp) {
                    if (grp)
                      reply(std::move(grp), {});
                    else
                      reply({}, "the hub answered without a group");
                  }),
            guard(self->name(), failed));
  };
  connect_to<group_server_actor>(
    self, host, port, span,
    [self, span, ask, failed](const group_server_actor& server) {
      self->request(server, span, challenge_atom::value)
        .then(guard(self->name(),
                    [server, ask](const std::string& challenge) {
                      ask(server, challenge);
                    }),
              guard(self->name(), failed));
    },
    [reply](const std::string& why, bool) { reply({}, why); });
}

void retry_lookup(caf::event_based_actor* self, const group_lookup& failed,
                  const std::string& hub) {
  log::warning("cannot use group ", failed.name, " on hub ", hub, ": ",
               failed.error, "; retrying");
  self->delayed_send(self, defaults::reconnect_interval,
                     local::lookup{failed.name});
}

} // namespace duet
