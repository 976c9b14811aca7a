#include "store/sql_connection.hpp"

namespace mcpgate::store {

std::int64_t SqlValue::as_int() const {
  if (const auto* i = std::get_if<std::int64_t>(&v)) return *i;
  throw SqlError("expected an integer column");
}

const std::string& SqlValue::as_text() const {
  if (const auto* s = std::get_if<std::string>(&v)) return *s;
  if (const auto* b = std::get_if<SqlBlob>(&v)) return b->bytes;
  static const std::string empty;
  if (is_null()) return empty;
  throw SqlError("expected a text or blob column");
}

std::string translate_placeholders(std::string_view sql) {
  std::string out;
  out.reserve(sql.size() + 8);
  bool in_literal = false;
  int n = 0;
  for (char c : sql) {
    if (c == '\'') in_literal = !in_literal;
    if (c == '?' && !in_literal) {
      out += '$';
      out += std::to_string(++n);
    } else {
      out += c;
    }
  }
  return out;
}

SqlDatabase::Lease::~Lease() {
  if (owner && conn) owner->give_back(std::move(conn));
}

SqlDatabase::SqlDatabase(SqlEngine engine, Factory factory, int pool_size)
    : engine_(engine), factory_(std::move(factory)), pool_size_(pool_size < 1 ? 1 : pool_size) {}

SqlDatabase::Lease SqlDatabase::lease() {
  std::unique_ptr<SqlConnection> conn;
  {
    std::unique_lock lock(mutex_);
    available_.wait(lock, [&] { return !idle_.empty() || outstanding_ < pool_size_; });
    if (!idle_.empty()) {
      conn = std::move(idle_.back());
      idle_.pop_back();
    }
    ++outstanding_;
  }
  try {
    if (!conn) conn = factory_();
    conn->ensure_alive();
  } catch (...) {
    std::lock_guard lock(mutex_);
    --outstanding_;
    available_.notify_one();
    throw;
  }
  return Lease(this, std::move(conn));
}

void SqlDatabase::give_back(std::unique_ptr<SqlConnection> conn) {
  std::lock_guard lock(mutex_);
  --outstanding_;
  idle_.push_back(std::move(conn));
  available_.notify_one();
}

SqlTransaction::~SqlTransaction() {
  if (done_) return;
  try {
    conn_.exec("ROLLBACK");
  } catch (const SqlError&) {
    // The connection is gone; the server rolls the transaction back itself.
  }
}

void SqlTransaction::commit() {
  conn_.exec("COMMIT");
  done_ = true;
}

}  // namespace mcpgate::store
