// store/sql_connection.hpp — the thin per-engine adapter the one repository speaks through.
//
//   auto db = SqlDatabase::open_sqlite(path, options);      // or open_postgres(conninfo, options)
//   auto conn = db->lease();                                 // a pooled connection, returned on scope exit
//   SqlTransaction tx(*conn);                                // BEGIN IMMEDIATE (sqlite) / BEGIN (postgres)
//   conn->exec("UPDATE t SET v = ? WHERE id = ?", {SqlValue::blob(bytes), SqlValue(42)});
//   SqlRows rows = conn->query("SELECT v FROM t WHERE id = ?", {SqlValue(42)});
//   tx.commit();
//
// SQL is written once with `?` placeholders; translate_placeholders() turns them into $1, $2 ... for
// PostgreSQL in this one place. Failures throw SqlError inside src/store only; TokenStore turns them into
// Status.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace mcpgate::store {

enum class SqlEngine { Sqlite, Postgres };

struct SqlBlob {
  std::string bytes;
};

// NULL, a 64-bit integer, text or bytes. Parameters travel in binary form on both engines.
struct SqlValue {
  std::variant<std::monostate, std::int64_t, std::string, SqlBlob> v;
  SqlValue() = default;
  SqlValue(std::int64_t i) : v(i) {}
  SqlValue(int i) : v(static_cast<std::int64_t>(i)) {}
  SqlValue(std::string s) : v(std::move(s)) {}
  SqlValue(std::string_view s) : v(std::string(s)) {}
  SqlValue(const char* s) : v(std::string(s)) {}
  static SqlValue blob(std::string bytes) {
    SqlValue out;
    out.v = SqlBlob{std::move(bytes)};
    return out;
  }
  bool is_null() const noexcept { return std::holds_alternative<std::monostate>(v); }
  std::int64_t as_int() const;
  const std::string& as_text() const;  // text or blob bytes
};

using SqlParams = std::vector<SqlValue>;
using SqlRow = std::vector<SqlValue>;
using SqlRows = std::vector<SqlRow>;

class SqlError : public std::runtime_error {
 public:
  SqlError(std::string what, bool connection_lost = false)
      : std::runtime_error(std::move(what)), connection_lost_(connection_lost) {}
  bool connection_lost() const noexcept { return connection_lost_; }

 private:
  bool connection_lost_;
};

// "? ... ?" → "$1 ... $2"; question marks inside '...' literals are left alone.
std::string translate_placeholders(std::string_view sql);

class SqlConnection {
 public:
  virtual ~SqlConnection() = default;
  virtual SqlEngine engine() const noexcept = 0;
  virtual void exec(std::string_view sql, const SqlParams& params = {}) = 0;
  virtual SqlRows query(std::string_view sql, const SqlParams& params = {}) = 0;
  // Rows changed by the last exec().
  virtual std::int64_t changes() = 0;
  virtual void begin_write() = 0;
  // Serialises migrations across processes (PostgreSQL: pg_advisory_xact_lock; SQLite: the write lock already
  // does).
  virtual void lock_for_migration() = 0;
  // Re-establishes a broken connection (server restart); true when usable afterwards.
  virtual bool ensure_alive() = 0;
};

// A small pool of connections to one database.
class SqlDatabase {
 public:
  struct Lease {
    SqlDatabase* owner;
    std::unique_ptr<SqlConnection> conn;
    Lease(SqlDatabase* o, std::unique_ptr<SqlConnection> c) : owner(o), conn(std::move(c)) {}
    Lease(Lease&&) = default;
    ~Lease();
    SqlConnection* operator->() const { return conn.get(); }
    SqlConnection& operator*() const { return *conn; }
  };

  using Factory = std::function<std::unique_ptr<SqlConnection>()>;
  SqlDatabase(SqlEngine engine, Factory factory, int pool_size);

  static std::unique_ptr<SqlDatabase> open_sqlite(const std::string& path, int busy_timeout_ms,
                                                  int pool_size);
  static std::unique_ptr<SqlDatabase> open_postgres(const std::string& conninfo, int pool_size);

  SqlEngine engine() const noexcept { return engine_; }
  Lease lease();

 private:
  void give_back(std::unique_ptr<SqlConnection> conn);
  SqlEngine engine_;
  Factory factory_;
  int pool_size_;
  int outstanding_ = 0;
  std::mutex mutex_;
  std::condition_variable available_;
  std::vector<std::unique_ptr<SqlConnection>> idle_;
};

// BEGIN on construction, ROLLBACK on destruction unless commit() ran.
class SqlTransaction {
 public:
  explicit SqlTransaction(SqlConnection& conn) : conn_(conn) { conn_.begin_write(); }
  SqlTransaction(const SqlTransaction&) = delete;
  SqlTransaction& operator=(const SqlTransaction&) = delete;
  ~SqlTransaction();
  void commit();

 private:
  SqlConnection& conn_;
  bool done_ = false;
};

}  // namespace mcpgate::store
