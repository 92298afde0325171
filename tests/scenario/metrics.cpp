// Scenario: /metrics in Prometheus text format on fronts and verifier nodes,
// counters that follow the traffic, /readyz.

#include <doctest/doctest.h>

#include <csignal>
#include <regex>
#include <sstream>

#include "support/cluster.hpp"

using namespace duet::test;
using nlohmann::json;

namespace {

// Parses the Prometheus text format; fails the test on a malformed line.
std::map<std::string, double> parse_metrics(const std::string& text) {
  static const std::regex sample{
    R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$)"};
  std::map<std::string, double> result;
  std::istringstream in{text};
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty() || line.compare(0, 7, "# HELP ") == 0
        || line.compare(0, 7, "# TYPE ") == 0)
      continue;
    std::smatch m;
    CHECK_MESSAGE(std::regex_match(line, m, sample), line);
    if (!m.empty())
      result[m[1].str() + m[2].str()] = std::stod(m[3].str());
  }
  return result;
}

std::map<std::string, double> scrape(uint16_t port) {
  auto res = http_request(port, "GET", "/metrics");
  REQUIRE(res.status == 200);
  CHECK(res.headers["content-type"].find("text/plain") == 0);
  return parse_metrics(res.body);
}

} // namespace

TEST_SUITE("scenario.metrics") {
  TEST_CASE("metrics parse and move with the requests") {
    cluster c;
    REQUIRE(c.wait_verifiers_up(2));
    seed_vector seed;
    const std::string match
      = R"(duet_requests_total{outcome="match",style="direct"})";
    const std::string mismatch
      = R"(duet_requests_total{outcome="mismatch",style="direct"})";
    const std::string bad
      = R"(duet_requests_total{outcome="client_error",style="direct"})";
    auto before = scrape(c.http_port);
    for (int i = 0; i < 3; ++i)
      CHECK(c.post("/api/direct/signature",
                   {{"text", seed.text}, {"hexSignature", seed.signature}})
              .status
            == 200);
    for (int i = 0; i < 2; ++i)
      CHECK(c.post("/api/direct/signature",
                   {{"text", "other"}, {"hexSignature", seed.signature}})
              .status
            == 200);
    CHECK(c.post("/api/direct/signature", {{"text", "x"}}).status == 400);
    auto after = scrape(c.http_port);
    CHECK(after[match] - before[match] == 3);
    CHECK(after[mismatch] - before[mismatch] == 2);
    CHECK(after[bad] - before[bad] == 1);
    CHECK(after[R"(duet_request_duration_seconds_count{style="direct"})"]
            - before[R"(duet_request_duration_seconds_count{style="direct"})"]
          == 6);
    CHECK(after.count("duet_requests_in_flight") == 1);

    // Each verifier node counts its own verifications.
    double verified = 0;
    for (size_t i = 0; i < 2; ++i) {
      auto m = scrape(c.verifier_http_ports[i]);
      auto name = "verifier-" + std::to_string(i + 1) + "/verifier-0";
      verified += m[R"(duet_verifications_total{instance=")" + name
                    + R"(",result="match"})"];
      verified += m[R"(duet_verifications_total{instance=")" + name
                    + R"(",result="mismatch"})"];
    }
    CHECK(verified == 5);

    // A killed verifier is counted as a failure detection.
    c.verifiers[1]->signal(SIGKILL);
    REQUIRE(c.wait_verifiers_up(1));
    auto detected = scrape(c.http_port);
    CHECK(detected[R"(duet_failure_detections_total{by="router",what="node"})"]
          >= 1);
  }

  TEST_CASE("readyz reports not-ready without verifiers") {
    cluster c;
    REQUIRE(c.wait_verifiers_up(2));
    CHECK(http_request(c.http_port, "GET", "/readyz").status == 200);
    auto node = http_request(c.verifier_http_ports[0], "GET", "/readyz");
    CHECK(node.status == 200);
    CHECK(http_request(c.verifier_http_ports[0], "POST", "/api/signature", "{}")
            .status
          == 404);
    for (auto& v : c.verifiers)
      v->signal(SIGKILL);
    REQUIRE(c.wait_verifiers_up(0));
    auto res = http_request(c.http_port, "GET", "/readyz");
    CHECK(res.status == 503);
    CHECK(res.body.find("no verifier node is up") != std::string::npos);
  }

} // TEST_SUITE
