#pragma once

// What the dashboard shows live, as plain logic without sockets or actors:
// per style, the requests of the last minute (a count per second and the
// p50/p99 of their latencies), and the changes between two cluster views
// (a node down or back, an instance restarted or changing state).

#include <array>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace duet::http {

/// Requests of the last minute per style: one slot per second, each with a
/// count, the errors and a log-scale histogram of latencies (buckets 25 %
/// apart: percentiles within 12 %). Thread-safe; a `record` costs one lock.
class live_stats {
public:
  using clock_type = std::chrono::steady_clock;

  /// Styles as the front counts them: direct, orchestration, choreography,
  /// inline.
  static constexpr size_t styles = 4;
  static constexpr size_t seconds = 60;
  static constexpr size_t buckets = 64;

  /// Counts one request of style `index` that took `latency_s` seconds.
  void record(size_t index, double latency_s, bool error,
              clock_type::time_point now);

  /// The last minute before `now`: for each style `{"rps": [60 counts, the
  /// oldest first], "count", "errors", "p50_ms", "p99_ms"}` (percentiles
  /// null without requests).
  nlohmann::json snapshot(clock_type::time_point now) const;

  /// The bucket of a latency, and the latency a bucket stands for (its
  /// geometric middle); exposed for tests.
  static size_t bucket_of(double latency_s) noexcept;
  static double latency_of(size_t bucket) noexcept;

private:
  struct slot {
    int64_t second = -1;
    uint32_t count = 0;
    uint32_t errors = 0;
    std::array<uint32_t, buckets> histogram{};
  };

  static int64_t second_of(clock_type::time_point t) noexcept;

  mutable std::mutex mtx_;
  std::array<std::array<slot, seconds>, styles> slots_{};
};

/// The front's process-wide live statistics (fed by `count_request`).
live_stats& live();

/// The changes from cluster view `before` to `after` (both as
/// `cluster_json` renders them), each `{"kind", "name", "detail"}`: kind is
/// "node down", "node back", "node state", "instance restarted", "instance
/// state", "hub lost" or "hub joined". Nodes or instances only in `after`
/// are "node back" (or new); ones gone from `after` are not reported.
std::vector<nlohmann::json> cluster_changes(const nlohmann::json& before,
                                            const nlohmann::json& after);

} // namespace duet::http
