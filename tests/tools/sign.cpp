// The key tools: duet-keygen makes a pair, duet-sign signs a file, and a
// verifier's key folder accepts the public key.

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "actors/crypto/keyring.hpp"
#include "support/cluster.hpp"

using namespace duet::test;

namespace {

std::string tool(const std::string& name) {
  return std::filesystem::path{node_binary()}.parent_path() / name;
}

} // namespace

TEST_SUITE("tools") {
  TEST_CASE("duet-keygen and duet-sign make signatures verifiers accept") {
    auto dir = make_temp_dir();
    process keygen{{tool("duet-keygen"), dir + "/private.pem", dir + "/me.pem"},
                   dir + "/keygen"};
    REQUIRE(keygen.wait(30000ms) == 0);
    std::ofstream{dir + "/doc.txt"} << "my own text\r\n";
    std::ofstream{dir + "/keys.json"} << R"({
    "mine": {"file": "me.pem"},
    "mine-pss": {"file": "me.pem", "algorithm": "rsa-pss-sha256"},
    "mine-md5": {"file": "me.pem", "algorithm": "rsa-pkcs1-md5", "legacy": true}
  })";
    auto ring = duet::crypto::load_keyring(dir);
    REQUIRE(ring);
    for (auto [key, algo] : {std::pair{"mine", "rsa-pkcs1-sha256"},
                             {"mine-pss", "rsa-pss-sha256"},
                             {"mine-md5", "rsa-pkcs1-md5"}}) {
      // A structured binding cannot be captured (C++17).
      std::string id = key;
      CAPTURE(id);
      process sign{{tool("duet-sign"), std::string{"--algorithm="} + algo,
                    dir + "/private.pem", dir + "/doc.txt"},
                   dir + "/sign"};
      REQUIRE(sign.wait(10000ms) == 0);
      auto hex = sign.out();
      REQUIRE(hex.size() == 513);
      hex.pop_back();
      auto ok = ring->verify(id, "my own text\r\n", hex);
      REQUIRE(ok);
      CHECK(*ok);
    }
    process bad{{tool("duet-sign"), "--algorithm=rsa-sha1",
                 dir + "/private.pem", dir + "/doc.txt"},
                dir + "/bad"};
    CHECK(bad.wait(10000ms) == 2);
    CHECK(bad.err().find("unknown algorithm") != std::string::npos);
    std::filesystem::remove_all(dir);
  }

} // TEST_SUITE
