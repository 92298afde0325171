#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/protocol/validate.hpp"

using namespace duet;

namespace {

bool refused(const caf::error& err) {
  return is_code(err, ec::invalid_message);
}

// A live handle for messages that need one.
struct fixture {
  fixture() : sys(cfg), self(sys) {
    // nop
  }
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::scoped_actor self;
  verifier_actor some_verifier() {
    return caf::actor_cast<verifier_actor>(
      caf::actor_cast<caf::strong_actor_ptr>(self));
  }
};

} // namespace

TEST_SUITE("actors.validate") {
  TEST_CASE("requests: bounded key ids, signatures and texts") {
    CHECK_FALSE(check(verify_request{"seed", "text", "ab"}));
    CHECK_FALSE(check(verify_request{"", "", ""}));
    CHECK(refused(check(verify_request{std::string(129, 'k'), "t", "ab"})));
    CHECK(refused(check(verify_request{"seed", "t", std::string(4097, 'a')})));
    CHECK(refused(check_batch_size(0)));
    CHECK(refused(check_batch_size(limits::batch + 1)));
    CHECK_FALSE(check_batch_size(32));
  }

  TEST_CASE("batch answers: count, codes, names and messages") {
    batch_verdicts v{"verifier-1/verifier-0",
                     {{{}, true}, {caf::make_error(ec::bad_hex, "x"), false}}};
    CHECK_FALSE(check(v, 2));
    CHECK(refused(check(v, 3)));
    v.answers[1].error = caf::make_error(static_cast<ec>(200), "x");
    CHECK(refused(check(v, 2)));
    v.answers[1].error = caf::make_error(caf::sec::runtime_error);
    CHECK(refused(check(v, 2)));
    v.answers[1].error = caf::make_error(ec::bad_hex, "\xff\xfe");
    CHECK(refused(check(v, 2)));
    v.answers[1].error = caf::make_error(ec::bad_hex, std::string{"x"}, 42);
    CHECK(refused(check(v, 2)));
    v.answers[1].error = caf::make_error(ec::bad_hex);
    CHECK_FALSE(check(v, 2));
    v.verifier = "bad name with spaces";
    CHECK(refused(check(v, 2)));
  }

  TEST_CASE_FIXTURE(fixture, "registrations: names, slots, instances") {
    auto agent = caf::actor_cast<verifier_node_actor>(
      caf::actor_cast<caf::strong_actor_ptr>(self));
    node_registration reg{"verifier-1", "127.0.0.1", 4101, agent, 2, {}};
    reg.instances.push_back({"verifier-1/verifier-0", 0, some_verifier()});
    CHECK_FALSE(check(reg));
    auto bad = reg;
    bad.slots = 1000000000;
    CHECK(refused(check(bad)));
    bad = reg;
    bad.slots = 0;
    CHECK(refused(check(bad)));
    bad = reg;
    bad.instances[0].slot = 7;
    CHECK(refused(check(bad)));
    bad = reg;
    bad.instances[0].name = "verifier-2/verifier-0"; // another node's
    CHECK(refused(check(bad)));
    bad = reg;
    bad.instances.push_back(bad.instances[0]); // a slot twice
    CHECK(refused(check(bad)));
    bad = reg;
    bad.name = "a/b";
    CHECK(refused(check(bad)));
    bad = reg;
    bad.port = 0;
    CHECK(refused(check(bad)));
    bad = reg;
    bad.agent = nullptr;
    CHECK(refused(check(bad)));
    bad = reg;
    bad.host = "0.0.0.0"; // a bind address, not one to connect to
    CHECK(refused(check(bad)));
  }

  TEST_CASE("registries: nodes, addresses and states") {
    registry reg;
    reg.nodes.push_back(
      {"verifier-1",
       "127.0.0.1:4101",
       node_state::up,
       {{"verifier-1/verifier-0", instance_state::failed, 3, -1}},
       0,
       {}});
    CHECK_FALSE(check(reg));
    auto bad = reg;
    bad.nodes[0].address = "no-port";
    CHECK(refused(check(bad)));
    bad = reg;
    bad.nodes[0].instances[0].state = static_cast<instance_state>(77);
    CHECK(refused(check(bad)));
    bad = reg;
    bad.nodes[0].instances[0].state = instance_state::misconfigured;
    CHECK(refused(check(bad)));
    bad = reg;
    bad.nodes[0].state = static_cast<node_state>(2);
    CHECK(refused(check(bad)));
    bad = reg;
    bad.nodes.resize(limits::nodes + 1, reg.nodes[0]);
    CHECK(refused(check(bad)));
  }

  TEST_CASE("choreography messages: ids, attempts, names, messages") {
    CHECK_FALSE(check(choreo_task{"ab12cd34-7", 1, {"seed", "t", "00"}}));
    CHECK(refused(check(choreo_task{"ab12cd34-7", 0, {"seed", "t", "00"}})));
    CHECK(refused(check(choreo_task{"", 1, {"seed", "t", "00"}})));
    CHECK(refused(check(choreo_task{std::string(65, 'a'), 1, {}})));
    auto digest = std::string(64, 'a');
    auto result = [&](std::string verifier, caf::error err = {},
                      std::string request = std::string(64, 'a')) {
      return choreo_result{"ab-1", false, std::move(verifier), std::move(err),
                           std::move(request)};
    };
    CHECK_FALSE(check(result("verifier-1/verifier-0")));
    CHECK_FALSE(
      check(result("verifier-1", caf::make_error(ec::unknown_key, "k"))));
    CHECK(refused(check(result("v\xc0\xaf"))));
    CHECK(refused(check(result(""))));
    // Errors: a duet code with at most one text of bounded size.
    CHECK(refused(check(
      result("v", caf::make_error(ec::unknown_key, std::string(2000, 'm'))))));
    CHECK(refused(
      check(result("v", caf::make_error(ec::unknown_key, "\xc0\xaf")))));
    CHECK(refused(check(result("v", caf::make_error(static_cast<ec>(200))))));
    CHECK(refused(
      check(result("v", caf::make_error(caf::sec::unexpected_message)))));
    CHECK(
      refused(check(result("v", caf::make_error(ec::unknown_key, "a", "b")))));
    // The digest of the request it answers: 64 lowercase hex digits.
    CHECK(refused(check(result("v", {}, ""))));
    CHECK(refused(check(result("v", {}, std::string(64, 'A')))));
    CHECK(refused(check(result("v", {}, std::string(63, 'a')))));
    CHECK_FALSE(check(member_beat{"verifier-1#0a1b2c3d", false, {}}));
    CHECK(refused(check(member_beat{std::string(200, 'm'), false, {}})));
    CHECK(refused(check(member_beat{"", true, {}})));
  }

} // TEST_SUITE
