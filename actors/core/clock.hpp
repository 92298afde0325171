#pragma once

// Wall-clock time as duet stores and signs it.

#include <chrono>
#include <cstdint>

namespace duet {

/// Milliseconds since the Unix epoch (the system clock).
inline int64_t unix_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch())
    .count();
}

} // namespace duet
