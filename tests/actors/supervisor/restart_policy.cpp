#include <doctest/doctest.h>

#include "actors/supervisor/restart_policy.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

const auto t0 = restart_policy::clock_type::time_point{} + 1h;

restart_policy::config config() {
  restart_policy::config cfg;
  cfg.intensity = 3;
  cfg.period = 10s;
  cfg.backoff = 100ms;
  cfg.backoff_max = 2s;
  cfg.cooldown = 5s;
  cfg.cooldown_max = 12s;
  return cfg;
}

} // namespace

TEST_SUITE("actors.restart_policy") {
  TEST_CASE("restarts back off, doubling per recent crash") {
    restart_policy p{config()};
    auto a = p.crashed(t0);
    CHECK_FALSE(a.failed);
    CHECK(a.delay == 100ms);
    CHECK(p.crashed(t0 + 1s).delay == 200ms);
    CHECK(p.crashed(t0 + 2s).delay == 400ms);
    // A crash long after the others starts over.
    restart_policy q{config()};
    q.crashed(t0);
    CHECK(q.crashed(t0 + 11s).delay == 100ms);
  }

  TEST_CASE("past the intensity an instance fails, then is tried again") {
    restart_policy p{config()};
    for (int i = 0; i < 3; ++i)
      CHECK_FALSE(p.crashed(t0 + i * 100ms).failed);
    auto d = p.crashed(t0 + 400ms);
    CHECK(d.failed);
    CHECK(d.delay == 5s); // the cool-down, not forever
    CHECK(p.failures() == 1);
    CHECK(p.recent_crashes() == 0);
    // Restarted after the cool-down, it crashes at once again: the cool-down
    // doubles, up to its maximum.
    p.restarted(t0 + 5500ms);
    for (int i = 0; i < 3; ++i)
      CHECK_FALSE(p.crashed(t0 + 6s + i * 10ms).failed);
    auto e = p.crashed(t0 + 6100ms);
    CHECK(e.failed);
    CHECK(e.delay == 10s);
    p.restarted(t0 + 17s);
    for (int i = 0; i < 3; ++i)
      p.crashed(t0 + 17100ms + i * 10ms);
    CHECK(p.crashed(t0 + 17200ms).delay == 12s);
  }

  TEST_CASE("a whole period without crashes forgives earlier failures") {
    restart_policy p{config()};
    for (int i = 0; i < 4; ++i)
      p.crashed(t0 + i * 10ms);
    CHECK(p.failures() == 1);
    p.restarted(t0 + 5s);
    auto d = p.crashed(t0 + 30s);
    CHECK_FALSE(d.failed);
    CHECK(p.failures() == 0);
  }

} // TEST_SUITE
