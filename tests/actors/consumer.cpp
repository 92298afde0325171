#include <doctest/doctest.h>

#include <map>

#include "actors/consumer.hpp"

using namespace duet;

TEST_SUITE("actors.consumer") {
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

} // TEST_SUITE
