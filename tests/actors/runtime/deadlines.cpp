#include <doctest/doctest.h>

#include <memory>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/response_promise.hpp>
#include <caf/scoped_actor.hpp>

#include "actors/protocol/fwd.hpp"
#include "actors/runtime/deadlines.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

using ask_atom = caf::atom_constant<caf::atom("ask")>;
using expire_atom = caf::atom_constant<caf::atom("expire")>;
using release_atom = caf::atom_constant<caf::atom("release")>;
using report_atom = caf::atom_constant<caf::atom("report")>;

struct config : caf::actor_system_config {
  config() {
    add_duet_types(*this);
  }
};

// Answers every `int` only when told to release them.
caf::behavior slow(caf::event_based_actor* self) {
  auto held = std::make_shared<std::vector<caf::response_promise>>();
  return {
    [self, held](int) -> caf::result<int> {
      held->push_back(self->make_response_promise());
      return held->back();
    },
    [held](release_atom) {
      for (auto& p : *held)
        p.deliver(42);
      held->clear();
    },
  };
}

// Asks `server` without a CAF timeout, booking the request as due at once
// (late) or in an hour; counts answers and errors.
caf::behavior client(caf::event_based_actor* self, caf::actor server) {
  struct counts {
    int answers = 0;
    int timeouts = 0;
    request_deadlines deadlines;
  };
  auto st = std::make_shared<counts>();
  using clock_type = request_deadlines::clock_type;
  return {
    [=](ask_atom, bool late) {
      auto handle = self->request(server, caf::infinite, 1);
      auto id = handle.id();
      st->deadlines.add(id, late ? clock_type::now() : clock_type::now() + 1h);
      std::move(handle).then(
        [=](int) {
          st->deadlines.answered(id);
          ++st->answers;
        },
        [=](const caf::error& err) {
          st->deadlines.answered(id);
          if (err == caf::sec::request_timeout)
            ++st->timeouts;
        });
    },
    [=](expire_atom) {
      return st->deadlines.expire(self, clock_type::now() + 1ms);
    },
    [=](report_atom) {
      return std::vector<int>{st->answers, st->timeouts,
                              static_cast<int>(st->deadlines.size())};
    },
  };
}

} // namespace

TEST_SUITE("actors.deadlines") {
  TEST_CASE("a request past its time gets request_timeout once, a late "
            "answer is dropped, an early one is taken") {
    config cfg;
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto server = sys.spawn(slow);
    auto x = sys.spawn(client, server);
    self->send(x, ask_atom::value, true);  // times out
    self->send(x, ask_atom::value, false); // answered in time
    bool left = false;
    self->request(x, 5s, expire_atom::value)
      .receive([&](bool remaining) { left = remaining; },
               [](caf::error&) { FAIL("no answer"); });
    CHECK(left); // the second request is still booked
    self->send(server, release_atom::value);
    std::vector<int> counts;
    for (int i = 0; i < 100 && (counts.empty() || counts[0] == 0); ++i) {
      self->request(x, 5s, report_atom::value)
        .receive([&](std::vector<int>& xs) { counts = std::move(xs); },
                 [](caf::error&) { FAIL("no answer"); });
      if (counts.empty() || counts[0] == 0)
        std::this_thread::sleep_for(10ms);
    }
    REQUIRE(counts.size() == 3);
    CHECK(counts[0] == 1); // only the request still booked got its answer
    CHECK(counts[1] == 1); // the late one got request_timeout, once
    CHECK(counts[2] == 0); // nothing is left booked
  }

  TEST_CASE("the tick is a twentieth of the timeout, within 5 and 50 ms") {
    CHECK(request_deadlines::tick_for(1s) == 50ms);
    CHECK(request_deadlines::tick_for(200ms) == 10ms);
    CHECK(request_deadlines::tick_for(20ms) == 5ms);
  }
} // TEST_SUITE
