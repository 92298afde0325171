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

group_server_actor::behavior_type
group_server(group_server_actor::pointer self) {
  drop_unexpected(self, "group-server");
  return {
    guard("group-server",
          [self](caf::get_atom,
                 const std::string& name) -> caf::result<caf::group> {
            if (name != task_group_name && name != result_group_name)
              return refuse("group-server",
                            caf::make_error(ec::invalid_message,
                                            "no group '" + printable(name)
                                              + "' on this hub"));
            return self->system().groups().get_local(name);
          }),
  };
}

} // namespace

group_server_actor start_group_server(caf::actor_system& sys) {
  return sys.spawn(group_server);
}

void lookup_group(caf::event_based_actor* self, const std::string& hub,
                  const std::string& name, std::chrono::nanoseconds timeout) {
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
  connect_to<group_server_actor>(
    self, host, port, span,
    [self, name, span, reply](const group_server_actor& server) {
      self->request(server, span, caf::get_atom::value, name)
        .then(guard(self->name(),
                    [reply](caf::group& grp) {
                      if (grp)
                        reply(std::move(grp), {});
                      else
                        reply({}, "the hub answered without a group");
                    }),
              guard(self->name(), [self, reply](const caf::error& err) {
                reply({}, self->system().render(err));
              }));
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
