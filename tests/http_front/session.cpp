#include <doctest/doctest.h>

#include <mutex>
#include <stdexcept>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_front/server.hpp"
#include "support/process.hpp"

using namespace duet;
using namespace duet::test;

namespace {

// A service that misbehaves on purpose, per key id: "throw" throws, "drop"
// destroys its callback without calling it, "hang" keeps it forever, any
// other answers at once.
struct rogue_service : verify_service {
  void verify(style, verify_request req, callback done) override {
    if (req.key_id == "throw")
      throw std::runtime_error("service throws on purpose");
    if (req.key_id == "drop")
      return;
    if (req.key_id == "hang") {
      std::lock_guard<std::mutex> guard{mtx};
      held.push_back(std::move(done));
      return;
    }
    done(verdict{true, "test/verifier-0"});
  }
  void submit(verify_request, submit_callback done) override {
    done(std::string{"ab-1"});
  }
  void task(std::string, std::chrono::milliseconds,
            task_callback done) override {
    done(caf::make_error(ec::unknown_task, "no such task"));
  }
  void cluster(cluster_callback done) override {
    done(cluster_view{});
  }
  const front_status& status() const noexcept override {
    st.router_up = true;
    return st;
  }
  mutable front_status st;
  std::mutex mtx;
  std::vector<callback> held;
};

struct fixture {
  fixture() {
    front_options opts;
    opts.http_port = 0;
    opts.default_style = style::direct;
    opts.request_timeout = std::chrono::milliseconds(300);
    srv = std::make_unique<http::server>(opts, "front", service);
    port = *srv->start();
  }

  ~fixture() {
    // Callbacks hold their sessions, which must go before the io_context
    // does (duet-node lets its actors go before its server, likewise).
    srv->stop();
    service.held.clear();
    srv.reset();
  }

  http_response post(const std::string& key) {
    nlohmann::json body{{"text", "x"}, {"hexSignature", "00"}, {"keyId", key}};
    return http_request(port, "POST", "/api/direct/signature", body.dump(),
                        5000ms);
  }

  rogue_service service;
  std::unique_ptr<http::server> srv;
  uint16_t port = 0;
};

} // namespace

TEST_SUITE("http_front.session") {
  TEST_CASE_FIXTURE(fixture, "a throwing service gets 500, the front goes on") {
    auto res = post("throw");
    CHECK(res.status == 500);
    CHECK(res.body.find("internal error") != std::string::npos);
    CHECK(post("seed").status == 200);
  }

  TEST_CASE_FIXTURE(fixture, "a dropped callback gets 503 at once") {
    auto started = std::chrono::steady_clock::now();
    auto res = post("drop");
    CHECK(res.status == 503);
    CHECK(res.headers["retry-after"] == "1");
    CHECK(std::chrono::steady_clock::now() - started < 250ms);
    CHECK(post("seed").status == 200);
  }

  TEST_CASE_FIXTURE(fixture,
                    "a callback never called gets 503 at the deadline") {
    auto started = std::chrono::steady_clock::now();
    auto res = post("hang");
    auto took = std::chrono::steady_clock::now() - started;
    CHECK(res.status == 503);
    CHECK(res.body.find("front.request-timeout") != std::string::npos);
    CHECK(took >= 300ms);
    CHECK(took < 3s);
    // A late answer finds the request answered and changes nothing.
    std::lock_guard<std::mutex> guard{service.mtx};
    for (auto& f : service.held)
      f(verdict{true, "late"});
  }

  TEST_CASE_FIXTURE(fixture, "targets that are not UTF-8 get a clean 404") {
    for (auto target : {"/api/signature/\xff\xfe", "/\xff\xfe",
                        "/api/signature/\xc0\xaf?wait=10"}) {
      auto res = http_request(port, "GET", target);
      CHECK(res.status == 404);
      CHECK(nlohmann::json::parse(res.body, nullptr, false).is_object());
    }
    CHECK(post("seed").status == 200);
  }

} // TEST_SUITE
