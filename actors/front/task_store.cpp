#include "actors/front/task_store.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <filesystem>

#include "actors/core/log.hpp"

namespace duet {

namespace {

constexpr int schema_version = 1;

constexpr const char* schema = R"sql(
CREATE TABLE IF NOT EXISTS tasks (
  id            TEXT PRIMARY KEY,
  key_id        TEXT NOT NULL,
  text          BLOB NOT NULL,
  signature     TEXT NOT NULL,
  algorithm     TEXT NOT NULL,
  fingerprint   TEXT NOT NULL,
  text_digest   BLOB NOT NULL DEFAULT '',
  digest        TEXT NOT NULL,
  state         INTEGER NOT NULL DEFAULT 0,
  verified      INTEGER NOT NULL DEFAULT 0,
  verifier      TEXT NOT NULL DEFAULT '',
  error_code    INTEGER NOT NULL DEFAULT 0,
  error_message TEXT NOT NULL DEFAULT '',
  created_ms    INTEGER NOT NULL,
  finished_ms   INTEGER NOT NULL DEFAULT 0,
  finished_seq  INTEGER NOT NULL DEFAULT 0,
  read          INTEGER NOT NULL DEFAULT 0
);
)sql";

std::string column_text(sqlite3_stmt* stmt, int col) {
  auto ptr = sqlite3_column_blob(stmt, col);
  auto len = sqlite3_column_bytes(stmt, col);
  return ptr != nullptr ? std::string{static_cast<const char*>(ptr),
                                      static_cast<size_t>(len)}
                        : std::string{};
}

// (Not `bind`: std::bind would win for a temporary string, found by ADL.)
void bind_text(sqlite3_stmt* stmt, int col, const std::string& x) {
  sqlite3_bind_text(stmt, col, x.data(), static_cast<int>(x.size()),
                    SQLITE_TRANSIENT);
}

void bind_blob(sqlite3_stmt* stmt, int col, const std::string& x) {
  sqlite3_bind_blob(stmt, col, x.data(), static_cast<int>(x.size()),
                    SQLITE_TRANSIENT);
}

} // namespace

task_store::~task_store() {
  // A clean stop keeps what is written; a crash loses the open transaction,
  // whose tasks got no 202.
  if (in_transaction_)
    commit();
  for (auto stmt : {insert_, finish_, read_, forget_})
    sqlite3_finalize(stmt);
  sqlite3_close(db_);
}

caf::error task_store::fail(const char* what) {
  return caf::make_error(ec::unavailable,
                         std::string{"task store: "} + what + ": "
                           + (db_ != nullptr ? sqlite3_errmsg(db_)
                                             : "cannot open"));
}

caf::error task_store::exec(const char* sql) {
  char* msg = nullptr;
  if (sqlite3_exec(db_, sql, nullptr, nullptr, &msg) == SQLITE_OK)
    return {};
  std::string text = msg != nullptr ? msg : "error";
  sqlite3_free(msg);
  return caf::make_error(ec::unavailable, "task store: " + text);
}

