#include <doctest/doctest.h>

#include <map>

#include "actors/verifier/membership.hpp"
#include "actors/verifier/task_memory.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

const auto t0 = membership::clock_type::time_point{} + 1h;

choreo_task make_task(std::string id, uint32_t attempt = 1) {
  return choreo_task{std::move(id), attempt, {"seed", "text", "00"}};
}

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
    membership m{"me#1"};
    CHECK(m.names() == std::vector<std::string>{"me#1"});
    CHECK(m.beat("me#1", false, t0) == membership::change::none);
    CHECK(m.beat("b#2", false, t0) == membership::change::joined);
    CHECK(m.beat("a#3", false, t0) == membership::change::joined);
    CHECK(m.beat("a#3", false, t0 + 1s) == membership::change::none);
    CHECK(m.names() == std::vector<std::string>{"a#3", "b#2", "me#1"});
    CHECK(m.beat("b#2", true, t0 + 1s) == membership::change::left);
    CHECK(m.beat("b#2", true, t0 + 1s) == membership::change::none);
    auto lost = m.expire(t0 + 2500ms, 1s);
    CHECK(lost == std::vector<std::string>{"a#3"});
    CHECK(m.names() == std::vector<std::string>{"me#1"});
    // Alone, a consumer owns every task.
    CHECK(m.mine("any-1"));
  }

  TEST_CASE("a task moves to the next owner when its owner is silent or "
            "declines it") {
    // Three consumers see the same members; exactly one owns each task.
    std::vector<membership> ms;
    for (auto self : {"a#1", "b#2", "c#3"}) {
      ms.emplace_back(self);
      for (auto other : {"a#1", "b#2", "c#3"})
        ms.back().beat(other, false, t0);
    }
    auto owners = [&](const std::string& id,
                      const std::vector<std::string>& declined) {
      std::vector<std::string> out;
      for (auto& m : ms)
        if (m.mine(id, declined))
          out.push_back(m.self());
      return out;
    };
    for (int i = 0; i < 200; ++i) {
      auto id = "task-" + std::to_string(i);
      auto first = owners(id, {});
      REQUIRE(first.size() == 1);
      // The owner declined (e.g. it lacks the key): another takes it.
      auto second = owners(id, first);
      REQUIRE(second.size() == 1);
      CHECK(second[0] != first[0]);
      // Everyone declined: nobody owns it (the front's task-timeout ends it).
      CHECK(owners(id, {"a#1", "b#2", "c#3"}).empty());
    }
    // The owner falls silent: once the others expire it, one of them owns
    // its tasks, the same one in both views.
    auto id = std::string{"task-7"};
    auto owner = owners(id, {})[0];
    std::vector<std::string> takers;
    for (auto& m : ms) {
      if (m.self() == owner)
        continue;
      for (auto other : {"a#1", "b#2", "c#3"})
        if (other != owner)
          m.beat(other, false, t0 + 2s);
      CHECK(m.expire(t0 + 2s, 1s) == std::vector<std::string>{owner});
      if (m.mine(id))
        takers.push_back(m.self());
    }
    CHECK(takers.size() == 1);
  }

  TEST_CASE("membership is bounded: members past the limit are refused") {
    membership m{"me#1", 4};
    CHECK(m.beat("a", false, t0) == membership::change::joined);
    CHECK(m.beat("b", false, t0) == membership::change::joined);
    CHECK(m.beat("c", false, t0) == membership::change::joined);
    for (int i = 0; i < 1000; ++i)
      CHECK(m.beat("x" + std::to_string(i), false, t0)
            == membership::change::refused);
    CHECK(m.size() == 4);
    // Room again once one is silent.
    m.expire(t0 + 10s, 1s);
    CHECK(m.beat("d", false, t0 + 10s) == membership::change::joined);
  }

  TEST_CASE("task memory ignores late copies but answers redeliveries again") {
    task_memory mem;
    REQUIRE(mem.see(make_task("f-1"), t0) != nullptr);
    mem.done("f-1");
    CHECK(mem.find("f-1") == nullptr);
    // A late copy of the first publication: ignored.
    CHECK(mem.see(make_task("f-1", 1), t0) == nullptr);
    // The front published it again: the result never reached it.
    auto again = mem.see(make_task("f-1", 2), t0 + 5s);
    REQUIRE(again != nullptr);
    CHECK(again->task.attempt == 2);
    CHECK_FALSE(mem.is_done("f-1"));
  }

  TEST_CASE("task memory is bounded in tasks seen and results remembered") {
    task_memory mem{10, 5};
    for (int i = 0; i < 10; ++i)
      CHECK(mem.see(make_task("t-" + std::to_string(i)), t0) != nullptr);
    CHECK(mem.see(make_task("t-10"), t0) == nullptr);
    CHECK(mem.seen().size() == 10);
    for (int i = 0; i < 10; ++i)
      mem.done("t-" + std::to_string(i));
    CHECK(mem.seen().empty());
    CHECK(mem.done_count() == 5);
    // Tasks nobody answered are forgotten after task-timeout, unless in work.
    mem.see(make_task("u-1"), t0);
    mem.see(make_task("u-2"), t0)->in_progress = true;
    mem.forget_before(t0 + 1s);
    CHECK(mem.find("u-1") == nullptr);
    CHECK(mem.find("u-2") != nullptr);
  }

} // TEST_SUITE
