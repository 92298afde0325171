#pragma once

// Counters by name, where names come from peers: at most a fixed number of
// names are kept, the rest are counted together under "other".

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>

#include "actors/core/limits.hpp"

namespace duet {

/// Counts per name, bounded in the number of names.
class name_counts {
public:
  /// The name that counts everything past the limit.
  static constexpr const char* other = "other";

  explicit name_counts(size_t max_names = limits::counted_names)
    : max_names_(max_names) {
    // nop
  }

  /// Adds `n` to the count of `name`, or of "other" once `max_names` - 1
  /// names are counted and `name` is not one of them.
  void add(const std::string& name, uint64_t n = 1) {
    auto i = counts_.find(name);
    if (i == counts_.end() && counts_.size() + 1 >= max_names_)
      i = counts_.emplace(other, 0).first;
    else if (i == counts_.end())
      i = counts_.emplace(name, 0).first;
    i->second += n;
  }

  /// Returns the count of `name` (0 if not counted).
  uint64_t get(const std::string& name) const {
    auto i = counts_.find(name);
    return i == counts_.end() ? 0 : i->second;
  }

  /// Forgets `name`.
  void erase(const std::string& name) {
    counts_.erase(name);
  }

  /// Returns every count by name.
  const std::map<std::string, uint64_t>& all() const noexcept {
    return counts_;
  }

  /// Returns the number of names counted ("other" included), at most
  /// `max_names`.
  size_t size() const noexcept {
    return counts_.size();
  }

private:
  size_t max_names_;
  std::map<std::string, uint64_t> counts_;
};

} // namespace duet
