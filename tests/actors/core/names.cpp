#include <doctest/doctest.h>

#include <set>
#include <string>

#include <caf/error.hpp>
#include <caf/sec.hpp>

#include "actors/core/error.hpp"
#include "actors/core/log.hpp"
#include "actors/core/options.hpp"
#include "actors/front/verify_service.hpp"
#include "actors/protocol/identity.hpp"
#include "actors/protocol/states.hpp"

using namespace duet;

namespace {

// Every value of `E` has a distinct name that parses back to it.
template <class E>
void check_round_trip() {
  std::set<std::string> seen;
  for (auto& entry : enum_names<E>::table) {
    // (No structured binding: CAPTURE takes it by lambda, not in C++17.)
    std::string name = entry.second;
    CAPTURE(name);
    CHECK(to_string(entry.first) == name);
    CHECK(parse<E>(name) == entry.first);
    CHECK(is_named(entry.first));
    CHECK(seen.insert(name).second);
  }
  CHECK_FALSE(parse<E>("no-such-name"));
  CHECK_FALSE(parse<E>(""));
}

} // namespace

TEST_SUITE("actors.core.names") {
  TEST_CASE("every enum's names are distinct and parse back") {
    check_round_trip<ec>();
    check_round_trip<style>();
    check_round_trip<balance>();
    check_round_trip<role>();
    check_round_trip<log::level>();
    check_round_trip<instance_state>();
    check_round_trip<node_state>();
    check_round_trip<task_state>();
    check_round_trip<purpose>();
  }

  TEST_CASE("the names users write") {
    CHECK(parse<style>("choreography") == style::choreography);
    CHECK(parse<balance>("least-loaded") == balance::least_loaded);
    CHECK(parse<role>("hub") == role::hub);
    CHECK(std::string{to_string(instance_state::misconfigured)}
          == "misconfigured");
    CHECK(name_list<style>()
          == R"("direct", "orchestration" or "choreography")");
    CHECK(name_list<balance>() == R"("round-robin" or "least-loaded")");
  }

  TEST_CASE("values a peer made up have no name") {
    auto made_up = static_cast<instance_state>(200);
    CHECK_FALSE(is_named(made_up));
    CHECK(std::string{to_string(made_up)} == "?");
    CHECK_FALSE(is_named(static_cast<ec>(0)));
  }
}

TEST_SUITE("actors.core.error") {
  TEST_CASE("duet's errors carry a code and a message") {
    auto err = caf::make_error(ec::unknown_key, "no key 'x'");
    CHECK(is_code(err, ec::unknown_key));
    CHECK_FALSE(is_code(err, ec::crypto_failure));
    CHECK(code_of(err) == ec::unknown_key);
    CHECK(message_of(err) == "no key 'x'");
    CHECK_FALSE(is_transport_error(err));
    CHECK(message_of(caf::error{}).empty());
    CHECK_FALSE(is_transport_error(caf::error{}));
  }

  TEST_CASE("CAF's errors mean the peer failed: a retry elsewhere may help") {
    caf::error timeout = caf::sec::request_timeout;
    CHECK(is_transport_error(timeout));
    CHECK(code_of(timeout) == ec::deadline_exceeded);
    CHECK(message_of(timeout) == "CAF: request_timeout");
    caf::error gone = caf::sec::request_receiver_down;
    CHECK(is_transport_error(gone));
    CHECK(code_of(gone) == ec::no_verifier);
    CHECK_FALSE(is_code(gone, ec::no_verifier));
  }
}
