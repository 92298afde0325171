#include <doctest/doctest.h>

#include <stdexcept>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/protocol/fwd.hpp"
#include "actors/runtime/guard.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

using throw_atom = caf::atom_constant<caf::atom("throw")>;
using count_atom = caf::atom_constant<caf::atom("count")>;

struct config : caf::actor_system_config {
  config() {
    add_duet_types(*this);
  }
};

// An actor whose first handler throws on request.
caf::behavior fragile(caf::event_based_actor* self) {
  auto served = std::make_shared<int>(0);
  drop_unexpected(self, "fragile");
  return {
    guard("fragile",
          [](throw_atom, int x) -> int {
            if (x < 0)
              throw std::runtime_error("negative");
            return x;
          }),
    guard("fragile", [served](count_atom) { return ++*served; }),
  };
}

} // namespace

TEST_SUITE("actors.guard") {
  TEST_CASE("an exception answers one request and the actor goes on") {
    config cfg;
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto x = sys.spawn(fragile);
    caf::error got;
    self->request(x, 5s, throw_atom::value, -1)
      .receive([](int) { FAIL("expected an error"); },
               [&](caf::error& err) { got = std::move(err); });
    CHECK(is_code(got, ec::internal_error));
    int value = 0;
    self->request(x, 5s, throw_atom::value, 7)
      .receive([&](int v) { value = v; },
               [](caf::error&) { FAIL("the actor should still run"); });
    CHECK(value == 7);
  }

  TEST_CASE("a message no handler takes is dropped, a request refused") {
    config cfg;
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto x = sys.spawn(fragile);
    caf::error got;
    self->request(x, 5s, std::string{"what is this"})
      .receive([] { FAIL("expected an error"); },
               [&](caf::error& err) { got = std::move(err); });
    CHECK(got == caf::sec::unexpected_message);
    int n = 0;
    self->request(x, 5s, count_atom::value)
      .receive([&](int v) { n = v; }, [](caf::error&) {});
    CHECK(n == 1);
  }

} // TEST_SUITE
