#include <doctest/doctest.h>

#include "actors/protocol/identity.hpp"
#include "support/cluster.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

using clock_type = challenges::clock_type;

const auto t0 = clock_type::time_point{} + 1h;

// The identity of test node `name` (certificate of the test CA).
std::shared_ptr<const node_identity> identity_of(const std::string& name) {
  tls_options tls;
  tls.ca = test::test_pki::ca();
  tls.certificate = test::test_pki::certificate(name);
  tls.key = test::test_pki::key(name);
  auto result = load_identity(name, tls);
  REQUIRE_MESSAGE(result, (result ? "" : message_of(result.error())));
  return *result;
}

} // namespace

TEST_SUITE("actors.identity") {
  TEST_CASE("a challenge is good once, until it expires") {
    challenges issued{30s, 4};
    auto a = issued.issue(t0);
    auto b = issued.issue(t0);
    CHECK(a != b);
    CHECK(issued.size() == 0); // issuing stores nothing
    CHECK(issued.redeem(a, t0 + 1s));
    CHECK_FALSE(issued.redeem(a, t0 + 1s));
    CHECK_FALSE(issued.redeem(b, t0 + 31s));
    // Another object's challenge, a changed one, or garbage: never.
    challenges other{30s, 4};
    CHECK_FALSE(issued.redeem(other.issue(t0), t0));
    auto c = issued.issue(t0);
    c[0] = c[0] == 'a' ? 'b' : 'a';
    CHECK_FALSE(issued.redeem(c, t0));
    CHECK_FALSE(issued.redeem("", t0));
    CHECK_FALSE(issued.redeem("...", t0));
    CHECK_FALSE(issued.redeem(std::string(4096, '.'), t0));
  }

  TEST_CASE("used challenges are remembered up to a bound, then refused") {
    challenges issued{30s, 2};
    CHECK(issued.redeem(issued.issue(t0), t0));
    CHECK(issued.redeem(issued.issue(t0), t0));
    CHECK_FALSE(issued.redeem(issued.issue(t0), t0)); // full: fail closed
    // Expired ones make room.
    CHECK(issued.redeem(issued.issue(t0 + 40s), t0 + 40s));
    CHECK(issued.size() == 1);
  }

  TEST_CASE("a proof names its purpose, its name and a role of its node") {
    auto front = identity_of("front");
    auto rogue = identity_of("rogue"); // roles front and verifier
    auto proof = rogue->prove(purpose::subscribe, "abc");
    REQUIRE(proof);
    CHECK_FALSE(front->check(purpose::subscribe, "rogue", *proof));
    CHECK_FALSE(
      front->check(purpose::subscribe, "rogue", *proof, {role::front}));
    CHECK_FALSE(front->check(purpose::subscribe, "rogue", *proof,
                             {role::hub, role::verifier}));
    CHECK(
      front->check(purpose::subscribe, "rogue", *proof, {role::supervisor}));
    CHECK(front->check(purpose::subscribe, "front", *proof)); // another's name
    CHECK(
      front->check(purpose::register_node, "rogue", *proof)); // another purpose
    auto changed = *proof;
    changed.challenge = "abd";
    CHECK(front->check(purpose::subscribe, "rogue", changed));
    CHECK(front->check(purpose::subscribe, "rogue", identity_proof{}));
  }
}
