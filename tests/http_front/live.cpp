#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "http_front/live.hpp"

using namespace duet::http;
using nlohmann::json;
using namespace std::chrono_literals;

TEST_SUITE("http.live") {
  TEST_CASE("the last minute per style: a count per second and percentiles") {
    live_stats stats;
    auto t0 = live_stats::clock_type::time_point{} + 1000s;
    // Second 1000: 90 fast direct requests; second 1001: 10 slow ones, 2
    // of them errors; orchestration one request.
    for (int i = 0; i < 90; ++i)
      stats.record(0, 0.001, false, t0 + 10ms);
    for (int i = 0; i < 10; ++i)
      stats.record(0, 0.100, i < 2, t0 + 1100ms);
    stats.record(1, 0.002, false, t0 + 1200ms);
    auto snap = stats.snapshot(t0 + 2500ms);
    auto& direct = snap["direct"];
    REQUIRE(direct["rps"].size() == live_stats::seconds);
    CHECK(direct["rps"][live_stats::seconds - 2] == 90);
    CHECK(direct["rps"][live_stats::seconds - 1] == 10);
    CHECK(direct["count"] == 100);
    CHECK(direct["errors"] == 2);
    // Within a bucket (25 %) of 1 ms and 100 ms.
    CHECK(direct["p50_ms"].get<double>() == doctest::Approx(1.0).epsilon(0.13));
    CHECK(direct["p99_ms"].get<double>()
          == doctest::Approx(100.0).epsilon(0.13));
    CHECK(snap["orchestration"]["count"] == 1);
    CHECK(snap["choreography"]["count"] == 0);
    CHECK(snap["choreography"]["p50_ms"].is_null());
    // The current second is not shown yet; a minute later all is gone.
    CHECK(stats.snapshot(t0 + 1500ms)["direct"]["count"] == 90);
    CHECK(stats.snapshot(t0 + 70s)["direct"]["count"] == 0);
  }

  TEST_CASE("a slot is reused only for its own second") {
    live_stats stats;
    auto t0 = live_stats::clock_type::time_point{} + 5000s;
    stats.record(0, 0.001, false, t0);
    // Sixty seconds later the same slot: the old count is dropped.
    stats.record(0, 0.001, false, t0 + 60s);
    auto snap = stats.snapshot(t0 + 61s);
    CHECK(snap["direct"]["count"] == 1);
  }

  TEST_CASE("latency buckets are ordered and bounded") {
    CHECK(live_stats::bucket_of(-1.0) == 0);
    CHECK(live_stats::bucket_of(0.0) == 0);
    CHECK(live_stats::bucket_of(1e9) == live_stats::buckets - 1);
    for (double x = 2e-5; x < 10.0; x *= 1.7) {
      auto b = live_stats::bucket_of(x);
      CHECK(live_stats::latency_of(b) == doctest::Approx(x).epsilon(0.13));
    }
  }

  TEST_CASE("changes between two cluster views") {
    auto view = [](const char* v1, const char* inst, int restarts,
                   bool hub_joined) {
      return json{
        {"nodes",
         json::array({
           {{"name", "verifier-1"},
            {"address", "127.0.0.1:1"},
            {"state", v1},
            {"instances", json::array({{{"name", "verifier-1/verifier-0"},
                                        {"state", inst},
                                        {"restarts", restarts}}})}},
           {{"name", "verifier-2"},
            {"address", "127.0.0.1:2"},
            {"state", "up"},
            {"instances", json::array()}},
         })},
        {"choreography",
         {{"hubs",
           json::array({{{"address", "h:1"}, {"joined", hub_joined}}})}}}};
    };
    auto before = view("up", "up", 0, true);
    CHECK(cluster_changes(before, before).empty());
    auto down = cluster_changes(before, view("down", "down", 0, false));
    REQUIRE(down.size() == 3);
    CHECK(down[0]["kind"] == "node down");
    CHECK(down[0]["name"] == "verifier-1");
    CHECK(down[1]["kind"] == "instance state");
    CHECK(down[1]["detail"] == "down");
    CHECK(down[2]["kind"] == "hub lost");
    auto back = cluster_changes(view("down", "down", 0, false),
                                view("up", "up", 1, true));
    REQUIRE(back.size() == 4);
    CHECK(back[0]["kind"] == "node back");
    CHECK(back[1]["kind"] == "instance restarted");
    CHECK(back[2]["kind"] == "instance state");
    CHECK(back[3]["kind"] == "hub joined");
    // Nodes and a hub first seen come "back" and "joined"; garbage is no
    // change.
    CHECK(cluster_changes(json{}, before).size() == 3);
    CHECK(cluster_changes(before, json::array()).empty());
    CHECK(cluster_changes(json{{"nodes", 3}}, json{{"nodes", "x"}}).empty());
  }
} // TEST_SUITE
