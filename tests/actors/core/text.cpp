#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "actors/core/json_text.hpp"
#include "actors/core/text.hpp"

using namespace duet;

TEST_SUITE("actors.text") {
  TEST_CASE("is_utf8 accepts well-formed text and refuses the rest") {
    CHECK(is_utf8(""));
    CHECK(is_utf8("plain ascii"));
    CHECK(is_utf8("Verifica\xc3\xa7\xc3\xa3o")); // two-byte
    CHECK(is_utf8("\xe2\x82\xac"));              // euro sign
    CHECK(is_utf8("\xf0\x9f\x98\x80"));          // emoji
    CHECK_FALSE(is_utf8("\xff\xfe"));            // the crash of issue 8
    CHECK_FALSE(is_utf8("\xc0\xaf"));            // overlong '/'
    CHECK_FALSE(is_utf8("\xe0\x80\xaf"));        // overlong, 3 bytes
    CHECK_FALSE(is_utf8("\xed\xa0\x80"));        // surrogate
    CHECK_FALSE(is_utf8("\xf4\x90\x80\x80"));    // above U+10FFFF
    CHECK_FALSE(is_utf8("\xc3"));                // truncated
    CHECK_FALSE(is_utf8("abc\x80"));             // lone continuation
  }

  TEST_CASE("printable keeps UTF-8, escapes the rest and truncates") {
    CHECK(printable("hello") == "hello");
    CHECK(printable("\xff\xfe") == "\\xff\\xfe");
    CHECK(printable("a\nb\x7f") == "a\\x0ab\\x7f");
    CHECK(printable("back\\slash") == "back\\\\slash");
    CHECK(printable("\xc3\xa7") == "\xc3\xa7");
    CHECK(printable(std::string(1000, 'x'), 10)
          == std::string(10, 'x') + "...");
    // The result is always valid UTF-8, whatever went in.
    std::string all;
    for (int i = 0; i < 256; ++i)
      all += static_cast<char>(i);
    CHECK(is_utf8(printable(all, 1000)));
  }

  TEST_CASE("is_name takes node, instance, member and task names") {
    CHECK(is_name("verifier-1"));
    CHECK(is_name("verifier-1/verifier-0"));
    CHECK(is_name("verifier-1#0a1b2c3d"));
    CHECK(is_name("5f0c2a91-17"));
    CHECK(is_name("[::1]:4101"));
    CHECK_FALSE(is_name(""));
    CHECK_FALSE(is_name("has space"));
    CHECK_FALSE(is_name("quote\""));
    CHECK_FALSE(is_name("\xc3\xa7"));
    CHECK_FALSE(is_name(std::string(129, 'a')));
    CHECK(is_name(std::string(8, 'a'), 8));
    CHECK_FALSE(is_name(std::string(9, 'a'), 8));
  }

  TEST_CASE("dump_json never throws on invalid UTF-8") {
    nlohmann::json doc{{"target", "/api/signature/\xff\xfe"}};
    CHECK_THROWS(doc.dump());
    std::string out;
    CHECK_NOTHROW(out = dump_json(doc));
    CHECK(is_utf8(out));
    CHECK(out.find("\xef\xbf\xbd") != std::string::npos); // U+FFFD
  }

} // TEST_SUITE
