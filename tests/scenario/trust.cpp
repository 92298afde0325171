// Scenario: trust between nodes. Rogue and misconfigured nodes meet honest
// traffic; no forged verdict reaches a client and honest requests keep
// succeeding. (Plaintext and foreign-CA peers: see hardening.cpp.)

#include <doctest/doctest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <thread>

#include "actors/crypto/pki.hpp"
#include "actors/crypto/signing.hpp"
#include "support/cluster.hpp"

using namespace duet::test;
using nlohmann::json;

namespace {

// Honest clients: every answer must be right; counts what they saw.
struct honest_load {
  honest_load(cluster& c, std::string path)
    : threads(2, [this, &c, path](int t, int i) {
        auto valid = (t + i) % 2 == 0;
        auto res = c.post(path, seed_body(valid));
        std::lock_guard<std::mutex> guard{mtx};
        ++total;
        auto doc = parse_json(res);
        if (res.status != 200) {
          ++errors;
          last_error = std::to_string(res.status) + " " + res.body;
        } else if (doc.value("verified", !valid) != valid) {
          ++wrong;
        } else {
          ++by[doc.value("verifier", "")];
        }
      }) {
    // nop
  }

  void stop() {
    threads.stop();
  }

  std::mutex mtx;
  int total = 0;
  int wrong = 0;
  int errors = 0;
  std::string last_error;
  std::map<std::string, int> by;
  client_threads threads;
};

cluster_options orchestrated() {
  cluster_options opts;
  opts.verifiers = 3;
  opts.supervisor = true;
  return opts;
}

// A key folder whose "seed" is another RSA key than the article's.
std::string other_seed_keys(const std::string& dir) {
  auto pair = duet::crypto::generate_rsa(2048);
  REQUIRE(pair);
  std::filesystem::create_directories(dir);
  std::ofstream{dir + "/other.pem"} << pair->public_pem;
  std::ofstream{dir + "/keys.json"}
    << R"({"seed": {"file": "other.pem", "algorithm": "rsa-pkcs1-md5",)"
    << R"( "legacy": true}})";
  return dir;
}

// Starts one more verifier node named `name` (config/verifier-3.ini).
std::unique_ptr<process> extra_verifier(cluster& c, const std::string& name,
                                        std::vector<std::string> args) {
  args.push_back("--node.name=" + name);
  args.push_back("--node.port=" + std::to_string(free_port()));
  args.push_back("--node.http-port=0");
  args.push_back(c.opts.supervisor ? "--verifier.supervisor=127.0.0.1:"
                                       + std::to_string(c.supervisor_port)
                                   : std::string{"--verifier.supervisor=\"\""});
  for (auto& arg : c.hub_args())
    args.push_back(arg);
  return start_node("verifier-3.ini", std::move(args), c.dir + "/" + name);
}

json node_in(cluster& c, const std::string& name) {
  auto view = c.view();
  if (!view.is_object())
    return {};
  for (auto& n : view["nodes"])
    if (n["name"] == name)
      return n;
  return {};
}

} // namespace

