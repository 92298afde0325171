// Scenario: a front and two verifier nodes, direct style, over real HTTP.

#include <doctest/doctest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <set>
#include <thread>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "actors/crypto/signing.hpp"
#include "support/cluster.hpp"

using namespace duet::test;
using nlohmann::json;

namespace {

std::string message_of(const http_response& res) {
  auto doc = parse_json(res);
  if (!doc.is_object() || !doc.contains("data"))
    return {};
  return doc["data"].value("message", "");
}

} // namespace

TEST_SUITE("scenario.direct") {
  TEST_CASE("verifies the seed vector and rejects bad input") {
    cluster c;
    REQUIRE_MESSAGE(c.wait_verifiers_up(2), c.front->err());
    seed_vector seed;

    SUBCASE("seed vector by textFile") {
      auto res = c.post("/api/direct/signature",
                        {{"textFile", "arquivo.txt"},
                         {"hexSignature", seed.signature}});
      CHECK(res.status == 200);
      auto doc = parse_json(res);
      CHECK(doc["verified"] == true);
      CHECK(doc["status"] == "success");
      CHECK(doc["data"]["message"] == "signature ok!");
      CHECK(doc["verifier"].get<std::string>().find("verifier-") == 0);
    }
    SUBCASE("seed vector inline, as text and as the seed's texto") {
      for (auto field : {"text", "texto"}) {
        auto res = c.post("/api/signature", {{field, seed.text},
                                             {"hexSignature", seed.signature}});
        CHECK(res.status == 200);
        CHECK(parse_json(res)["verified"] == true);
      }
    }
    SUBCASE("LF-only copy and tampered text do not match") {
      for (auto& text : {seed.text_lf, seed.text + "!"}) {
        auto res = c.post("/api/signature",
                          {{"text", text}, {"hexSignature", seed.signature}});
        CHECK(res.status == 200);
        auto doc = parse_json(res);
        CHECK(doc["verified"] == false);
        CHECK(doc["status"] == "fail");
        CHECK(doc["data"]["message"] == "signature does not match");
      }
    }
    SUBCASE("textFile escaping the document folder is 403") {
      auto outside = c.dir + "/secret.txt";
      std::ofstream{outside} << seed.text;
      for (auto name : {std::string{"../front.ini"},
                        std::string{"../../README.md"}, outside}) {
        auto res = c.post("/api/signature", {{"textFile", name},
                                             {"hexSignature", seed.signature}});
        CHECK_MESSAGE(res.status == 403, name);
        CHECK(message_of(res).find("outside the document folder")
              != std::string::npos);
      }
      auto res = c.post("/api/signature", {{"textFile", "missing.txt"},
                                           {"hexSignature", seed.signature}});
      CHECK(res.status == 404);
    }
    SUBCASE("malformed requests get 400 naming the problem") {
      auto res = http_request(c.http_port, "POST", "/api/signature", "{nope");
      CHECK(res.status == 400);
      CHECK(message_of(res) == "request body is not valid JSON");
      res = c.post("/api/signature", {{"text", "x"}});
      CHECK(res.status == 400);
      CHECK(message_of(res) == "missing field \"hexSignature\"");
      res = c.post("/api/signature", {{"text", "x"}, {"hexSignature", "zz"}});
      CHECK(res.status == 400);
      CHECK(message_of(res).find("non-hex character") != std::string::npos);
      res = c.post("/api/signature", {{"text", "x"}, {"hexSignature", "abc"}});
      CHECK(res.status == 400);
      CHECK(message_of(res).find("odd number") != std::string::npos);
      res = c.post("/api/signature", {{"text", "x"}, {"hexSignature", "abcd"}});
      CHECK(res.status == 400);
      CHECK(message_of(res).find("needs 256") != std::string::npos);
      res = c.post("/api/signature", {{"text", "x"},
                                      {"hexSignature", seed.signature},
                                      {"keyId", "nope"}});
      CHECK(res.status == 400);
      CHECK(message_of(res).find("unknown keyId 'nope'") == 0);
    }
    SUBCASE("oversized body is 413, and the node keeps serving") {
      std::string big(2 * 1024 * 1024, 'a');
      auto res = c.post("/api/signature",
                        {{"text", big}, {"hexSignature", seed.signature}});
      CHECK(res.status == 413);
      CHECK(message_of(res).find("front.body-limit") != std::string::npos);
      res = c.post("/api/signature", {{"textFile", "arquivo.txt"},
                                      {"hexSignature", seed.signature}});
      CHECK(res.status == 200);
    }
    SUBCASE("unknown path is 404, wrong method 405, healthz answers") {
      CHECK(http_request(c.http_port, "GET", "/nope").status == 404);
      auto res = http_request(c.http_port, "GET", "/api/direct/signature");
      CHECK(res.status == 405);
      CHECK(res.headers["allow"] == "POST");
      res = http_request(c.http_port, "DELETE", "/api/signature");
      CHECK(res.status == 405);
      CHECK(res.headers["allow"] == "GET, POST");
      auto health = c.health();
      CHECK(health["verifiersUp"] == 2);
      CHECK(health["node"] == "front");
    }
  }

  TEST_CASE("keeps answering through a killed verifier and uses it again") {
    cluster c;
    REQUIRE_MESSAGE(c.wait_verifiers_up(2), c.front->err());
    seed_vector seed;
    json body{{"textFile", "arquivo.txt"}, {"hexSignature", seed.signature}};
    auto served_by = [&](size_t n) {
      std::multiset<std::string> names;
      for (size_t i = 0; i < n; ++i) {
        auto res = c.post("/api/signature", body);
        CHECK(res.status == 200);
        names.insert(parse_json(res).value("verifier", ""));
      }
      return names;
    };
    auto before = served_by(10);
    CHECK(before.count("verifier-1/verifier-0") == 5);
    CHECK(before.count("verifier-2/verifier-0") == 5);

    c.verifiers[0]->signal(SIGKILL);
    CHECK(c.verifiers[0]->wait(5000ms) == 128 + SIGKILL);
    // No wait for failure detection: every request must still succeed.
    auto during = served_by(20);
    CHECK(during.count("verifier-2/verifier-0") == 20);
    CHECK(c.wait_verifiers_up(1));

    c.start_verifier(0);
    REQUIRE_MESSAGE(c.wait_verifiers_up(2), c.front->err());
    auto after = served_by(10);
    CHECK(after.count("verifier-1/verifier-0") == 5);
    CHECK(after.count("verifier-2/verifier-0") == 5);
  }

  TEST_CASE("answers 503 when no verifier is reachable") {
    cluster c;
    REQUIRE(c.wait_verifiers_up(2));
    for (auto& v : c.verifiers)
      v->signal(SIGKILL);
    REQUIRE(c.wait_verifiers_up(0));
    seed_vector seed;
    auto res = c.post("/api/signature", {{"textFile", "arquivo.txt"},
                                         {"hexSignature", seed.signature}});
    CHECK(res.status == 503);
    CHECK(message_of(res).find("no verifier instance can take the request")
          != std::string::npos);
  }

} // TEST_SUITE

