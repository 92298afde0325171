#include <doctest/doctest.h>

#include "http_front/connections.hpp"

using namespace duet::http;
using namespace std::chrono_literals;

namespace {

using clock_type = connection_table::clock_type;

const auto t0 = clock_type::time_point{} + 1h;

} // namespace

TEST_SUITE("http_front.connections") {
  TEST_CASE("below the limits every connection is admitted") {
    connection_table t{4, 4};
    for (int i = 0; i < 4; ++i) {
      auto a = t.admit("10.0.0.1", t0 + i * 1s);
      CHECK(a.id != 0);
      CHECK(a.evict == 0);
    }
    CHECK(t.size() == 4);
    CHECK(t.of("10.0.0.1") == 4);
  }

  TEST_CASE("at the limit the connection waiting longest makes room") {
    connection_table t{3, 3};
    auto a = t.admit("10.0.0.1", t0).id;
    auto b = t.admit("10.0.0.2", t0 + 1s).id;
    auto c = t.admit("10.0.0.3", t0 + 2s).id;
    t.busy(a); // a request in progress: never evicted
    auto d = t.admit("10.0.0.4", t0 + 3s);
    CHECK(d.id != 0);
    CHECK(d.evict == b);
    CHECK(t.size() == 3);
    // b is gone; c waits longest now.
    auto e = t.admit("10.0.0.5", t0 + 4s);
    CHECK(e.evict == c);
    // A busy connection that waits again (keep-alive) counts from then on.
    t.waiting(a, t0 + 5s);
    auto f = t.admit("10.0.0.6", t0 + 6s);
    CHECK(f.evict == d.id);
  }

  TEST_CASE("with every connection busy a new one is refused") {
    connection_table t{2, 2};
    auto a = t.admit("10.0.0.1", t0).id;
    auto b = t.admit("10.0.0.2", t0).id;
    t.busy(a);
    t.busy(b);
    auto c = t.admit("10.0.0.3", t0 + 1s);
    CHECK(c.id == 0);
    CHECK(std::string{c.reason}.find("front.max-connections")
          != std::string::npos);
    CHECK(t.size() == 2);
    t.remove(a);
    CHECK(t.admit("10.0.0.3", t0 + 2s).id != 0);
  }

  TEST_CASE("one client holds at most its share") {
    connection_table t{100, 2};
    auto a = t.admit("10.6.6.6", t0).id;
    auto b = t.admit("10.6.6.6", t0 + 1s).id;
    t.busy(a);
    // At its share, the client's own waiting connection makes room...
    auto c = t.admit("10.6.6.6", t0 + 2s);
    CHECK(c.evict == b);
    CHECK(t.of("10.6.6.6") == 2);
    // ...never another client's, and with none waiting it is refused.
    auto other = t.admit("10.0.0.1", t0 + 3s).id;
    t.busy(c.id);
    auto d = t.admit("10.6.6.6", t0 + 4s);
    CHECK(d.id == 0);
    CHECK(std::string{d.reason}.find("max-connections-per-client")
          != std::string::npos);
    CHECK(t.of("10.0.0.1") == 1);
    CHECK(other != 0);
  }

  TEST_CASE("removing forgets a connection once and ignores unknown ids") {
    connection_table t{2, 2};
    auto a = t.admit("10.0.0.1", t0).id;
    t.remove(a);
    t.remove(a);
    t.remove(12345);
    t.busy(12345);
    t.waiting(12345, t0);
    CHECK(t.size() == 0);
    CHECK(t.waiting_count() == 0);
    CHECK(t.of("10.0.0.1") == 0);
  }

  TEST_CASE("a per-client share above the total is capped at the total") {
    connection_table t{2, 1000};
    auto a = t.admit("10.0.0.1", t0).id;
    auto b = t.admit("10.0.0.1", t0).id;
    t.busy(a);
    t.busy(b);
    CHECK(t.admit("10.0.0.1", t0).id == 0);
  }

} // TEST_SUITE
