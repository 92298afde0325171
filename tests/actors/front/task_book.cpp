#include <doctest/doctest.h>

#include <vector>

#include "actors/core/name_counts.hpp"
#include "actors/crypto/digest.hpp"
#include "actors/front/task_book.hpp"
#include "actors/protocol/membership.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

const auto t0 = task_book::clock_type::time_point{} + 1h;

task_book::config config() {
  task_book::config cfg;
  cfg.max_pending = 3;
  cfg.redeliver_after = 5s;
  cfg.task_timeout = 60s;
  cfg.keep_results = 2;
  cfg.keep_for = 600s;
  return cfg;
}

verify_request req() {
  return {"seed", "text", "00"};
}

struct published {
  std::string id;
  uint32_t attempt;
  std::string owner;
};

// Collects what the book asks to publish, to the owner among `members`.
struct collector {
  membership members;
  std::vector<published> out;

  explicit collector(std::vector<std::string> names = {"a#1", "b#2", "c#3"}) {
    for (auto& x : names)
      members.beat(x, false, t0);
  }

  auto fn() {
    return
      [this](const std::string& id, uint32_t attempt, const verify_request&,
             const std::vector<std::string>& excluded) {
        auto owner = members.owner(id, excluded);
        if (!owner.empty())
          out.push_back({id, attempt, owner});
        return owner;
      };
  }
};

// Ids `prefix` + 0, 1, 2, ...
task_book::id_source counter(std::string prefix) {
  return [prefix, n = 0]() mutable { return prefix + std::to_string(n++); };
}

task_book::result ok(const std::string& id, std::string verifier = "v/0") {
  return {id, true, std::move(verifier), caf::error{}, *task_digest(id, req())};
}

// The view a query answered, or none (unknown task).
std::optional<task_view> opt(const caf::expected<task_view>& x) {
  if (x)
    return *x;
  return std::nullopt;
}

} // namespace

