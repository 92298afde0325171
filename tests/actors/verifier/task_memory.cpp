#include <doctest/doctest.h>

#include "actors/verifier/task_memory.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

const auto t0 = task_memory::clock_type::time_point{} + 1h;

choreo_task make_task(std::string id, uint32_t attempt = 1) {
  return choreo_task{std::move(id), attempt, {"seed", "text", "00"}};
}

} // namespace

TEST_SUITE("actors.task_memory") {
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
