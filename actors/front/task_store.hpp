#pragma once

// The choreography's tasks on the front's disk: every accepted task and
// every result, in SQLite (WAL mode), so that a front killed at any moment
// finds them again when it restarts. No CAF actors here: the task book
// writes through the `task_journal` interface and the task desk commits.
//
// Why SQLite: one file, transactions that group the writes of many tasks
// into one commit (one fsync), a `synchronous` setting that maps onto the
// three durability modes, a page limit that bounds the file, and a
// well-kept Debian package. LMDB would do too, with a fixed map size and
// without SQL for the ordered load; nothing here needs its speed.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "actors/core/error.hpp"
#include "actors/core/options.hpp"
#include "actors/front/task_book.hpp"

struct sqlite3;
struct sqlite3_stmt;

namespace duet {

/// The tasks of one front in one SQLite file.
class task_store : public task_journal {
public:
  ~task_store() override;

  /// Opens (or creates) the store at `path`, at most `max_bytes` big.
  static caf::expected<std::unique_ptr<task_store>>
  open(const std::string& path, durability mode, uint64_t max_bytes);

  /// Calls `f` with every stored task, finished ones in finishing order
  /// after the pending ones.
  caf::error load(const std::function<void(task_book::stored&&)>& f);

  // -- task_journal ----------------------------------------------------------
  //
  // Each write opens a transaction if none is open; `commit` ends it (with
  // an fsync in `fsync` mode), so the writes of one burst of messages are
  // one commit.

  caf::error accepted(const std::string& id, const verify_request& req,
                      const std::string& digest, int64_t created_ms) override;
  void finished(const std::string& id, const task_view& view,
                int64_t finished_ms) override;
  void read(const std::string& id) override;
  void forgotten(const std::string& id) override;
  bool dirty() const noexcept override {
    return in_transaction_;
  }
  caf::error commit() override;

  /// Failed writes since the start (each is logged once in a while).
  uint64_t write_errors() const noexcept {
    return write_errors_;
  }

private:
  task_store() = default;
  caf::error begin();
  caf::error exec(const char* sql);
  caf::error fail(const char* what);
  void step_write(sqlite3_stmt* stmt, const char* what);

  sqlite3* db_ = nullptr;
  sqlite3_stmt* insert_ = nullptr;
  sqlite3_stmt* finish_ = nullptr;
  sqlite3_stmt* read_ = nullptr;
  sqlite3_stmt* forget_ = nullptr;
  bool in_transaction_ = false;
  int64_t next_seq_ = 1;
  uint64_t write_errors_ = 0;
};

} // namespace duet