TEST_SUITE("actors.task_book") {
  TEST_CASE("accepts up to max-pending, then refuses") {
    task_book book{config(), counter("ab-")};
    CHECK(*book.accept(req(), t0) == "ab-0");
    CHECK(*book.accept(req(), t0) == "ab-1");
    CHECK(*book.accept(req(), t0) == "ab-2");
    auto refused = book.accept(req(), t0);
    REQUIRE_FALSE(refused);
    CHECK(code_of(refused.error()) == ec::overloaded);
    CHECK(book.record(ok("ab-1"), t0) == task_book::recorded::first);
    CHECK(book.accept(req(), t0));
  }

  TEST_CASE("publishes new tasks, redelivers those without a result") {
    task_book book{config(), counter("ab-")};
    auto id = *book.accept(req(), t0);
    collector c;
    CHECK(book.publish(id, t0, c.fn()));
    book.publish_due(t0 + 1s, c.fn());
    CHECK(c.out.size() == 1); // not due yet
    book.publish_due(t0 + 6s, c.fn());
    REQUIRE(c.out.size() == 2);
    CHECK(c.out[1].attempt == 2);
    CHECK(book.stats().redelivered == 1);
    book.record(ok(id), t0 + 7s);
    book.publish_due(t0 + 20s, c.fn());
    CHECK(c.out.size() == 2);
    CHECK_FALSE(book.publish(id, t0 + 20s, c.fn()));
  }

  TEST_CASE("a redelivery goes to another member; a decline excludes for "
            "good") {
    task_book book{config(), counter("ab-")};
    auto id = *book.accept(req(), t0);
    collector c;
    CHECK(book.publish(id, t0, c.fn()));
    auto first = c.out.back().owner;
    // No result in time: the next member, then the last, then all again.
    book.publish_due(t0 + 6s, c.fn());
    REQUIRE(c.out.size() == 2);
    auto second = c.out.back().owner;
    CHECK(second != first);
    book.publish_due(t0 + 12s, c.fn());
    REQUIRE(c.out.size() == 3);
    auto third = c.out.back().owner;
    CHECK(third != first);
    CHECK(third != second);
    book.publish_due(t0 + 18s, c.fn());
    REQUIRE(c.out.size() == 4);
    CHECK(c.out.back().owner == first);
    // The owner declines: due now, never to it again.
    CHECK(book.decline(id, first));
    book.publish_due(t0 + 19s, c.fn());
    REQUIRE(c.out.size() == 5);
    CHECK(c.out.back().owner != first);
    for (int k = 0; k < 6; ++k) {
      book.publish_due(t0 + 25s + k * 6s, c.fn());
      CHECK(c.out.back().owner != first);
    }
    // Everyone declined: nobody gets it; it waits for its task-timeout.
    auto n = c.out.size();
    for (auto m : {"a#1", "b#2", "c#3"})
      book.decline(id, m);
    book.publish_due(t0 + 61s, c.fn());
    CHECK(c.out.size() == n);
    CHECK_FALSE(book.decline("zz-1", "a#1"));
  }

  TEST_CASE("tasks of a lost owner, or of every owner, are due at once") {
    task_book book{config(), counter("ab-")};
    collector c;
    std::vector<std::string> ids;
    for (int i = 0; i < 3; ++i) {
      ids.push_back(*book.accept(req(), t0));
      book.publish(ids.back(), t0, c.fn());
    }
    auto lost = c.out[0].owner;
    size_t owned = 0;
    for (auto& p : c.out)
      owned += p.owner == lost ? 1 : 0;
    c.members.beat(lost, true, t0 + 1s);
    CHECK(book.owner_lost(lost) == owned);
    c.out.clear();
    book.publish_due(t0 + 1s, c.fn());
    CHECK(c.out.size() == owned);
    for (auto& p : c.out)
      CHECK(p.owner != lost);
    // A move to another hub: everything pending goes out again.
    book.all_due();
    c.out.clear();
    book.publish_due(t0 + 2s, c.fn());
    CHECK(c.out.size() == 3);
  }

  TEST_CASE("the first result counts, later ones are duplicates") {
    task_book book{config(), counter("ab-")};
    auto id = *book.accept(req(), t0);
    CHECK(book.record(ok(id, "v/1"), t0) == task_book::recorded::first);
    CHECK(book.record(ok(id, "v/2"), t0) == task_book::recorded::duplicate);
    CHECK(book.record(ok("zz-9"), t0) == task_book::recorded::unknown);
    std::optional<task_view> seen;
    book.query(id, 0ms, t0, [&](auto v) { seen = opt(v); });
    REQUIRE(seen);
    CHECK(seen->state == task_state::done);
    CHECK(seen->verifier == "v/1");
    CHECK(book.stats().duplicates == 1);
  }

  TEST_CASE("a result about another request than the task's is ignored") {
    task_book book{config(), counter("ab-")};
    auto id = *book.accept(req(), t0);
    // A member published its own request under the front's task id, and a
    // verifier answered that copy: the result names the copy's digest.
    auto forged = ok(id);
    forged.request = *task_digest(id, {"seed", "other text", "00"});
    CHECK(book.record(forged, t0) == task_book::recorded::mismatch);
    CHECK(book.is_pending(id));
    CHECK(book.stats().mismatched == 1);
    CHECK(book.record(ok(id), t0) == task_book::recorded::first);
    CHECK(book.record(forged, t0) == task_book::recorded::mismatch);
    CHECK(book.stats().mismatched == 2);
    // The digest covers the id as well: the same request under another id
    // does not count.
    auto other = *book.accept(req(), t0);
    auto moved = ok(other);
    moved.request = *task_digest(id, req());
    CHECK(book.record(moved, t0) == task_book::recorded::mismatch);
  }

  TEST_CASE("task ids are 128 random bits") {
    task_book book{config()};
    auto a = *book.accept(req(), t0);
    auto b = *book.accept(req(), t0);
    CHECK(a.size() == 32);
    CHECK(a != b);
    CHECK(a.find_first_not_of("0123456789abcdef") == std::string::npos);
  }

  TEST_CASE("long polls end with the task or at their time") {
    task_book book{config(), counter("ab-")};
    auto a = *book.accept(req(), t0);
    auto b = *book.accept(req(), t0);
    std::optional<task_view> got_a;
    std::optional<task_view> got_b;
    int calls = 0;
    book.query(a, 2000ms, t0, [&](auto v) { got_a = opt(v), ++calls; });
    book.query(b, 2000ms, t0, [&](auto v) { got_b = opt(v), ++calls; });
    CHECK(calls == 0);
    book.record(ok(a), t0 + 1s);
    CHECK(calls == 1);
    CHECK(got_a->state == task_state::done);
    book.expire(t0 + 3s);
    CHECK(calls == 2);
    CHECK(got_b->state == task_state::pending);
    CHECK(book.waiting() == 0);
  }

  TEST_CASE("pending tasks fail at task-timeout, finished ones expire") {
    task_book book{config(), counter("ab-")};
    auto a = *book.accept(req(), t0);
    book.expire(t0 + 61s);
    std::optional<task_view> v;
    book.query(a, 0ms, t0 + 61s, [&](auto x) { v = opt(x); });
    REQUIRE(v);
    CHECK(v->state == task_state::failed);
    CHECK(book.pending() == 0);
    // keep-results is 2: the oldest finished task goes first.
    auto b = *book.accept(req(), t0 + 62s);
    auto c = *book.accept(req(), t0 + 62s);
    book.record(ok(b), t0 + 63s);
    book.record(ok(c), t0 + 63s);
    book.expire(t0 + 64s);
    CHECK(book.size() == 2);
    book.query(a, 0ms, t0 + 64s, [&](auto x) { v = opt(x); });
    CHECK_FALSE(v);
    // keep-for: everything finished goes after 600 s.
    book.expire(t0 + 700s);
    CHECK(book.size() == 0);
  }

  TEST_CASE("the id-less GET pops the oldest unread result") {
    task_book book{config(), counter("ab-")};
    auto a = *book.accept(req(), t0);
    auto b = *book.accept(req(), t0);
    book.record(ok(b), t0);
    book.record(ok(a), t0);
    std::vector<std::string> order;
    for (int i = 0; i < 3; ++i)
      book.query("", 0ms, t0,
                 [&](auto v) { order.push_back(v ? v->id : "-"); });
    CHECK(order == std::vector<std::string>{b, a, "-"});
  }

  TEST_CASE("answers per verifier are bounded in names") {
    task_book::config cfg = config();
    cfg.max_pending = 2000;
    task_book book{cfg, counter("ab-")};
    for (int i = 0; i < 1000; ++i) {
      auto id = *book.accept(req(), t0);
      book.record(ok(id, "rogue-" + std::to_string(i)), t0);
    }
    CHECK(book.stats().by_verifier.size() <= limits::counted_names);
    CHECK(book.stats().by_verifier.get(name_counts::other) > 0);
  }

  TEST_CASE("name_counts keeps at most its names and counts the rest") {
    name_counts c{3};
    c.add("a");
    c.add("b", 2);
    c.add("a");
    c.add("c");
    c.add("d");
    c.add("e", 5);
    CHECK(c.get("a") == 2);
    CHECK(c.get("b") == 2);
    CHECK(c.get("c") == 0);
    CHECK(c.get(name_counts::other) == 7);
    CHECK(c.size() == 3); // two names and "other"
  }

} // TEST_SUITE
