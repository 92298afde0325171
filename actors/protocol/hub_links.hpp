#pragma once

// A member's links to the choreography's hubs (hub/hub.hpp), held by the
// task desk of a front and by the consumer of a verifier node: every hub of
// `choreography.hubs` is connected to, its challenge answered and the
// member's topics joined, each step within a deadline; a hub that is lost
// (its link dies or it stops) is connected to again every retry pause,
// without restarting anything, so a hub that comes back after a crash or a
// partition is used again.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include "actors/protocol/fwd.hpp"
#include "actors/protocol/identity.hpp"

namespace duet {

/// The task group of verifier node `node` on a hub.
std::string task_topic(const std::string& node);

/// The result group of front `front` on a hub.
std::string result_topic(const std::string& front);

/// The member group on a hub: the consumers' heartbeats, for the fronts.
constexpr const char* member_topic = "members";

/// The links of one member to all hubs. The owner forwards its
/// `local::reconnect_hub`, `local::hub_joined` and `caf::down_msg`.
class hub_links {
public:
  struct config {
    /// "host:port" of each hub, in order of preference.
    std::vector<std::string> hubs;
    /// What the member joins on every hub.
    std::vector<std::string> topics;
    /// Each step of a join (connect, challenge, join) within this...
    std::chrono::nanoseconds timeout;
    /// ...and a hub that failed or was lost is tried again after this.
    std::chrono::nanoseconds retry;
  };

  hub_links(caf::event_based_actor* self,
            std::shared_ptr<const node_identity> identity, config cfg);

  /// Connects to every hub.
  void start();

  /// Connects to hub `index` again (`local::reconnect_hub`).
  void reconnect(size_t index);

  /// Takes `local::hub_joined`: hub `index` is usable; returns its index.
  size_t on_joined(local::hub_joined& x);

  /// Takes a `down_msg`: returns the index of the hub it was about (then
  /// forgotten and connected to again after `retry`), or `npos`.
  size_t on_down(const caf::down_msg& msg);

  /// Returns the index of the hub behind `sender`, or `npos`.
  size_t index_of(const caf::strong_actor_ptr& sender) const;

  /// Returns hub `index` (invalid while it is not joined).
  const hub_actor& at(size_t index) const {
    return links_[index].handle;
  }

  /// Returns the first joined hub in order of preference, or `npos`.
  size_t first_joined() const;

  /// Returns the number of joined hubs.
  size_t joined() const;

  /// Returns the number of hubs.
  size_t size() const noexcept {
    return links_.size();
  }

  /// Returns "host:port" of hub `index`.
  const std::string& address(size_t index) const {
    return cfg_.hubs[index];
  }

  static constexpr size_t npos = static_cast<size_t>(-1);

private:
  struct link {
    hub_actor handle;
    /// A connect or join is under way (one at a time per hub).
    bool busy = false;
    /// Bumped whenever the link is lost: answers of older attempts are
    /// ignored.
    uint64_t epoch = 0;
  };

  void join_all(size_t index, uint64_t epoch, const hub_actor& hub);
  void failed(size_t index, uint64_t epoch, const caf::error& err);

  caf::event_based_actor* self_;
  std::shared_ptr<const node_identity> identity_;
  config cfg_;
  std::vector<link> links_;
};

} // namespace duet