TEST_SUITE("scenario.trust") {
  TEST_CASE("orchestration: no node registers under another's name") {
    cluster c{orchestrated()};
    REQUIRE(c.wait_verifiers_up(3));
    auto address = node_in(c, "verifier-1")["address"];
    honest_load load{c, "/api/orchestration/signature"};
    // A member with a valid certificate of its own claims verifier-1.
    std::string out;
    CHECK(run_rogue(
            "--supervisor=127.0.0.1:" + std::to_string(c.supervisor_port), out)
          == 0);
    CHECK(out.find("register as verifier-1: refused") != std::string::npos);
    CHECK(out.find("deregister verifier-1: refused") != std::string::npos);
    // A second node that really holds verifier-1's certificate, while the
    // first is alive: a conflict, visible in the view, never a replacement.
    auto twin = extra_verifier(c, "verifier-1", {});
    CHECK(wait_until([&] { return node_in(c, "verifier-1")["conflicts"] >= 1; },
                     10000ms));
    MESSAGE(node_in(c, "verifier-1").dump());
    std::this_thread::sleep_for(500ms);
    load.stop();
    CHECK(load.total > 50);
    CHECK(load.wrong == 0);
    CHECK_MESSAGE(load.errors == 0, load.last_error);
    CHECK(node_in(c, "verifier-1")["address"] == address);
    CHECK(c.view()["nodes"].size() == 3);
  }

  TEST_CASE("orchestration: a verifier with another 'seed' key never answers") {
    cluster c{orchestrated()};
    REQUIRE(c.wait_verifiers_up(3));
    auto keys = other_seed_keys(c.dir + "/other-keys");
    auto wrong = extra_verifier(c, "verifier-4", {"--verifier.keys=" + keys});
    honest_load load{c, "/api/orchestration/signature"};
    // It registers (its certificate is valid), gets a request, refuses it
    // with key_mismatch, and the front takes it out of rotation.
    auto misconfigured = [&] {
      auto n = node_in(c, "verifier-4");
      return n.is_object() && !n["instances"].empty()
             && n["instances"][0]["state"] == "misconfigured";
    };
    CHECK(wait_until(misconfigured, 15000ms));
    std::this_thread::sleep_for(500ms);
    load.stop();
    MESSAGE(node_in(c, "verifier-4").dump());
    CHECK(load.total > 50);
    CHECK(load.wrong == 0);
    CHECK_MESSAGE(load.errors == 0, load.last_error);
    CHECK(load.by.count("verifier-4/verifier-0") == 0);
    auto text = http_request(c.http_port, "GET", "/api/cluster?format=text");
    CHECK(text.body.find("misconfigured") != std::string::npos);
  }

  TEST_CASE("choreography: impostors and a wrong key never produce a verdict") {
    cluster_options opts;
    opts.verifiers = 3;
    opts.hub = true;
    cluster c{opts};
    REQUIRE(c.wait_members());
    auto keys = other_seed_keys(c.dir + "/other-keys");
    auto wrong = extra_verifier(c, "verifier-4", {"--verifier.keys=" + keys});
    std::this_thread::sleep_for(1500ms); // it joins and warms up
    std::map<std::string, bool> tasks;
    std::mutex mtx;
    {
      client_threads load{2, [&](int t, int i) {
                            auto valid = (t + i) % 2 == 0;
                            auto res = c.post("/api/choreography/signature",
                                              seed_body(valid));
                            if (res.status != 202)
                              return;
                            std::lock_guard<std::mutex> guard{mtx};
                            tasks[parse_json(res).value("taskId", "")] = valid;
                          }};
      // Meanwhile a member forges results and beats for verifier-1.
      std::string out;
      CHECK(run_rogue("--hub=127.0.0.1:" + std::to_string(c.hub_port), out)
            == 0);
      CHECK(out.find("as verifier-1: refused") != std::string::npos);
      std::this_thread::sleep_for(1000ms);
      load.stop();
    }
    REQUIRE(tasks.size() > 50);
    size_t right = 0;
    size_t by_wrong = 0;
    wait_until(
      [&] {
        right = 0;
        by_wrong = 0;
        for (auto& [id, valid] : tasks) {
          auto res = http_request(c.http_port, "GET", "/api/signature/" + id);
          auto doc = parse_json(res);
          if (doc.value("state", "") == "done"
              && doc.value("verified", !valid) == valid)
            ++right;
          if (doc.value("verifier", "").rfind("verifier-4", 0) == 0)
            ++by_wrong;
        }
        return right == tasks.size();
      },
      30000ms);
    CHECK(right == tasks.size());
    CHECK(by_wrong == 0);
    auto st = c.view()["choreography"];
    MESSAGE(st.dump());
    CHECK(st["misconfigured"].value("verifier-4", 0) > 0);
  }

  TEST_CASE(
    "choreography: copies of tasks by a member never change a verdict") {
    cluster_options opts;
    opts.verifiers = 3;
    opts.hub = true;
    cluster c{opts};
    REQUIRE(c.wait_members());
    // Clients send mostly signatures that do not match; a member swaps the
    // seed's own text and signature (which match) into copies of their
    // tasks, under their ids and under the ids it guesses come next.
    std::map<std::string, bool> tasks;
    std::mutex mtx;
    std::string out;
    {
      client_threads load{2, [&](int t, int i) {
                            // Paced: every task stays in the front's
                            // memory (choreography.keep-results).
                            std::this_thread::sleep_for(10ms);
                            auto valid = (t + i) % 5 == 0;
                            auto id = submit_task(c, seed_body(valid));
                            if (id.empty())
                              return;
                            std::lock_guard<std::mutex> guard{mtx};
                            tasks[id] = valid;
                          }};
      auto base = source_dir() + "/tests/data/seed-vector/";
      CHECK(
        run_rogue({"--hijack=127.0.0.1:" + std::to_string(c.hub_port),
                   "--swap=" + base + "arquivo.txt," + base + "signature.hex",
                   "--seconds=4"},
                  out)
        == 0);
      load.stop();
    }
    MESSAGE(out);
    CHECK(out.find("hijacking tasks") != std::string::npos);
    REQUIRE(tasks.size() > 50);
    size_t right = 0;
    size_t forged = 0;
    wait_until(
      [&] {
        right = 0;
        forged = 0;
        for (auto& [id, valid] : tasks) {
          auto doc = parse_json(
            http_request(c.http_port, "GET", "/api/signature/" + id));
          if (doc.value("state", "") != "done")
            continue;
          if (doc.value("verified", !valid) == valid)
            ++right;
          else
            ++forged;
        }
        return right + forged == tasks.size();
      },
      30000ms);
    CHECK(forged == 0);
    CHECK(right == tasks.size());
    // Verifiers did answer forged copies, but to the rogue: the hub marks a
    // task with the front that published it, so no copy's verdict even
    // reaches the front. The tasks the rogue owned and sat on went to
    // other consumers.
    CHECK(out.find(" verdicts on them came back to this rogue")
          != std::string::npos);
    CHECK(out.find(", 0 verdicts on them") == std::string::npos);
    auto st = c.view()["choreography"];
    MESSAGE(st.dump());
    CHECK(st.value("mismatched", 0) == 0);
    for (auto& [name, n] : st["byVerifier"].items())
      CHECK(name.find("rogue") == std::string::npos);
  }

  TEST_CASE("an HTTPS front serves clients that check its certificate") {
    cluster_options opts;
    opts.verifiers = 1;
    cluster c{opts};
    REQUIRE(c.wait_verifiers_up(1));
    auto pki = c.dir + "/https";
    REQUIRE(duet::pki::init_ca(pki));
    REQUIRE(duet::pki::issue(pki, "front-https", {"front"}, {"127.0.0.1"}));
    auto port = free_port();
    auto https = start_node(
      "front.ini",
      {"--front.http-port=" + std::to_string(port),
       "--front.verifiers=[\"127.0.0.1:" + std::to_string(c.verifier_ports[0])
         + "\"]",
       "--front.style=direct", "--front.supervisor=\"\"", c.hub_args()[0],
       "--front.tls-certificate=" + pki + "/front-https.pem",
       "--front.tls-key=" + pki + "/front-https.key"},
      c.dir + "/front-https");
    REQUIRE(wait_until(
      [&] { return https->out().find("ready:") != std::string::npos; },
      10000ms));
    json b{{"text", seed().text}, {"hexSignature", seed().signature}};
    http_response res;
    CHECK(wait_until(
      [&] {
        res = https_request(port, pki + "/ca.pem", "127.0.0.1", "POST",
                            "/api/signature", b.dump());
        return res.status == 200;
      },
      10000ms));
    CHECK(parse_json(res)["verified"] == true);
    CHECK(parse_json(res)["keyId"] == "seed");
    // A client that does not trust the CA, and a plaintext client, get
    // nothing.
    CHECK(
      https_request(port, test_pki::ca(), "127.0.0.1", "GET", "/healthz").status
      == 0);
    CHECK(http_request(port, "GET", "/healthz", {}, 2000ms).status == 0);
  }

} // TEST_SUITE
