#include "actors/protocol/group_lookup.hpp"

#include <algorithm>
#include <mutex>
#include <vector>

#include <caf/abstract_group.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/core/log.hpp"
#include "actors/core/options.hpp"
#include "actors/protocol/connect.hpp"
#include "actors/runtime/guard.hpp"

namespace duet {

void lookup_group(caf::event_based_actor* self,
                  const std::shared_ptr<const node_identity>& identity,
                  const std::string& hub, const std::string& name,
                  std::chrono::nanoseconds timeout) {
  auto reply = [self, name](caf::group grp, caf::error error) {
    self->send(self, lookup_atom::value,
               group_lookup{name, std::move(grp), std::move(error)});
  };
  std::string host;
  uint16_t port = 0;
  if (!split_address(hub, host, port)) {
    reply({}, caf::make_error(ec::invalid_config,
                              "'" + hub + "' is not host:port"));
    return;
  }
  auto span = caf::timespan{timeout};
  auto failed = [reply](const caf::error& err) { reply({}, err); };
  auto ask = [self, name, span, reply, failed, identity](
               const group_server_actor& server, const std::string& challenge) {
    auto proof = identity->prove(purpose::group, challenge);
    if (!proof) {
      reply({}, std::move(proof.error()));
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
                      reply({}, caf::make_error(ec::invalid_message,
                                                "the hub answered without a "
                                                "group"));
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
    failed);
}

void retry_lookup(caf::event_based_actor* self, const group_lookup& failed,
                  const std::string& hub, std::chrono::nanoseconds pause) {
  log::warning("cannot use group ", failed.name, " on hub ", hub, ": ",
               self->system().render(failed.error), "; retrying");
  self->delayed_send(self, pause, local::lookup{failed.name});
}

namespace {

// The hub groups whose link died in this process (see `hub_groups::stale`),
// a few per lost hub. Raw pointers: CAF keeps a remote group's proxy until
// the actor system stops, so an address is never reused while it counts,
// and nothing here outlives the system.
std::mutex dead_mtx;
std::vector<const caf::abstract_group*> dead_groups;

void remember_dead(const caf::group& grp) {
  if (!grp)
    return;
  std::lock_guard<std::mutex> guard{dead_mtx};
  if (std::find(dead_groups.begin(), dead_groups.end(), grp.get())
      != dead_groups.end())
    return;
  if (dead_groups.size() >= 64)
    dead_groups.erase(dead_groups.begin());
  dead_groups.push_back(grp.get());
}

bool is_dead(const caf::group& grp) {
  std::lock_guard<std::mutex> guard{dead_mtx};
  return std::find(dead_groups.begin(), dead_groups.end(), grp.get())
         != dead_groups.end();
}

} // namespace

hub_groups::hub_groups(caf::event_based_actor* self,
                       std::shared_ptr<const node_identity> identity,
                       config cfg)
  : self_(self), identity_(std::move(identity)), cfg_(std::move(cfg)) {
  // nop
}

void hub_groups::lookup_all() {
  lookup(task_group_name);
  lookup(result_group_name);
}

void hub_groups::lookup(const std::string& name) {
  lookup_group(self_, identity_, cfg_.hub, name, cfg_.lookup_timeout);
}

const caf::group* hub_groups::on_lookup(group_lookup& r) {
  if (!r.grp) {
    retry_lookup(self_, r, cfg_.hub, cfg_.lookup_retry);
    return nullptr;
  }
  if (is_dead(r.grp)) {
    log::error("hub ", cfg_.hub, " handed out ", r.name,
               " again after its link died (a partition that healed): CAF "
               "0.17 cannot use it again in this process; choreography is "
               "off on this node until it restarts");
    stale_ = true;
    return nullptr;
  }
  auto is_tasks = r.name == task_group_name;
  if (!is_tasks || cfg_.join_tasks)
    self_->join(r.grp);
  auto& slot = is_tasks ? tasks_ : results_;
  slot = std::move(r.grp);
  log::info("using ", r.name, " on hub ", cfg_.hub);
  return &slot;
}

bool hub_groups::on_down(const caf::group_down_msg& msg) {
  if (msg.source != tasks_ && msg.source != results_)
    return false;
  // Both groups live on the hub: both are gone.
  log::warning("hub ", cfg_.hub, " lost; looking its groups up again");
  remember_dead(tasks_);
  remember_dead(results_);
  tasks_ = caf::group{};
  results_ = caf::group{};
  lookup_all();
  return true;
}

} // namespace duet
