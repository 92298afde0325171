#include <doctest/doctest.h>

#include <map>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/front/pool.hpp"

using namespace duet;

namespace {

// A verifier handle that is never called: pick() only needs a live one.
verifier_actor::behavior_type idle_verifier() {
  return {
    [](verify_atom, const verify_request&) { return verdict{}; },
    [](verify_atom, const std::vector<verify_request>&) {
      return batch_verdicts{};
    },
    [](ping_atom) { return uint64_t{0}; },
  };
}

struct fixture {
  fixture() : sys(cfg) {
    // nop
  }

  // A pool of instances `v0`, `v1`, ... on nodes `n0`, `n1`, ...
  pool make(balance mode, size_t n) {
    pool p{mode};
    for (size_t i = 0; i < n; ++i) {
      pool_instance x;
      x.name = "v" + std::to_string(i);
      x.node = "n" + std::to_string(i);
      x.handle = sys.spawn(idle_verifier);
      p.instances.push_back(std::move(x));
    }
    return p;
  }

  // Names of the next `n` picks.
  static std::vector<std::string> picks(pool& p, size_t n,
                                        const std::string& avoid = "") {
    std::vector<std::string> out;
    for (size_t i = 0; i < n; ++i) {
      auto x = p.pick(avoid);
      out.push_back(x != nullptr ? x->name : "-");
    }
    return out;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys;
};

using names = std::vector<std::string>;

} // namespace

TEST_SUITE("actors.front.pool") {
  TEST_CASE_FIXTURE(fixture, "round-robin takes every instance in turn") {
    auto p = make(balance::round_robin, 3);
    CHECK(picks(p, 7) == names{"v0", "v1", "v2", "v0", "v1", "v2", "v0"});
    CHECK(make(balance::round_robin, 0).pick("") == nullptr);
  }

  TEST_CASE_FIXTURE(fixture, "least-loaded takes the fewest in flight") {
    auto p = make(balance::least_loaded, 3);
    p.instances[0].in_flight = 5;
    p.instances[1].in_flight = 2;
    p.instances[2].in_flight = 9;
    CHECK(p.pick("")->name == "v1");
    // Among equals the next in turn: the load spreads.
    for (auto& x : p.instances)
      x.in_flight = 0;
    std::map<std::string, int> count;
    for (int i = 0; i < 30; ++i) {
      auto x = p.pick("");
      ++count[x->name];
      ++x->in_flight;
    }
    CHECK(count
          == std::map<std::string, int>{{"v0", 10}, {"v1", 10}, {"v2", 10}});
  }

  TEST_CASE_FIXTURE(fixture, "a retry avoids the instance that failed") {
    auto p = make(balance::round_robin, 2);
    CHECK(picks(p, 3, "v0") == names{"v1", "v1", "v1"});
    // Alone, the avoided instance is still better than none.
    auto one = make(balance::least_loaded, 1);
    CHECK(one.pick("v0")->name == "v0");
  }

  TEST_CASE_FIXTURE(fixture, "up beats suspect; down, failed and "
                             "misconfigured instances get nothing") {
    auto p = make(balance::round_robin, 4);
    p.instances[0].state = instance_state::suspect;
    p.instances[1].state = instance_state::down;
    p.instances[2].state = instance_state::failed;
    p.instances[3].misconfigured = "holds another key for seed";
    CHECK(p.pick("")->name == "v0"); // suspect: only if nothing is up
    CHECK(p.nodes_up() == 1);
    p.instances[3].misconfigured.clear();
    CHECK(picks(p, 3) == names{"v3", "v3", "v3"});
    CHECK(p.nodes_up() == 2);
    p.instances[3].state = instance_state::restarting;
    p.instances[0].handle = nullptr; // gone
    CHECK(p.pick("") == nullptr);
    CHECK(p.nodes_up() == 0);
  }

  TEST_CASE_FIXTURE(fixture, "nodes are known once, configured ones stay") {
    pool p;
    auto& a = p.add_node("127.0.0.1:4101", false);
    CHECK(a.host == "127.0.0.1");
    CHECK(a.port == 4101);
    CHECK_FALSE(a.configured);
    p.add_node("127.0.0.1:4101", true);
    CHECK(p.nodes.size() == 1);
    CHECK(p.node("127.0.0.1:4101")->configured);
    CHECK(p.node("127.0.0.1:4102") == nullptr);
    CHECK(p.nodes_connected() == 0);
  }
}
