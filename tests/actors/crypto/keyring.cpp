#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <random>

#include "actors/crypto/keyring.hpp"
#include "actors/crypto/signing.hpp"
#include "support/cluster.hpp"

using namespace duet;
using namespace duet::crypto;
using duet::test::read_file;
using duet::test::source_dir;

namespace {

struct fixture {
  fixture() {
    auto pair = generate_rsa(2048);
    REQUIRE(pair);
    keys = *pair;
    auto pub = public_key::from_pem(keys.public_pem);
    REQUIRE(pub);
    for (auto [id, algo] : {std::pair{"pkcs1", algorithm::rsa_pkcs1_sha256},
                            {"pss", algorithm::rsa_pss_sha256},
                            {"md5", algorithm::rsa_pkcs1_md5}})
      REQUIRE(ring.add(id, *pub, algo, algo == algorithm::rsa_pkcs1_md5));
  }

  std::string sign(std::string_view text, algorithm algo) {
    auto sig = sign_hex(keys.private_pem, text, algo);
    REQUIRE(sig);
    return *sig;
  }

  key_pair keys;
  keyring ring;
};

std::string seed_dir() {
  return source_dir() + "/tests/data/seed-vector/";
}

} // namespace

TEST_SUITE("actors.crypto") {
  TEST_CASE_FIXTURE(fixture,
                    "every algorithm verifies a match and a mismatch") {
    for (auto [key, algo] : {std::pair{"pkcs1", algorithm::rsa_pkcs1_sha256},
                             {"pss", algorithm::rsa_pss_sha256},
                             {"md5", algorithm::rsa_pkcs1_md5}}) {
      // A structured binding cannot be captured (C++17).
      std::string id = key;
      CAPTURE(id);
      auto sig = sign("hello duet", algo);
      auto ok = ring.verify(id, "hello duet", sig);
      REQUIRE(ok);
      CHECK(*ok);
      auto bad = ring.verify(id, "hello duet!", sig);
      REQUIRE(bad);
      CHECK_FALSE(*bad);
    }
  }

  TEST_CASE_FIXTURE(fixture, "a signature of another scheme does not match") {
    auto pkcs1 = sign("text", algorithm::rsa_pkcs1_sha256);
    auto as_pss = ring.verify("pss", "text", pkcs1);
    REQUIRE(as_pss);
    CHECK_FALSE(*as_pss);
    auto as_md5 = ring.verify("md5", "text", pkcs1);
    REQUIRE(as_md5);
    CHECK_FALSE(*as_md5);
  }

  TEST_CASE_FIXTURE(fixture, "any wrong signature is a mismatch, never an "
                             "OpenSSL failure") {
    // Bytes over the modulus, bad padding, all zeros, all ones: a verdict
    // (false), not crypto_failure, which means the check could not run.
    std::mt19937 gen{42};
    for (auto id : {"pkcs1", "pss", "md5"}) {
      CAPTURE(id);
      for (int i = 0; i < 200; ++i) {
        std::string hex;
        for (int k = 0; k < 256; ++k) {
          auto byte = i == 0 ? 0 : i == 1 ? 255 : static_cast<int>(gen() % 256);
          if (k == 0 && i % 3 == 2)
            byte = 0xff; // over the modulus
          hex += "0123456789abcdef"[byte >> 4];
          hex += "0123456789abcdef"[byte & 15];
        }
        auto r = ring.verify(id, "text", hex);
        REQUIRE_MESSAGE(r, message_of(r.error()));
        CHECK_FALSE(*r);
      }
    }
  }

  TEST_CASE_FIXTURE(fixture, "the digest alone gives the same verdicts as "
                             "the text") {
    // What a front sends verifiers: the digest of the text under the key's
    // algorithm. Matches, mismatches, other schemes' signatures and random
    // bytes all answer as the text does.
    std::mt19937 gen{7};
    for (auto [key, algo] : {std::pair{"pkcs1", algorithm::rsa_pkcs1_sha256},
                             {"pss", algorithm::rsa_pss_sha256},
                             {"md5", algorithm::rsa_pkcs1_md5}}) {
      std::string id = key;
      auto scheme = algo;
      CAPTURE(id);
      std::vector<std::string> sigs{
        sign("hello duet", scheme), sign("hello duet!", scheme),
        sign("hello duet", algorithm::rsa_pkcs1_sha256),
        sign("hello duet", algorithm::rsa_pss_sha256)};
      for (int i = 0; i < 50; ++i) {
        std::string hex;
        for (int k = 0; k < 512; ++k)
          hex += "0123456789abcdef"[gen() % 16];
        sigs.push_back(hex);
      }
      auto digest = message_digest(scheme, "hello duet");
      REQUIRE(digest);
      CHECK(digest->size() == digest_size(scheme));
      for (auto& sig : sigs) {
        auto by_text = ring.verify(id, "hello duet", sig);
        auto by_digest = ring.verify_digest(id, *digest, sig);
        REQUIRE(by_text);
        REQUIRE_MESSAGE(by_digest, message_of(by_digest.error()));
        CHECK(*by_text == *by_digest);
      }
      CHECK(*ring.verify_digest(id, *digest, sigs[0]));
      CHECK_FALSE(*ring.verify_digest(id, *digest, sigs[1]));
      // A digest of another size is refused, not a mismatch.
      auto wrong = ring.verify_digest(id, digest->substr(1), sigs[0]);
      REQUIRE_FALSE(wrong);
      CHECK(code_of(wrong.error()) == ec::bad_request);
    }
  }

  TEST_CASE_FIXTURE(fixture, "bad input gives distinct errors") {
    auto sig = sign("x", algorithm::rsa_pkcs1_sha256);
    auto r = ring.verify("pkcs1", "x", "zz" + sig.substr(2));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == ec::bad_hex);
    r = ring.verify("pkcs1", "x", sig.substr(1));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == ec::odd_length);
    r = ring.verify("pkcs1", "x", sig.substr(2));
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == ec::wrong_length);
    CHECK(message_of(r.error()).find("needs 256") != std::string::npos);
    r = ring.verify("nope", "x", sig);
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == ec::unknown_key);
    r = ring.verify("pkcs1", "x", "");
    REQUIRE_FALSE(r);
    CHECK(code_of(r.error()) == ec::wrong_length);
  }

  TEST_CASE("hex decoding accepts both cases") {
    auto bytes = decode_hex("00fFaB");
    REQUIRE(bytes);
    CHECK(*bytes == std::vector<uint8_t>{0x00, 0xFF, 0xAB});
    CHECK(encode_hex(bytes->data(), bytes->size()) == "00ffab");
  }

  TEST_CASE("MD5 is refused unless the key is marked legacy") {
    auto pub = public_key::from_file(seed_dir() + "public_key.pem");
    REQUIRE(pub);
    keyring ring;
    auto r = ring.add("seed", *pub, algorithm::rsa_pkcs1_md5, false);
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("legacy") != std::string::npos);
    CHECK(ring.add("seed", *pub, algorithm::rsa_pkcs1_md5, true));
    CHECK_FALSE(ring.add("seed", *pub, algorithm::rsa_pkcs1_md5, true));
  }

  TEST_CASE("the seed vector verifies, its LF-only copy does not") {
    auto text = read_file(seed_dir() + "arquivo.txt");
    auto text_lf = read_file(seed_dir() + "arquivo_lf_negative.txt");
    auto sig = read_file(seed_dir() + "signature.hex");
    REQUIRE(text.size() == 3309);
    for (auto file : {"public_key.pem", "certificate.pem"}) {
      CAPTURE(file);
      auto pub = public_key::from_file(seed_dir() + file);
      REQUIRE(pub);
      CHECK(pub->size() == 256);
      keyring ring;
      REQUIRE(ring.add("seed", *pub, algorithm::rsa_pkcs1_md5, true));
      REQUIRE(ring.add("sha", *pub, algorithm::rsa_pkcs1_sha256, false));
      auto ok = ring.verify("seed", text, sig);
      REQUIRE(ok);
      CHECK(*ok);
      auto lf = ring.verify("seed", text_lf, sig);
      REQUIRE(lf);
      CHECK_FALSE(*lf);
      auto sha = ring.verify("sha", text, sig);
      REQUIRE(sha);
      CHECK_FALSE(*sha);
      // The same verdicts from the digests a front sends.
      auto md5 = message_digest(algorithm::rsa_pkcs1_md5, text);
      auto md5_lf = message_digest(algorithm::rsa_pkcs1_md5, text_lf);
      auto sha256 = message_digest(algorithm::rsa_pkcs1_sha256, text);
      REQUIRE((md5 && md5_lf && sha256));
      CHECK(*ring.verify_digest("seed", *md5, sig));
      CHECK_FALSE(*ring.verify_digest("seed", *md5_lf, sig));
      CHECK_FALSE(*ring.verify_digest("sha", *sha256, sig));
    }
  }

  TEST_CASE("the shipped key folder loads the seed key") {
    auto ring = load_keyring(source_dir() + "/config/keys");
    REQUIRE(ring);
    CHECK(ring->ids() == std::vector<std::string>{"seed"});
  }

  TEST_CASE("bad key folders are refused with the file named") {
    auto dir = duet::test::make_temp_dir();
    auto manifest = [&](const std::string& json) {
      std::ofstream{dir + "/keys.json"} << json;
      return load_keyring(dir);
    };
    auto r = load_keyring(dir);
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("keys.json: no such file")
          != std::string::npos);
    r = manifest("{ nope");
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("not a JSON object") != std::string::npos);
    r = manifest(R"({"k": {"file": "missing.pem"}})");
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("missing.pem: no such file")
          != std::string::npos);
    // A device, a FIFO or a folder is refused, never read.
    r = manifest(R"({"k": {"file": ".."}})");
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("not a regular file")
          != std::string::npos);
    std::ofstream{dir + "/huge.pem"} << std::string(2 * 1024 * 1024, 'x');
    r = manifest(R"({"k": {"file": "huge.pem"}})");
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("more than") != std::string::npos);
    std::ofstream{dir + "/junk.pem"} << "not a key";
    r = manifest(R"({"k": {"file": "junk.pem"}})");
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("junk.pem") != std::string::npos);
    std::filesystem::copy_file(seed_dir() + "public_key.pem", dir + "/k.pem");
    r = manifest(R"({"k": {"file": "k.pem", "algorithm": "rsa-sha1"}})");
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("\"algorithm\" must be")
          != std::string::npos);
    r = manifest(R"({"k": {"file": "k.pem", "algorithm": "rsa-pkcs1-md5"}})");
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("legacy") != std::string::npos);
    r = manifest(R"({"k": {"file": "k.pem", "colour": "red"}})");
    REQUIRE_FALSE(r);
    CHECK(message_of(r.error()).find("unknown field 'colour'")
          != std::string::npos);
    r = manifest(R"({"k": {"file": "../k.pem"}})");
    REQUIRE_FALSE(r);
    r = manifest(R"({"k": {"file": "k.pem"}})");
    CHECK(r);
    std::filesystem::remove_all(dir);
  }

} // TEST_SUITE
