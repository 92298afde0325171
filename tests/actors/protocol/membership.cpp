#include <doctest/doctest.h>

#include <map>

#include "actors/protocol/membership.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

const auto t0 = membership::clock_type::time_point{} + 1h;

} // namespace

TEST_SUITE("actors.membership") {
  TEST_CASE("rendezvous ownership splits tasks evenly and moves few") {
    std::vector<std::string> members{
      "verifier-1#02d71580", "verifier-2#d01e2609", "verifier-3#ede88958"};
    std::map<std::string, int> count;
    std::map<std::string, std::string> owner;
    for (int i = 0; i < 3000; ++i) {
      auto id = "b9359ad3-" + std::to_string(i);
      owner[id] = task_owner(id, members);
      ++count[owner[id]];
    }
    for (auto& m : members) {
      CAPTURE(m);
      CHECK(count[m] > 850);
      CHECK(count[m] < 1150);
    }
    // Removing a member moves only its tasks.
    auto fewer = members;
    fewer.pop_back();
    for (auto& [id, m] : owner)
      if (m != members.back())
        CHECK(task_owner(id, fewer) == m);
    CHECK(task_owner("x", {}) == "");
  }

  TEST_CASE("members join by beating, leave by saying so or by silence") {
    membership m;
    CHECK(m.names().empty());
    CHECK(m.owner("any-1") == "");
    CHECK(m.beat("b#2", false, t0) == membership::change::joined);
    CHECK(m.beat("a#3", false, t0) == membership::change::joined);
    CHECK(m.beat("a#3", false, t0 + 1s) == membership::change::none);
    CHECK(m.names() == std::vector<std::string>{"a#3", "b#2"});
    CHECK(m.beat("b#2", true, t0 + 1s) == membership::change::left);
    CHECK(m.beat("b#2", true, t0 + 1s) == membership::change::none);
    CHECK_FALSE(m.contains("b#2"));
    // Alone, a member owns every task.
    CHECK(m.owner("any-1") == "a#3");
    auto lost = m.expire(t0 + 2500ms, 1s);
    CHECK(lost == std::vector<std::string>{"a#3"});
    CHECK(m.names().empty());
  }

  TEST_CASE("a task moves to the next owner when its owner is silent or "
            "declines it") {
    membership m;
    for (auto x : {"a#1", "b#2", "c#3"})
      m.beat(x, false, t0);
    for (int i = 0; i < 200; ++i) {
      auto id = "task-" + std::to_string(i);
      auto first = m.owner(id);
      REQUIRE_FALSE(first.empty());
      // The owner declined (e.g. it lacks the key): another takes it.
      auto second = m.owner(id, {first});
      REQUIRE_FALSE(second.empty());
      CHECK(second != first);
      // Everyone declined: nobody owns it (the front's task-timeout ends it).
      CHECK(m.owner(id, {"a#1", "b#2", "c#3"}).empty());
    }
    // The owner falls silent: once it expires, its tasks move, and only
    // its tasks.
    std::map<std::string, std::string> before;
    for (int i = 0; i < 200; ++i) {
      auto id = "task-" + std::to_string(i);
      before[id] = m.owner(id);
    }
    auto gone = before["task-7"];
    for (auto x : {"a#1", "b#2", "c#3"})
      if (x != gone)
        m.beat(x, false, t0 + 2s);
    CHECK(m.expire(t0 + 2s, 1s) == std::vector<std::string>{gone});
    for (auto& kvp : before) {
      // (Not a structured binding: CAPTURE cannot take one in C++17.)
      auto& id = kvp.first;
      CAPTURE(id);
      if (kvp.second == gone)
        CHECK(m.owner(id) != gone);
      else
        CHECK(m.owner(id) == kvp.second);
    }
  }

  TEST_CASE("membership is bounded: members past the limit are refused") {
    membership m{4};
    CHECK(m.beat("a", false, t0) == membership::change::joined);
    CHECK(m.beat("b", false, t0) == membership::change::joined);
    CHECK(m.beat("c", false, t0) == membership::change::joined);
    CHECK(m.beat("d", false, t0) == membership::change::joined);
    for (int i = 0; i < 1000; ++i)
      CHECK(m.beat("x" + std::to_string(i), false, t0)
            == membership::change::refused);
    CHECK(m.size() == 4);
    // Room again once one is silent.
    m.beat("a", false, t0 + 10s);
    m.beat("b", false, t0 + 10s);
    m.beat("c", false, t0 + 10s);
    m.expire(t0 + 10s, 1s);
    CHECK(m.beat("e", false, t0 + 10s) == membership::change::joined);
  }

} // TEST_SUITE