TEST_SUITE("scenario.http") {
  TEST_CASE("pipelined requests are answered in order") {
    cluster c;
    REQUIRE(c.wait_verifiers_up(2));
    seed_vector seed;
    auto body = json{{"textFile", "arquivo.txt"},
                     {"hexSignature", seed.signature}}
                  .dump();
    auto post = "POST /api/direct/signature HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/json\r\nContent-Length: "
                + std::to_string(body.size()) + "\r\n\r\n" + body;
    auto raw = raw_exchange(
      c.http_port, post + "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n" + post
                     + "GET /healthz HTTP/1.1\r\nHost: x\r\n"
                       "Connection: close\r\n\r\n");
    auto first = raw.find("signature ok!");
    auto second = raw.find("no such resource", first);
    auto third = raw.find("signature ok!", second);
    auto fourth = raw.find("\"node\":\"front\"", third);
    CHECK(first != std::string::npos);
    CHECK(second != std::string::npos);
    CHECK(third != std::string::npos);
    CHECK(fourth != std::string::npos);
  }

  TEST_CASE("at front.max-connections a waiting connection makes room") {
    cluster c{[] {
      cluster_options opts;
      opts.front_extra = {"--front.max-connections=2"};
      return opts;
    }()};
    REQUIRE(c.wait_verifiers_up(2));
    // Two connections that never send a byte: the older one is closed to
    // admit a request.
    tcp_client idle1{c.http_port};
    std::this_thread::sleep_for(50ms);
    tcp_client idle2{c.http_port};
    REQUIRE(idle1.connected());
    REQUIRE(idle2.connected());
    std::this_thread::sleep_for(200ms);
    CHECK(http_request(c.http_port, "GET", "/healthz").status == 200);
    CHECK(idle1.closed_by_peer(2000ms));
    CHECK_FALSE(idle2.closed_by_peer(100ms));
  }

  TEST_CASE("with every connection busy, one more gets 503") {
    cluster c{[] {
      cluster_options opts;
      opts.front_extra = {"--front.max-connections=2"};
      return opts;
    }()};
    REQUIRE(c.wait_verifiers_up(2));
    // Two requests in progress (header sent, body incomplete).
    std::vector<std::unique_ptr<tcp_client>> busy;
    for (int i = 0; i < 2; ++i) {
      busy.push_back(std::make_unique<tcp_client>(c.http_port));
      REQUIRE(busy.back()->send("POST /api/signature HTTP/1.1\r\nHost: x\r\n"
                                "Content-Type: application/json\r\n"
                                "Content-Length: 100\r\n\r\n{\"text\""));
    }
    // The front must have read both headers first: a connection still
    // waiting for its header is closed to make room for a new one (see the
    // test above), so polling with probes would evict the busy ones. Nothing
    // shows the front's connection states; 1 s is ample on a loaded machine
    // (200 ms once was not).
    std::this_thread::sleep_for(1000ms);
    auto res = http_request(c.http_port, "GET", "/healthz");
    CHECK(res.status == 503);
    CHECK(res.body.find("front.max-connections") != std::string::npos);
    busy.clear();
    CHECK(wait_until(
      [&] {
        return http_request(c.http_port, "GET", "/healthz").status == 200;
      },
      5000ms));
  }

} // TEST_SUITE

