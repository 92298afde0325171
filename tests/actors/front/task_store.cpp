#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "actors/crypto/digest.hpp"
#include "actors/front/task_book.hpp"
#include "actors/front/task_store.hpp"
#include "support/process.hpp"

using namespace duet;
using namespace std::chrono_literals;

namespace {

const auto t0 = task_book::clock_type::now();

task_book::config config() {
  task_book::config cfg;
  cfg.max_pending = 100;
  cfg.keep_results = 100;
  return cfg;
}

verify_request req(std::string text) {
  return {"seed", std::move(text), "00ff", "rsa-pkcs1-md5", "9a97"};
}

task_book::result ok(const std::string& id, const verify_request& r,
                     bool verified = true) {
  return {id, verified, "v/0", caf::error{}, *task_digest(id, r)};
}

// A book with a store at `path`, restored from it.
std::shared_ptr<task_book> open_book(const std::string& path,
                                     uint64_t max_bytes = 1 << 26) {
  auto store = task_store::open(path, durability::os, max_bytes);
  REQUIRE(store);
  auto book = std::make_shared<task_book>(config());
  auto err = (*store)->load(
    [&](task_book::stored&& x) { book->restore(std::move(x), t0); });
  CHECK_FALSE(err);
  book->journal(std::move(*store));
  return book;
}

std::optional<task_view> get(task_book& book, const std::string& id) {
  std::optional<task_view> out;
  book.query(id, 0ms, t0, [&](caf::expected<task_view> x) {
    if (x)
      out = *x;
  });
  return out;
}

} // namespace

TEST_SUITE("actors.task_store") {
  TEST_CASE("a restarted book finds every task: pending, finished, read") {
    auto dir = duet::test::make_temp_dir();
    auto path = dir + "/tasks.db";
    std::vector<std::string> ids;
    {
      auto book = open_book(path);
      for (int i = 0; i < 5; ++i)
        ids.push_back(*book->accept(req("text " + std::to_string(i)), t0));
      book->record(ok(ids[0], req("text 0")), t0 + 1s);
      book->record(ok(ids[1], req("text 1"), false), t0 + 2s);
      book->record({ids[2], false, "v/1",
                    caf::make_error(ec::unknown_key, "no key 'seed'"),
                    *task_digest(ids[2], req("text 2"))},
                   t0 + 3s);
      // ids[1] is read; ids[3] and ids[4] stay pending.
      CHECK(get(*book, ids[1]));
      REQUIRE(book->journal()->dirty());
      CHECK_FALSE(book->journal()->commit());
      CHECK_FALSE(book->journal()->dirty());
    }
    auto book = open_book(path);
    CHECK(book->pending() == 2);
    CHECK(book->size() == 5);
    auto a = get(*book, ids[0]);
    REQUIRE(a);
    CHECK(a->state == task_state::done);
    CHECK(a->verified);
    CHECK(a->verifier == "v/0");
    CHECK(a->key_id == "seed");
    auto c = get(*book, ids[2]);
    REQUIRE(c);
    CHECK(c->state == task_state::failed);
    CHECK(code_of(c->error) == ec::unknown_key);
    CHECK(message_of(c->error).find("no key 'seed'") != std::string::npos);
    // The id-less GET pops the oldest unread: ids[0] and ids[2] were read
    // above, ids[1] before the restart: none is left.
    CHECK_FALSE(get(*book, ""));
    // Pending tasks are published again and take their results.
    std::vector<std::string> published;
    book->publish_due(t0, [&](const std::string& id, uint32_t,
                              const verify_request& r,
                              const std::vector<std::string>&) {
      CHECK(r.text.rfind("text ", 0) == 0);
      published.push_back(id);
      return std::string{"m#1"};
    });
    CHECK(published.size() == 2);
    CHECK(book->record(ok(ids[3], req("text 3")), t0)
          == task_book::recorded::first);
    // Finished ones keep their digest: a late copy is a duplicate.
    CHECK(book->record(ok(ids[0], req("text 0")), t0)
          == task_book::recorded::duplicate);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("the id-less GET finds the oldest unread result after a "
            "restart") {
    auto dir = duet::test::make_temp_dir();
    auto path = dir + "/tasks.db";
    std::vector<std::string> ids;
    {
      auto book = open_book(path);
      for (int i = 0; i < 3; ++i)
        ids.push_back(*book->accept(req("t"), t0));
      book->record(ok(ids[2], req("t")), t0 + 1s);
      book->record(ok(ids[0], req("t")), t0 + 2s);
      book->journal()->commit();
    }
    auto book = open_book(path);
    auto first = get(*book, "");
    REQUIRE(first);
    CHECK(first->id == ids[2]);
    auto second = get(*book, "");
    REQUIRE(second);
    CHECK(second->id == ids[0]);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("a file that is no store is refused, naming it") {
    auto dir = duet::test::make_temp_dir();
    auto path = dir + "/tasks.db";
    {
      std::ofstream out{path, std::ios::binary};
      for (int i = 0; i < 4096; ++i)
        out.put(static_cast<char>(i * 37));
    }
    auto store = task_store::open(path, durability::fsync, 1 << 20);
    REQUIRE_FALSE(store);
    CHECK(code_of(store.error()) == ec::invalid_config);
    CHECK(message_of(store.error()).find(path) != std::string::npos);
    // A folder that cannot be made (under a file) is named too.
    auto bad = task_store::open(path + "/sub/tasks.db", durability::os,
                                1 << 20);
    REQUIRE_FALSE(bad);
    CHECK(message_of(bad.error()).find("sub/tasks.db") != std::string::npos);
    std::filesystem::remove_all(dir);
  }

  TEST_CASE("a full store refuses new tasks; one front per store") {
    auto dir = duet::test::make_temp_dir();
    auto path = dir + "/tasks.db";
    auto book = open_book(path, 1 << 20);
    std::string big(100000, 'x');
    caf::expected<std::string> last = std::string{};
    int accepted = 0;
    for (int i = 0; i < 100 && last; ++i) {
      last = book->accept(req(big), t0);
      if (last)
        ++accepted;
    }
    REQUIRE_FALSE(last);
    CHECK(code_of(last.error()) == ec::overloaded);
    CHECK(accepted > 0);
    CHECK(accepted < 11);
    CHECK(book->pending() == static_cast<size_t>(accepted));
    // A second process (or store) on the same file is refused.
    book->journal()->commit();
    auto second = task_store::open(path, durability::os, 1 << 20);
    REQUIRE_FALSE(second);
    CHECK(message_of(second.error()).find("in use") != std::string::npos);
    std::filesystem::remove_all(dir);
  }
}
