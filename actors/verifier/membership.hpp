#pragma once

// What one choreography consumer knows of the others: the live members
// (itself included) from their heartbeats, and the owner of each task by
// rendezvous hashing over them. Every consumer computes the same owner from
// the same membership. Bounded: members come from peers.

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

/// The live members as one consumer sees them.
class membership {
public:
  using clock_type = std::chrono::steady_clock;
  using time_point = clock_type::time_point;

  /// What a heartbeat changed.
  enum class change { none, joined, left, refused };

  /// `self` is always a member; at most `max_members` in all.
  explicit membership(std::string self, size_t max_members = limits::members);

  /// Books a heartbeat of `member` (`leaving` on its clean stop).
  change beat(const std::string& member, bool leaving, time_point now);

  /// Drops members silent since before `now - timeout`; returns them.
  std::vector<std::string> expire(time_point now,
                                  std::chrono::nanoseconds timeout);

  /// Returns whether this consumer owns task `id`.
  bool mine(const std::string& id) const {
    return task_owner(id, names_) == self_;
  }

  /// Returns whether this consumer owns task `id` among the members that
  /// did not decline it.
  bool mine(const std::string& id,
            const std::vector<std::string>& declined) const;

  /// Returns the members, sorted.
  const std::vector<std::string>& names() const noexcept {
    return names_;
  }

  size_t size() const noexcept {
    return names_.size();
  }

  const std::string& self() const noexcept {
    return self_;
  }

private:
  void changed();

  std::string self_;
  size_t max_members_;
  /// Last heartbeat per member (not for `self_`).
  std::map<std::string, time_point> last_beat_;
  std::vector<std::string> names_;
};

} // namespace duet
