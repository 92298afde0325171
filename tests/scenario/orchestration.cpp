// Scenario: front + supervisor + 3 verifier nodes, orchestration style.

#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <thread>

#include "support/cluster.hpp"

using namespace duet::test;
using nlohmann::json;

namespace {

using clock_type = std::chrono::steady_clock;

cluster_options orchestrated(std::vector<std::string> verifier_extra = {},
                             std::vector<std::string> front_extra = {}) {
  cluster_options opts;
  opts.verifiers = 3;
  opts.supervisor = true;
  opts.verifier_extra = std::move(verifier_extra);
  opts.front_extra = std::move(front_extra);
  return opts;
}

json seed_body() {
  static seed_vector seed;
  return {{"textFile", "arquivo.txt"}, {"hexSignature", seed.signature}};
}

// Whether the front's orchestration pool uses `name` (state up).
bool in_rotation(cluster& c, const std::string& name) {
  auto doc = c.view();
  if (!doc.is_object())
    return false;
  for (auto& x : doc["orchestration"])
    if (x["name"] == name && x["state"] == "up")
      return true;
  return false;
}

std::string state_of(cluster& c, const std::string& name) {
  auto x = c.instance(name);
  return x.is_object() ? x["state"].get<std::string>() : "";
}

uint64_t served_of(cluster& c, const std::string& name) {
  auto x = c.instance(name);
  return x.is_object() ? x["served"].get<uint64_t>() : 0;
}

const std::string v1 = "verifier-1/verifier-0";
const std::string v2 = "verifier-2/verifier-0";
const std::string v3 = "verifier-3/verifier-0";

} // namespace

