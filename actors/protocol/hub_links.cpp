#include "actors/protocol/hub_links.hpp"

#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>

#include "actors/core/log.hpp"
#include "actors/core/options.hpp"
#include "actors/protocol/connect.hpp"
#include "actors/runtime/guard.hpp"

namespace duet {

std::string task_topic(const std::string& node) {
  return "tasks/" + node;
}

std::string result_topic(const std::string& front) {
  return "results/" + front;
}

hub_links::hub_links(caf::event_based_actor* self,
                     std::shared_ptr<const node_identity> identity, config cfg)
  : self_(self),
    identity_(std::move(identity)),
    cfg_(std::move(cfg)),
    links_(cfg_.hubs.size()) {
  // nop
}

void hub_links::start() {
  for (size_t i = 0; i < links_.size(); ++i)
    reconnect(i);
}

void hub_links::reconnect(size_t index) {
  if (index >= links_.size())
    return;
  auto& l = links_[index];
  if (l.handle || l.busy)
    return;
  l.busy = true;
  auto epoch = l.epoch;
  std::string host;
  uint16_t port = 0;
  if (!split_address(cfg_.hubs[index], host, port)) {
    failed(index, epoch,
           caf::make_error(ec::invalid_config,
                           "'" + cfg_.hubs[index] + "' is not host:port"));
    return;
  }
  connect_to<hub_actor>(
    self_, host, port, caf::timespan{cfg_.timeout},
    [this, index, epoch](const hub_actor& hub) { join_all(index, epoch, hub); },
    [this, index, epoch](const caf::error& err) { failed(index, epoch, err); });
}

// Joins every topic, each over a challenge of its own (a challenge is good
// for one proof); once all answered, the owner gets `local::hub_joined`.
void hub_links::join_all(size_t index, uint64_t epoch, const hub_actor& hub) {
  auto left = std::make_shared<size_t>(cfg_.topics.size());
  auto span = caf::timespan{cfg_.timeout};
  for (auto& topic : cfg_.topics) {
    auto fail = [this, index, epoch](const caf::error& err) {
      failed(index, epoch, err);
    };
    self_->request(hub, span, challenge_atom::value)
      .then(
        guard(
          self_->name(),
          [this, hub, topic, span, left, index, epoch,
           fail](const std::string& challenge) {
            auto proof = identity_->prove(purpose::group, challenge);
            if (!proof) {
              fail(proof.error());
              return;
            }
            self_
              ->request(hub, span, join_atom::value, topic, identity_->name,
                        std::move(*proof))
              .then(
                guard(
                  self_->name(),
                  [this, hub, left, index, epoch](bool) {
                    if (--*left == 0)
                      self_->send(self_, local::hub_joined{index, epoch, hub});
                  }),
                guard(self_->name(), fail));
          }),
        guard(self_->name(), fail));
  }
}

void hub_links::failed(size_t index, uint64_t epoch, const caf::error& err) {
  auto& l = links_[index];
  if (l.epoch != epoch)
    return;
  // One failure of several joins ends the attempt; the others' answers
  // then belong to an old epoch.
  ++l.epoch;
  l.busy = false;
  log::warning("cannot use hub ", cfg_.hubs[index], ": ",
               self_->system().render(err), "; retrying");
  self_->delayed_send(self_, cfg_.retry, local::reconnect_hub{index});
}

size_t hub_links::on_joined(local::hub_joined& x) {
  if (x.index >= links_.size())
    return npos;
  auto& l = links_[x.index];
  if (!l.busy || l.epoch != x.epoch)
    return npos; // an attempt that failed meanwhile
  l.busy = false;
  l.handle = std::move(x.hub);
  self_->monitor(l.handle);
  log::info("joined hub ", cfg_.hubs[x.index]);
  return x.index;
}

size_t hub_links::on_down(const caf::down_msg& msg) {
  for (size_t i = 0; i < links_.size(); ++i) {
    auto& l = links_[i];
    if (!l.handle || l.handle.address() != msg.source)
      continue;
    log::warning("hub ", cfg_.hubs[i], " lost (",
                 self_->system().render(msg.reason), "); connecting again");
    l.handle = nullptr;
    ++l.epoch;
    self_->delayed_send(self_, cfg_.retry, local::reconnect_hub{i});
    return i;
  }
  return npos;
}

size_t hub_links::index_of(const caf::strong_actor_ptr& sender) const {
  if (!sender)
    return npos;
  for (size_t i = 0; i < links_.size(); ++i)
    if (links_[i].handle && links_[i].handle.address() == sender->address())
      return i;
  return npos;
}

size_t hub_links::first_joined() const {
  for (size_t i = 0; i < links_.size(); ++i)
    if (links_[i].handle)
      return i;
  return npos;
}

size_t hub_links::joined() const {
  size_t n = 0;
  for (auto& l : links_)
    n += l.handle ? 1 : 0;
  return n;
}

} // namespace duet
