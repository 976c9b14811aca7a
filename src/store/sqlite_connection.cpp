// The SQLite adapter: every connection gets WAL, busy_timeout and foreign_keys=ON (the pragma is per
// connection, https://sqlite.org/foreignkeys.html §2), and writes take the write lock up front with BEGIN
// IMMEDIATE so two writers never deadlock upgrading a read lock (https://sqlite.org/lang_transaction.html).
#include <sqlite3.h>

#include <chrono>
#include <thread>

#include "store/sql_connection.hpp"

namespace mcpgate::store {
namespace {

class SqliteConnection final : public SqlConnection {
 public:
  SqliteConnection(const std::string& path, int busy_timeout_ms) {
    const int rc = sqlite3_open_v2(path.c_str(), &db_,
                                   SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
    if (rc != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : sqlite3_errstr(rc);
      sqlite3_close(db_);
      db_ = nullptr;
      throw SqlError("cannot open sqlite database '" + path + "': " + msg, true);
    }
    busy_timeout_ms_ = busy_timeout_ms;
    sqlite3_busy_timeout(db_, busy_timeout_ms);
    exec("PRAGMA journal_mode=WAL", {});
    exec("PRAGMA foreign_keys=ON", {});
    exec("PRAGMA synchronous=FULL",
         {});  // an acknowledged (committed) write survives a crash of the process or host
  }
  ~SqliteConnection() override { sqlite3_close_v2(db_); }

  SqlEngine engine() const noexcept override { return SqlEngine::Sqlite; }

  void exec(std::string_view sql, const SqlParams& params) override { run(sql, params, nullptr); }

  SqlRows query(std::string_view sql, const SqlParams& params) override {
    SqlRows rows;
    run(sql, params, &rows);
    return rows;
  }

  std::int64_t changes() override { return sqlite3_changes64(db_); }
  void begin_write() override { exec("BEGIN IMMEDIATE", {}); }
  void lock_for_migration() override {}
  bool ensure_alive() override { return db_ != nullptr; }

 private:
  void run(std::string_view sql, const SqlParams& params, SqlRows* rows) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db_, sql.data(), static_cast<int>(sql.size()), &stmt, nullptr) != SQLITE_OK)
      throw SqlError(std::string("sqlite prepare: ") + sqlite3_errmsg(db_));
    std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)> guard(stmt, &sqlite3_finalize);
    for (std::size_t i = 0; i < params.size(); ++i) {
      const int idx = static_cast<int>(i + 1);
      const auto& p = params[i].v;
      int rc = SQLITE_OK;
      if (std::holds_alternative<std::monostate>(p))
        rc = sqlite3_bind_null(stmt, idx);
      else if (const auto* n = std::get_if<std::int64_t>(&p))
        rc = sqlite3_bind_int64(stmt, idx, *n);
      else if (const auto* s = std::get_if<std::string>(&p))
        rc = sqlite3_bind_text64(stmt, idx, s->data(), s->size(), SQLITE_TRANSIENT, SQLITE_UTF8);
      else {
        const auto& b = std::get<SqlBlob>(p).bytes;
        rc = sqlite3_bind_blob64(stmt, idx, b.data(), b.size(), SQLITE_TRANSIENT);
      }
      if (rc != SQLITE_OK) throw SqlError(std::string("sqlite bind: ") + sqlite3_errmsg(db_));
    }
    for (;;) {
      const int rc = step_with_retry(stmt);
      if (rc == SQLITE_DONE) return;
      if (rc != SQLITE_ROW) throw SqlError(std::string("sqlite: ") + sqlite3_errmsg(db_));
      if (!rows) continue;
      SqlRow row;
      const int cols = sqlite3_column_count(stmt);
      for (int c = 0; c < cols; ++c) {
        switch (sqlite3_column_type(stmt, c)) {
          case SQLITE_INTEGER:
            row.emplace_back(static_cast<std::int64_t>(sqlite3_column_int64(stmt, c)));
            break;
          case SQLITE_TEXT:
            row.emplace_back(std::string(reinterpret_cast<const char*>(sqlite3_column_text(stmt, c)),
                                         static_cast<std::size_t>(sqlite3_column_bytes(stmt, c))));
            break;
          case SQLITE_BLOB: {
            const auto* data = static_cast<const char*>(sqlite3_column_blob(stmt, c));
            row.push_back(SqlValue::blob(
                std::string(data ? data : "", static_cast<std::size_t>(sqlite3_column_bytes(stmt, c)))));
            break;
          }
          case SQLITE_NULL:
            row.emplace_back();
            break;
          default:
            throw SqlError("sqlite: unexpected column type");
        }
      }
      rows->push_back(std::move(row));
    }
  }

  // Some lock waits never reach the busy handler: switching a fresh file to WAL while another process does,
  // or opening while another connection runs WAL recovery (https://sqlite.org/rescode.html#busy). Outside a
  // transaction the statement is safe to run again, so wait and retry for up to busy_timeout.
  int step_with_retry(sqlite3_stmt* stmt) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(busy_timeout_ms_);
    for (;;) {
      const int rc = sqlite3_step(stmt);
      const int primary = rc & 0xff;
      if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) || !sqlite3_get_autocommit(db_) ||
          std::chrono::steady_clock::now() >= deadline)
        return rc;
      sqlite3_reset(stmt);
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  sqlite3* db_ = nullptr;
  int busy_timeout_ms_ = 0;
};

}  // namespace

std::unique_ptr<SqlDatabase> SqlDatabase::open_sqlite(const std::string& path, int busy_timeout_ms,
                                                      int pool_size) {
  return std::make_unique<SqlDatabase>(
      SqlEngine::Sqlite,
      [path, busy_timeout_ms] { return std::make_unique<SqliteConnection>(path, busy_timeout_ms); },
      pool_size);
}

}  // namespace mcpgate::store