TEST_SUITE("scenario.orchestration") {
  TEST_CASE("300 requests are spread evenly over 3 instances") {
    cluster c{orchestrated({}, {"--node.log-level=debug"})};
    REQUIRE_MESSAGE(c.wait_verifiers_up(3), c.front->err());
    size_t ok = 0;
    for (int i = 0; i < 300; ++i) {
      auto res = c.post("/api/orchestration/signature", seed_body());
      if (res.status == 200 && json::parse(res.body)["verified"] == true)
        ++ok;
    }
    CHECK(ok == 300);
    for (auto& name : {v1, v2, v3}) {
      auto served = served_of(c, name);
      MESSAGE(name, " served ", served);
      CAPTURE(name);
      CHECK(served >= 95);
      CHECK(served <= 105);
    }
    CHECK(c.front->err().find("Service instance: " + v2) != std::string::npos);
    auto table = http_request(c.http_port, "GET", "/api/cluster?format=text");
    CHECK(table.status == 200);
    CHECK(table.body.find(v3) != std::string::npos);
  }

  TEST_CASE("verifiers bound to every interface advertise an address "
            "fronts use") {
    // As on a host with several interfaces: bind 0.0.0.0, tell others the
    // address they reach the node at. A node that advertised its bind
    // address would give the front 0.0.0.0.
    cluster c{
      orchestrated({"--node.host=0.0.0.0", "--node.advertise=127.0.0.1"})};
    REQUIRE_MESSAGE(c.wait_verifiers_up(3), c.front->err());
    auto doc = c.view();
    REQUIRE(doc["nodes"].size() == 3);
    for (auto& n : doc["nodes"]) {
      CAPTURE(n.dump());
      CHECK(n["address"].get<std::string>().rfind("127.0.0.1:", 0) == 0);
    }
    size_t ok = 0;
    for (int i = 0; i < 30; ++i) {
      auto res = c.post("/api/orchestration/signature", seed_body());
      if (res.status == 200 && json::parse(res.body)["verified"] == true)
        ++ok;
    }
    CHECK(ok == 30);
    for (auto& name : {v1, v2, v3})
      CHECK(served_of(c, name) == 10);
  }

  TEST_CASE("least-loaded balancing routes around a stalled instance") {
    cluster c{orchestrated({}, {"--front.balance=\"least-loaded\""})};
    REQUIRE(c.wait_verifiers_up(3));
    // verifier-3 stalls for 400 ms (less than suspect-after): its request in
    // flight keeps it "loaded", so the other clients go elsewhere. Round robin
    // sends every third request there and soon blocks every client (measured:
    // 10 answers in the stall with round robin, ~1400 with least-loaded).
    std::atomic<int> ok{0};
    client_threads clients{4, [&](int, int) {
                             if (c.post("/api/signature", seed_body()).status
                                 == 200)
                               ++ok;
                           }};
    std::this_thread::sleep_for(200ms);
    c.verifiers[2]->signal(SIGSTOP);
    auto before = ok.load();
    std::this_thread::sleep_for(400ms);
    auto during = ok.load() - before;
    c.verifiers[2]->signal(SIGCONT);
    std::this_thread::sleep_for(200ms);
    clients.stop();
    MESSAGE(during, " requests answered while verifier-3 stalled");
    CHECK(during >= 40);
    for (auto& name : {v1, v2, v3})
      CHECK(served_of(c, name) > 0);
  }

  TEST_CASE("a verifier node killed under load is invisible to clients") {
    cluster c{orchestrated()};
    REQUIRE(c.wait_verifiers_up(3));
    std::atomic<int> ok{0};
    std::atomic<int> failed{0};
    client_threads clients{4, [&](int, int) {
                             if (c.post("/api/signature", seed_body()).status
                                 == 200)
                               ++ok;
                             else
                               ++failed;
                           }};
    std::this_thread::sleep_for(500ms);
    auto before = ok.load();
    c.verifiers[1]->signal(SIGKILL);
    auto t0 = clock_type::now();
    CHECK(wait_until([&] { return !in_rotation(c, v2); }, 2000ms));
    auto left_after = ms_since(t0);
    std::this_thread::sleep_for(1000ms);
    clients.stop();
    MESSAGE("left the rotation after ", left_after, " ms; ", ok.load(),
            " requests ok");
    CHECK(left_after <= 100);
    CHECK(failed == 0);
    CHECK(ok > before);
    CHECK(wait_until([&] { return state_of(c, v2) == "down"; }, 2000ms));
  }

  TEST_CASE("a frozen verifier node is marked down and gets nothing") {
    cluster c{orchestrated()};
    REQUIRE(c.wait_verifiers_up(3));
    c.verifiers[2]->signal(SIGSTOP);
    auto t0 = clock_type::now();
    REQUIRE(wait_until([&] { return state_of(c, v3) == "down"; }, 3000ms));
    auto down_after = ms_since(t0);
    MESSAGE("marked down after ", down_after, " ms");
    CHECK(down_after <= 1500);
    auto served = served_of(c, v3);
    for (int i = 0; i < 30; ++i)
      CHECK(c.post("/api/signature", seed_body()).status == 200);
    CHECK(served_of(c, v3) == served);

    c.verifiers[2]->signal(SIGCONT);
    REQUIRE(wait_until([&] { return in_rotation(c, v3); }, 10000ms));
    for (int i = 0; i < 30; ++i)
      CHECK(c.post("/api/signature", seed_body()).status == 200);
    CHECK(served_of(c, v3) > served);
  }

  TEST_CASE("a crashed verifier is restarted, then failed past the limit") {
    cluster c{orchestrated({"--verifier.fault-injection=true"})};
    REQUIRE(c.wait_verifiers_up(3));
    json crash{
      {"text", "x"}, {"hexSignature", "00"}, {"keyId", "!crash@" + v1}};
    // Requests go round robin; retry until the target gets one.
    auto crash_it = [&] {
      for (int i = 0; i < 10; ++i) {
        auto res = c.post("/api/signature", crash);
        if (res.body.find(v1 + " crashed on purpose") != std::string::npos)
          return true;
      }
      return false;
    };
    for (uint32_t n = 1; n <= 3; ++n) {
      CAPTURE(n);
      REQUIRE(wait_until([&] { return in_rotation(c, v1); }, 5000ms));
      REQUIRE(crash_it());
      auto t0 = clock_type::now();
      REQUIRE(wait_until(
        [&] {
          auto x = c.instance(v1);
          return x.is_object() && x["restarts"] == n && x["state"] == "up";
        },
        3000ms));
      auto restarted_after = ms_since(t0);
      MESSAGE("restart ", n, " after ", restarted_after, " ms");
      CHECK(restarted_after <= 1000);
    }
    REQUIRE(wait_until([&] { return in_rotation(c, v1); }, 5000ms));
    REQUIRE(crash_it());
    CHECK(wait_until([&] { return state_of(c, v1) == "failed"; }, 3000ms));
    CHECK(c.instance(v1)["restarts"] == 3);
    for (int i = 0; i < 6; ++i)
      CHECK(c.post("/api/signature", seed_body()).status == 200);
    CHECK(c.supervisor->err().find(v1 + " failed") != std::string::npos);
  }

  TEST_CASE("fault injection is refused unless the node enables it") {
    cluster c{orchestrated()};
    REQUIRE(c.wait_verifiers_up(3));
    auto res
      = c.post("/api/signature",
               {{"text", "x"}, {"hexSignature", "00"}, {"keyId", "!crash"}});
    CHECK(res.status == 400);
    CHECK(res.body.find("fault injection is off") != std::string::npos);
    for (auto& name : {v1, v2, v3})
      CHECK(state_of(c, name) == "up");
  }

  TEST_CASE("fronts serve without the supervisor, which rebuilds on return") {
    cluster c{orchestrated()};
    REQUIRE(c.wait_verifiers_up(3));
    c.supervisor->signal(SIGKILL);
    REQUIRE(c.supervisor->wait(5000ms) >= 0);
    std::map<std::string, int> by;
    for (int i = 0; i < 30; ++i) {
      auto res = c.post("/api/signature", seed_body());
      CHECK(res.status == 200);
      by[json::parse(res.body, nullptr, false).value("verifier", "")]++;
    }
    CHECK(by[v1] == 10);
    CHECK(by[v2] == 10);
    CHECK(by[v3] == 10);
    CHECK(c.view()["supervisor"]["reachable"] == false);

    c.start_supervisor();
    CHECK(wait_until(
      [&] {
        auto doc = c.view();
        if (!doc.is_object() || doc["supervisor"]["reachable"] != true
            || doc["nodes"].size() != 3)
          return false;
        for (auto& n : doc["nodes"])
          if (n["state"] != "up")
            return false;
        return true;
      },
      10000ms));
    for (int i = 0; i < 9; ++i)
      CHECK(c.post("/api/signature", seed_body()).status == 200);
  }

} // TEST_SUITE
