#include "actors/protocol/membership.hpp"

#include <algorithm>
#include <cstdint>

namespace duet {

namespace {

uint64_t fnv1a(const std::string& str) {
  uint64_t h = 14695981039346656037ull;
  for (auto c : str) {
    h ^= static_cast<uint8_t>(c);
    h *= 1099511628211ull;
  }
  return h;
}

// SplitMix64's finalizer: FNV-1a alone mixes its last bytes too weakly for
// rendezvous hashing (tasks differing in the last digit rank members alike).
uint64_t mix(uint64_t x) {
  x ^= x >> 30;
  x *= 0xbf58476d1ce4e5b9ull;
  x ^= x >> 27;
  x *= 0x94d049bb133111ebull;
  x ^= x >> 31;
  return x;
}

} // namespace

std::string task_owner(const std::string& id,
                       const std::vector<std::string>& members) {
  std::string best;
  uint64_t best_hash = 0;
  auto task_hash = mix(fnv1a(id));
  for (auto& m : members) {
    auto h = mix(fnv1a(m) ^ task_hash);
    if (best.empty() || h > best_hash) {
      best = m;
      best_hash = h;
    }
  }
  return best;
}

membership::membership(size_t max_members)
  : max_members_(std::max<size_t>(max_members, 1)) {
  // nop
}

membership::change membership::beat(const std::string& member, bool leaving,
                                    time_point now) {
  auto i = last_beat_.find(member);
  if (leaving) {
    if (i == last_beat_.end())
      return change::none;
    last_beat_.erase(i);
    changed();
    return change::left;
  }
  if (i != last_beat_.end()) {
    i->second = now;
    return change::none;
  }
  if (last_beat_.size() >= max_members_)
    return change::refused;
  last_beat_.emplace(member, now);
  changed();
  return change::joined;
}

std::vector<std::string> membership::expire(time_point now,
                                            std::chrono::nanoseconds timeout) {
  std::vector<std::string> lost;
  for (auto i = last_beat_.begin(); i != last_beat_.end();) {
    if (now - i->second > timeout) {
      lost.push_back(i->first);
      i = last_beat_.erase(i);
    } else {
      ++i;
    }
  }
  if (!lost.empty())
    changed();
  return lost;
}

std::string membership::owner(const std::string& id,
                              const std::vector<std::string>& excluded) const {
  if (excluded.empty())
    return task_owner(id, names_);
  std::vector<std::string> left;
  for (auto& m : names_)
    if (std::find(excluded.begin(), excluded.end(), m) == excluded.end())
      left.push_back(m);
  return task_owner(id, left);
}

void membership::changed() {
  names_.clear();
  names_.reserve(last_beat_.size());
  for (auto& kvp : last_beat_)
    names_.push_back(kvp.first);
}

} // namespace duet