caf::expected<std::unique_ptr<task_store>>
task_store::open(const std::string& path, durability mode, uint64_t max_bytes) {
  std::unique_ptr<task_store> st{new task_store};
  // Its folder is made if missing (e.g. run/ of a fresh checkout).
  std::error_code ignored;
  auto parent = std::filesystem::path{path}.parent_path();
  if (!parent.empty())
    std::filesystem::create_directories(parent, ignored);
  auto flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
  if (sqlite3_open_v2(path.c_str(), &st->db_, flags, nullptr) != SQLITE_OK)
    return caf::make_error(ec::invalid_config,
                           "choreography.store: cannot open '" + path
                             + "': " + sqlite3_errmsg(st->db_));
  // One front per store: a second process on the same file is refused.
  const char* setup = mode == durability::fsync
                        ? "PRAGMA locking_mode=EXCLUSIVE;"
                          "PRAGMA journal_mode=WAL;"
                          "PRAGMA synchronous=FULL;"
                        : "PRAGMA locking_mode=EXCLUSIVE;"
                          "PRAGMA journal_mode=WAL;"
                          "PRAGMA synchronous=NORMAL;";
  // Taking the lock with a write (EXCLUSIVE mode holds it from then on).
  auto err = st->exec(setup);
  if (!err)
    err = st->exec("BEGIN IMMEDIATE; COMMIT;");
  if (err) {
    auto busy = sqlite3_errcode(st->db_) == SQLITE_BUSY
                || sqlite3_errcode(st->db_) == SQLITE_LOCKED;
    return caf::make_error(ec::invalid_config,
                           "choreography.store '" + path + "'"
                             + (busy ? " is in use (another front?)" : "")
                             + ": " + message_of(err));
  }
  sqlite3_stmt* stmt = nullptr;
  int version = 0;
  if (sqlite3_prepare_v2(st->db_, "PRAGMA user_version", -1, &stmt, nullptr)
        == SQLITE_OK
      && sqlite3_step(stmt) == SQLITE_ROW)
    version = sqlite3_column_int(stmt, 0);
  sqlite3_finalize(stmt);
  if (version != 0 && version != schema_version)
    return caf::make_error(ec::invalid_config,
                           "choreography.store '" + path + "' has schema "
                             + std::to_string(version) + ", this duet "
                             + std::to_string(schema_version));
  if (auto err = st->exec(schema))
    return caf::make_error(ec::invalid_config, "choreography.store '" + path
                                                 + "': " + message_of(err));
  st->exec("PRAGMA user_version=1");
  // The size cap: SQLite answers SQLITE_FULL past it.
  int page = 4096;
  if (sqlite3_prepare_v2(st->db_, "PRAGMA page_size", -1, &stmt, nullptr)
        == SQLITE_OK
      && sqlite3_step(stmt) == SQLITE_ROW)
    page = std::max(512, sqlite3_column_int(stmt, 0));
  sqlite3_finalize(stmt);
  auto pages = "PRAGMA max_page_count="
               + std::to_string(std::max<uint64_t>(max_bytes / page, 16));
  st->exec(pages.c_str());
  if (sqlite3_prepare_v2(st->db_, "SELECT MAX(finished_seq) FROM tasks", -1,
                         &stmt, nullptr)
        == SQLITE_OK
      && sqlite3_step(stmt) == SQLITE_ROW)
    st->next_seq_ = sqlite3_column_int64(stmt, 0) + 1;
  sqlite3_finalize(stmt);
  auto prepare = [&](const char* sql, sqlite3_stmt** out) {
    return sqlite3_prepare_v3(st->db_, sql, -1, SQLITE_PREPARE_PERSISTENT, out,
                              nullptr)
           == SQLITE_OK;
  };
  if (!prepare("INSERT INTO tasks (id, key_id, text, signature, algorithm, "
               "fingerprint, digest, created_ms, text_digest) "
               "VALUES (?,?,?,?,?,?,?,?,?)",
               &st->insert_)
      || !prepare("UPDATE tasks SET state=?, verified=?, verifier=?, "
                  "error_code=?, error_message=?, finished_ms=?, "
                  "finished_seq=?, text='', signature='', text_digest='' "
                  "WHERE id=?",
                  &st->finish_)
      || !prepare("UPDATE tasks SET read=1 WHERE id=?", &st->read_)
      || !prepare("DELETE FROM tasks WHERE id=?", &st->forget_))
    return st->fail("cannot prepare its statements");
  return st;
}

