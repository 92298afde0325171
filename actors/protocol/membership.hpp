#pragma once

// The choreography's consumers as a front knows them: the live members
// from their heartbeats, and the owner of each task by rendezvous hashing
// over them (a member that leaves moves only its own tasks). Bounded:
// members come from peers.

#include <chrono>
#include <cstddef>
#include <map>
#include <string>
#include <vector>

#include "actors/core/limits.hpp"

namespace duet {

/// Returns the owner of task `id` among `members` (rendezvous hashing): the
/// member `m` with the largest `mix(fnv1a(m) ^ mix(fnv1a(id)))`.
std::string task_owner(const std::string& id,
                       const std::vector<std::string>& members);

/// The live consumers as a front sees them on one hub, from their
/// heartbeats, and the owner of each task among them.
class membership {
public:
  using clock_type = std::chrono::steady_clock;
  using time_point = clock_type::time_point;

  /// What a heartbeat changed.
  enum class change { none, joined, left, refused };

  /// At most `max_members` members.
  explicit membership(size_t max_members = limits::members);

  /// Books a heartbeat of `member` (`leaving` on its clean stop).
  change beat(const std::string& member, bool leaving, time_point now);

  /// Drops members silent since before `now - timeout`; returns them.
  std::vector<std::string> expire(time_point now,
                                  std::chrono::nanoseconds timeout);

  /// Returns the owner of task `id` among the members not in `excluded`
  /// (those that declined it or did not answer it), or empty.
  std::string owner(const std::string& id,
                    const std::vector<std::string>& excluded = {}) const;

  /// Returns whether `member` is live.
  bool contains(const std::string& member) const {
    return last_beat_.count(member) > 0;
  }

  /// Returns the members, sorted.
  const std::vector<std::string>& names() const noexcept {
    return names_;
  }

  size_t size() const noexcept {
    return names_.size();
  }

private:
  void changed();

  size_t max_members_;
  /// Last heartbeat per member.
  std::map<std::string, time_point> last_beat_;
  std::vector<std::string> names_;
};

} // namespace duet
