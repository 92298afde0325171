#include "actors/hub/group_server.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/group_manager.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/core/log.hpp"
#include "actors/core/text.hpp"
#include "actors/protocol/group_lookup.hpp"
#include "actors/runtime/guard.hpp"

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
  self->state.issued = challenges{self->state.identity->proof_ttl};
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
            if (auto err = st.identity->check(purpose::group, node, proof,
                                              {role::front, role::verifier})) {
              log::warning("refused group ", group,
                           " to a node: ", message_of(err));
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

} // namespace duet