caf::error task_store::load(const std::function<void(task_book::stored&&)>& f) {
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db_,
                         "SELECT id, key_id, text, signature, algorithm, "
                         "fingerprint, digest, state, verified, verifier, "
                         "error_code, error_message, created_ms, finished_ms, "
                         "read, text_digest FROM tasks "
                         "ORDER BY finished_seq, created_ms",
                         -1, &stmt, nullptr)
      != SQLITE_OK)
    return fail("cannot read");
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    task_book::stored x;
    x.id = column_text(stmt, 0);
    x.req.key_id = column_text(stmt, 1);
    x.req.text = column_text(stmt, 2);
    x.req.hex_signature = column_text(stmt, 3);
    x.req.algorithm = column_text(stmt, 4);
    x.req.fingerprint = column_text(stmt, 5);
    x.digest = column_text(stmt, 6);
    x.view.id = x.id;
    // A file edited by hand may hold any number: only the two final
    // states are taken, anything else counts as pending.
    auto state = sqlite3_column_int(stmt, 7);
    x.view.state = state == static_cast<int>(task_state::done)
                       || state == static_cast<int>(task_state::failed)
                     ? static_cast<task_state>(state)
                     : task_state::pending;
    x.view.verified = sqlite3_column_int(stmt, 8) != 0;
    x.view.verifier = column_text(stmt, 9);
    auto code = sqlite3_column_int(stmt, 10);
    if (code != 0)
      x.view.error = caf::make_error(static_cast<ec>(code),
                                     column_text(stmt, 11));
    x.view.key_id = x.req.key_id;
    x.view.algorithm = x.req.algorithm;
    x.created_ms = sqlite3_column_int64(stmt, 12);
    x.finished_ms = sqlite3_column_int64(stmt, 13);
    x.read = sqlite3_column_int(stmt, 14) != 0;
    x.req.digest = column_text(stmt, 15);
    f(std::move(x));
  }
  sqlite3_finalize(stmt);
  return rc == SQLITE_DONE ? caf::error{} : fail("cannot read");
}

caf::error task_store::begin() {
  if (in_transaction_)
    return {};
  if (auto err = exec("BEGIN"))
    return err;
  in_transaction_ = true;
  return {};
}

caf::error task_store::commit() {
  if (!in_transaction_)
    return {};
  in_transaction_ = false;
  if (auto err = exec("COMMIT")) {
    exec("ROLLBACK");
    return err;
  }
  return {};
}

caf::error task_store::accepted(const std::string& id,
                                const verify_request& req,
                                const std::string& digest, int64_t created_ms) {
  if (auto err = begin())
    return err;
  bind_text(insert_, 1, id);
  bind_text(insert_, 2, req.key_id);
  bind_blob(insert_, 3, req.text);
  bind_text(insert_, 4, req.hex_signature);
  bind_text(insert_, 5, req.algorithm);
  bind_text(insert_, 6, req.fingerprint);
  bind_text(insert_, 7, digest);
  sqlite3_bind_int64(insert_, 8, created_ms);
  bind_blob(insert_, 9, req.digest);
  auto rc = sqlite3_step(insert_);
  sqlite3_reset(insert_);
  if (rc == SQLITE_DONE)
    return {};
  ++write_errors_;
  if (rc == SQLITE_FULL)
    return caf::make_error(ec::overloaded,
                           "the task store is full "
                           "(choreography.store-max-bytes); retry later");
  return fail("cannot write a task");
}

void task_store::step_write(sqlite3_stmt* stmt, const char* what) {
  auto rc = sqlite3_step(stmt);
  sqlite3_reset(stmt);
  if (rc == SQLITE_DONE)
    return;
  ++write_errors_;
  static std::atomic<int64_t> last_ms{0};
  if (log::throttle(last_ms))
    log::error("task store: cannot write ", what, ": ", sqlite3_errmsg(db_));
}

void task_store::finished(const std::string& id, const task_view& view,
                          int64_t finished_ms) {
  if (begin())
    return;
  sqlite3_bind_int(finish_, 1, static_cast<int>(view.state));
  sqlite3_bind_int(finish_, 2, view.verified ? 1 : 0);
  bind_text(finish_, 3, view.verifier);
  sqlite3_bind_int(finish_, 4,
                   view.error ? static_cast<int>(code_of(view.error)) : 0);
  bind_text(finish_, 5, view.error ? message_of(view.error) : std::string{});
  sqlite3_bind_int64(finish_, 6, finished_ms);
  sqlite3_bind_int64(finish_, 7, next_seq_++);
  bind_text(finish_, 8, id);
  step_write(finish_, "a result");
}

void task_store::read(const std::string& id) {
  if (begin())
    return;
  bind_text(read_, 1, id);
  step_write(read_, "a read mark");
}

void task_store::forgotten(const std::string& id) {
  if (begin())
    return;
  bind_text(forget_, 1, id);
  step_write(forget_, "a removal");
}

} // namespace duet