namespace {

// The peak RSS of process `pid` in KiB (VmHWM), or -1.
long peak_rss_kib(pid_t pid) {
  std::ifstream in{"/proc/" + std::to_string(pid) + "/status"};
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmHWM:", 0) == 0)
      return std::stol(line.substr(6));
  return -1;
}

} // namespace

TEST_SUITE("scenario.direct") {
  TEST_CASE("a 64 MB textFile is verified by its digest, the front's RSS "
            "stays under 64 MB, and a changed file is hashed again") {
    // A key of the test's own, next to the seed's, and a 64 MB document
    // signed with it.
    auto dir = make_temp_dir();
    auto keys = dir + "/keys";
    auto docs = dir + "/docs";
    std::filesystem::create_directories(keys);
    std::filesystem::create_directories(docs);
    auto pair = duet::crypto::generate_rsa(2048);
    REQUIRE(pair);
    std::ofstream{keys + "/big.pem"} << pair->public_pem;
    std::filesystem::copy_file(source_dir() + "/config/keys/seed.pem",
                               keys + "/seed.pem");
    std::ofstream{keys + "/keys.json"}
      << R"({"big": {"file": "big.pem", "algorithm": "rsa-pkcs1-sha256"},
             "seed": {"file": "seed.pem", "algorithm": "rsa-pkcs1-md5",
                      "legacy": true}})";
    std::string text;
    text.reserve(64u << 20);
    for (size_t i = 0; text.size() < (64u << 20); ++i)
      text += "line " + std::to_string(i) + " of a long document\n";
    text.resize(64u << 20);
    std::ofstream{docs + "/big.txt", std::ios::binary} << text;
    auto sig = duet::crypto::sign_hex(
      pair->private_pem, text, duet::crypto::algorithm::rsa_pkcs1_sha256);
    REQUIRE(sig);
    text.clear();
    text.shrink_to_fit();
    cluster_options opts;
    opts.verifiers = 1;
    opts.front_extra = {"--front.documents=" + docs, "--front.keys=" + keys};
    opts.verifier_extra = {"--verifier.keys=" + keys};
    cluster c{opts};
    REQUIRE(c.wait_verifiers_up(1));
    json body{
      {"textFile", "big.txt"}, {"hexSignature", *sig}, {"keyId", "big"}};
    auto res = c.post("/api/direct/signature", body);
    CHECK_MESSAGE(res.status == 200, res.body);
    CHECK(parse_json(res).value("verified", false));
    // Again: from the digest cache.
    res = c.post("/api/direct/signature", body);
    CHECK(parse_json(res).value("verified", false));
    auto rss = peak_rss_kib(c.front->pid());
    MESSAGE("front peak RSS: ", rss / 1024, " MB");
    CHECK(rss > 0);
    CHECK(rss < 64 * 1024);
    // The file changes: hashed again, and the old signature no longer fits.
    std::ofstream{docs + "/big.txt", std::ios::binary | std::ios::app} << "!";
    res = c.post("/api/direct/signature", body);
    CHECK(res.status == 200);
    CHECK_FALSE(parse_json(res).value("verified", true));
    // Over front.document-limit: 413, naming the limit.
    c.front_args.push_back("--front.document-limit=1048576");
    c.front->stop();
    c.start_front();
    REQUIRE(c.wait_verifiers_up(1));
    res = c.post("/api/direct/signature", body);
    CHECK(res.status == 413);
    CHECK(res.body.find("front.document-limit") != std::string::npos);
    std::filesystem::remove_all(dir);
  }
}
