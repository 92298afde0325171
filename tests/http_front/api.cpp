#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "http_front/api.hpp"
#include "support/process.hpp"

using namespace duet;
using namespace duet::http;
using nlohmann::json;

namespace {

// A service that must never be called: routing only parses and decides.
struct no_service : verify_service {
  void verify(style, verify_request, callback) override {
    FAIL("route() must not call the service");
  }
  void cluster(cluster_callback) override {
    FAIL("route() must not call the service");
  }
  void submit(verify_request, submit_callback) override {
    FAIL("route() must not call the service");
  }
  void task(std::string, std::chrono::milliseconds, task_callback) override {
    FAIL("route() must not call the service");
  }
  const front_status& status() const noexcept override {
    st.router_up = true;
    return st;
  }
  mutable front_status st;
};

struct fixture {
  fixture() : dir(test::make_temp_dir()) {
    std::filesystem::create_directory(dir + "/docs");
    std::ofstream{dir + "/docs/a.txt"} << "document text";
    std::ofstream{dir + "/secret.txt"} << "secret";
    std::filesystem::create_symlink(dir + "/secret.txt", dir + "/docs/link");
    std::filesystem::create_directory_symlink(dir, dir + "/docs/up");
    front_options opts;
    opts.documents = dir + "/docs";
    opts.body_limit = 4096;
    ctx = std::make_unique<api_context>(opts, "front", service);
  }

  ~fixture() {
    std::filesystem::remove_all(dir);
  }

  request make(bhttp::verb verb, std::string target, std::string body = {}) {
    request req{verb, target, 11};
    req.body() = std::move(body);
    req.prepare_payload();
    return req;
  }

  // Routes a POST /api/signature with `body`; returns the failure message
  // (with the status) or "deferred".
  std::pair<int, std::string> post(const std::string& body) {
    auto routed = route(make(bhttp::verb::post, "/api/signature", body), *ctx);
    if (std::holds_alternative<deferred>(routed))
      return {0, "deferred"};
    auto& res = std::get<response>(routed);
    auto doc = json::parse(res.body());
    return {static_cast<int>(res.result_int()), doc["data"]["message"]};
  }

  std::string dir;
  no_service service;
  std::unique_ptr<api_context> ctx;
};

} // namespace

