// The dashboard (GET /) in a real browser: Debian's chromium driven by
// puppeteer-core (tests/browser, installed by tools/install-deps), and the
// event stream it follows.

#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/cluster.hpp"

using namespace duet::test;
using nlohmann::json;

namespace {

const std::string chromium = "/usr/bin/chromium";
const std::string node_js = "/usr/bin/node";

std::string browser_dir() {
  return std::string{DUET_SOURCE_DIR} + "/tests/browser";
}

// The line of `out` that starts with `prefix` (without it), if any.
std::optional<std::string> line_of(const std::string& out,
                                   const std::string& prefix) {
  size_t pos = 0;
  while (pos < out.size()) {
    auto end = out.find('\n', pos);
    if (end == std::string::npos)
      break;
    if (out.compare(pos, prefix.size(), prefix) == 0)
      return out.substr(pos + prefix.size(), end - pos - prefix.size());
    pos = end + 1;
  }
  return std::nullopt;
}

void touch(const std::string& path) {
  std::ofstream{path} << "1\n";
}

cluster_options all_styles() {
  cluster_options opts;
  opts.verifiers = 2;
  opts.supervisor = true;
  opts.hub = true;
  return opts;
}

} // namespace

TEST_SUITE("scenario.dashboard") {
  TEST_CASE("GET /api/events streams the cluster; GET /api/live answers it "
            "once") {
    cluster c{all_styles()};
    REQUIRE(c.wait_verifiers_up(2));
    auto live = http_request(c.http_port, "GET", "/api/live");
    REQUIRE(live.status == 200);
    auto state = json::parse(live.body);
    CHECK(state["cluster"]["front"] == "front");
    CHECK(state["styles"].contains("orchestration"));
    tcp_client stream{c.http_port};
    REQUIRE(stream.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n"));
    auto got = stream.read_all(2500ms);
    CHECK(got.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
    CHECK(got.find("Content-Type: text/event-stream") != std::string::npos);
    size_t events = 0;
    for (auto pos = got.find("event: state\ndata: {"); pos != std::string::npos;
         pos = got.find("event: state\ndata: {", pos + 1))
      ++events;
    MESSAGE(events, " events in 2.5 s");
    CHECK(events >= 3); // one at once, then every 500 ms
    // Streams are bounded: past 16 (this one included) a new one gets 503.
    std::vector<std::unique_ptr<tcp_client>> more;
    for (int i = 0; i < 15; ++i) {
      more.push_back(std::make_unique<tcp_client>(c.http_port));
      REQUIRE(more.back()->send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n"));
    }
    CHECK(wait_until(
      [&] {
        tcp_client extra{c.http_port};
        extra.send("GET /api/events HTTP/1.1\r\nHost: x\r\n\r\n");
        auto answer = extra.read_all(1000ms);
        return answer.rfind("HTTP/1.1 503", 0) == 0
               && answer.find("too many event streams") != std::string::npos;
      },
      5000ms));
    more.clear();
    // The page itself: self-contained, with the article's text inside.
    auto page = http_request(c.http_port, "GET", "/");
    CHECK(page.status == 200);
    CHECK(page.body.find("<title>duet</title>") != std::string::npos);
    CHECK(page.body.find("new EventSource(\"/api/events\")")
          != std::string::npos);
    CHECK(page.body.find("src=\"http") == std::string::npos); // no CDN
  }

  TEST_CASE("in a browser: every node shows, a killed one is down within 2 "
            "s and up after its restart, the form verifies in each style") {
    REQUIRE_MESSAGE(std::filesystem::exists(chromium),
                    "chromium is missing: run tools/install-deps");
    REQUIRE_MESSAGE(
      std::filesystem::exists(browser_dir() + "/node_modules/puppeteer-core"),
      "puppeteer-core is missing: run tools/install-deps");
    cluster c{all_styles()};
    REQUIRE(c.wait_verifiers_up(2));
    REQUIRE(c.wait_members());
    auto shot = std::string{DUET_ARTIFACT_DIR} + "/dashboard.png";
    std::filesystem::create_directories(DUET_ARTIFACT_DIR);
    std::filesystem::remove(shot);
    process browser{{node_js, browser_dir() + "/dashboard.mjs",
                     "http://127.0.0.1:" + std::to_string(c.http_port) + "/",
                     chromium, shot, c.dir, "2", "verifier-1"},
                    c.dir + "/browser"};
    auto said = [&](const std::string& prefix,
                    std::chrono::milliseconds timeout) {
      std::optional<std::string> line;
      wait_until(
        [&] {
          line = line_of(browser.out(), prefix);
          return line.has_value() || line_of(browser.out(), "FAIL ")
                 || !browser.running();
        },
        timeout);
      if (!line)
        MESSAGE("browser: ", browser.out(), browser.err());
      return line;
    };
    auto ready = said("READY ", 60s);
    REQUIRE(ready);
    CHECK(*ready == "live"); // following the event stream, not polling
    auto killed = std::chrono::steady_clock::now();
    c.verifiers[0]->signal(SIGKILL);
    c.verifiers[0]->wait(5000ms);
    touch(c.dir + "/killed");
    auto down = said("DOWN ", 20s);
    REQUIRE(down);
    auto took = ms_since(killed);
    MESSAGE("verifier-1 shown down ", took, " ms after the kill");
    CHECK(took < 2000);
    c.start_verifier(0);
    touch(c.dir + "/restarted");
    auto up = said("UP ", 40s);
    REQUIRE(up);
    MESSAGE("shown up again ", *up, " ms after the restart");
    for (auto style : {"orchestration", "direct", "choreography"}) {
      auto answer = said(std::string{"ANSWER "} + style + " ", 60s);
      REQUIRE(answer);
      CHECK_MESSAGE(answer->find("\\\"verified\\\":true") != std::string::npos,
                    style, ": ", *answer);
    }
    auto log = said("LOG ", 10s);
    REQUIRE(log);
    CHECK(log->find("node down verifier-1") != std::string::npos);
    auto errors = said("ERRORS ", 20s);
    REQUIRE(errors);
    CHECK(*errors == "[]"); // the console stayed free of errors
    CHECK(said("DONE", 20s));
    CHECK(browser.wait(20000ms) == 0);
    CHECK(std::filesystem::exists(shot));
  }
} // TEST_SUITE