TEST_SUITE("http_front.api") {
  TEST_CASE_FIXTURE(fixture, "each bad body gets 4xx naming the problem") {
    using p = std::pair<int, std::string>;
    CHECK(post("") == p{400, "request body is not valid JSON"});
    CHECK(post("{\"text\": ") == p{400, "request body is not valid JSON"});
    CHECK(post("[1,2]") == p{400, "request body must be a JSON object"});
    CHECK(post(R"({"text":"x"})") == p{400, "missing field \"hexSignature\""});
    CHECK(post(R"({"text":"x","hexSignature":12})")
          == p{400, "field \"hexSignature\" must be a string"});
    CHECK(post(R"({"hexSignature":"ab"})")
          == p{400, "missing field \"text\" (or \"texto\" or \"textFile\")"});
    CHECK(post(R"({"text":"x","texto":"y","hexSignature":"ab"})")
          == p{400, "give the text once, as \"text\" or \"texto\""});
    CHECK(post(R"({"text":"x","textFile":"a.txt","hexSignature":"ab"})")
          == p{400, "give either \"text\" or \"textFile\", not both"});
    CHECK(post(R"({"text":"x","hexSignature":"ab","keyId":false})")
          == p{400, "field \"keyId\" must be a string"});
    CHECK(post(R"({"textFile":"../secret.txt","hexSignature":"ab"})").first
          == 403);
    CHECK(post(R"({"textFile":"link","hexSignature":"ab"})").first == 403);
    CHECK(post(R"({"textFile":"up/secret.txt","hexSignature":"ab"})").first
          == 403);
    CHECK(post(R"({"textFile":"/etc/passwd","hexSignature":"ab"})").first
          == 403);
    CHECK(post(R"({"textFile":"nope.txt","hexSignature":"ab"})").first == 404);
    CHECK(post(R"({"textFile":"","hexSignature":"ab"})").first == 400);
  }

  TEST_CASE_FIXTURE(fixture, "good bodies are deferred with the right fields") {
    auto routed = route(make(bhttp::verb::post, "/api/direct/signature",
                             R"({"textFile":"a.txt","hexSignature":"ab"})"),
                        *ctx);
    REQUIRE(std::holds_alternative<deferred>(routed));
    auto& job = std::get<deferred>(routed);
    CHECK(job.how == style::direct);
    CHECK(job.req.text == "document text");
    CHECK(job.req.key_id == "seed");
    CHECK(job.req.hex_signature == "ab");
    routed = route(make(bhttp::verb::post, "/api/signature?x=1",
                        R"({"texto":"t","hexSignature":"cd","keyId":"k"})"),
                   *ctx);
    REQUIRE(std::holds_alternative<deferred>(routed));
    CHECK(std::get<deferred>(routed).req.text == "t");
    CHECK(std::get<deferred>(routed).req.key_id == "k");
  }

  TEST_CASE_FIXTURE(fixture, "document digests: hashed once per version of "
                             "the file, bounded") {
    using duet::crypto::algorithm;
    document_folder docs{dir + "/docs", 2};
    auto path = docs.resolve("a.txt");
    REQUIRE(path);
    auto md5 = docs.digest(*path, algorithm::rsa_pkcs1_md5, 1 << 20);
    REQUIRE(md5);
    CHECK(*md5
          == *duet::crypto::message_digest(algorithm::rsa_pkcs1_md5,
                                           "document text"));
    CHECK(docs.cached(*path, algorithm::rsa_pkcs1_md5) == *md5);
    CHECK_FALSE(docs.cached(*path, algorithm::rsa_pkcs1_sha256));
    CHECK(docs.hashed() == 1);
    // Another version of the file: not from the cache.
    std::ofstream{dir + "/docs/a.txt", std::ios::app} << " and more";
    CHECK_FALSE(docs.cached(*path, algorithm::rsa_pkcs1_md5));
    auto again = docs.digest(*path, algorithm::rsa_pkcs1_md5, 1 << 20);
    REQUIRE(again);
    CHECK(*again != *md5);
    CHECK(docs.hashed() == 2);
    // Over the limit (a front whose cache does not have it yet): refused,
    // named without the folder.
    document_folder strict{dir + "/docs"};
    auto big = strict.digest(*path, algorithm::rsa_pkcs1_md5, 4);
    REQUIRE_FALSE(big);
    CHECK(code_of(big.error()) == ec::payload_too_large);
    CHECK(message_of(big.error()).find(dir) == std::string::npos);
    // At most 2 entries: the oldest goes first.
    docs.digest(*path, algorithm::rsa_pkcs1_sha256, 1 << 20);
    docs.digest(*path, algorithm::rsa_pss_sha256, 1 << 20);
    CHECK_FALSE(docs.cached(*path, algorithm::rsa_pkcs1_md5));
    CHECK(docs.cached(*path, algorithm::rsa_pss_sha256));
  }

  TEST_CASE_FIXTURE(fixture, "routing: 404, 405 with Allow, healthz") {
    auto routed = route(make(bhttp::verb::get, "/nope"), *ctx);
    CHECK(std::get<response>(routed).result_int() == 404);
    routed = route(make(bhttp::verb::get, "/api/direct/signature"), *ctx);
    auto& res = std::get<response>(routed);
    CHECK(res.result_int() == 405);
    CHECK(res[bhttp::field::allow] == "POST");
    service.st.verifiers_up = 1;
    routed = route(make(bhttp::verb::get, "/healthz"), *ctx);
    auto doc = json::parse(std::get<response>(routed).body());
    CHECK(doc["verifiersUp"] == 1);
    CHECK(doc["status"] == "ok");
  }

  TEST_CASE("rendering verdicts and errors") {
    auto res = render(verdict{true, "v/1"}, 11, true);
    CHECK(res.result_int() == 200);
    CHECK(json::parse(res.body())
          == json{{"status", "success"},
                  {"data", {{"message", "signature ok!"}}},
                  {"verified", true},
                  {"verifier", "v/1"}});
    res = render(verdict{false, "v/2"}, 11, true);
    CHECK(json::parse(res.body())["status"] == "fail");
    res = render(caf::make_error(ec::no_verifier, "none"), 11, true);
    CHECK(res.result_int() == 503);
    CHECK(res[bhttp::field::retry_after] == "1");
    CHECK(render(caf::make_error(ec::deadline_exceeded, "late"), 11, true)
            .result_int()
          == 504);
    CHECK(to_status(ec::unknown_key) == bhttp::status::bad_request);
    CHECK(to_status(ec::forbidden_path) == bhttp::status::forbidden);
    CHECK(to_status(ec::crypto_failure)
          == bhttp::status::internal_server_error);
  }

} // TEST_SUITE
