// The PostgreSQL adapter (libpq): parameters and results in binary format (no text escaping of secrets), `?`
// placeholders translated to $n, and a reset-and-retry when the server restarted between two statements.
#include <arpa/inet.h>
#include <libpq-fe.h>

#include <cstring>

#include "store/sql_connection.hpp"

namespace mcpgate::store {
namespace {

// Type OIDs from src/include/catalog/pg_type.dat.
constexpr Oid kBoolOid = 16, kByteaOid = 17, kInt8Oid = 20, kInt2Oid = 21, kInt4Oid = 23, kTextOid = 25,
              kVarcharOid = 1043, kNameOid = 19;

std::uint64_t to_big_endian(std::uint64_t v) {
  return (static_cast<std::uint64_t>(htonl(static_cast<std::uint32_t>(v))) << 32) |
         htonl(static_cast<std::uint32_t>(v >> 32));
}

std::int64_t read_be(const char* p, int len) {
  std::uint64_t v = 0;
  for (int i = 0; i < len; ++i) v = (v << 8) | static_cast<unsigned char>(p[i]);
  if (len < 8 && len > 0 && (static_cast<unsigned char>(p[0]) & 0x80)) v |= ~std::uint64_t{0} << (len * 8);
  return static_cast<std::int64_t>(v);
}

class PostgresConnection final : public SqlConnection {
 public:
  explicit PostgresConnection(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    if (PQstatus(conn_) != CONNECTION_OK) {
      std::string msg = PQerrorMessage(conn_);
      PQfinish(conn_);
      conn_ = nullptr;
      throw SqlError("cannot connect to postgres: " + msg, true);
    }
    exec("SET client_min_messages = warning", {});
  }
  ~PostgresConnection() override { PQfinish(conn_); }

  SqlEngine engine() const noexcept override { return SqlEngine::Postgres; }
  void exec(std::string_view sql, const SqlParams& params) override { run(sql, params, nullptr); }
  SqlRows query(std::string_view sql, const SqlParams& params) override {
    SqlRows rows;
    run(sql, params, &rows);
    return rows;
  }
  std::int64_t changes() override { return changes_; }
  void begin_write() override { exec("BEGIN", {}); }
  void lock_for_migration() override {
    // Transaction-scoped: released by COMMIT/ROLLBACK, so a crashed migrator never holds it.
    exec("SELECT pg_advisory_xact_lock(7263526310001)", {});
  }
  bool ensure_alive() override {
    if (PQstatus(conn_) == CONNECTION_OK) return true;
    PQreset(conn_);
    return PQstatus(conn_) == CONNECTION_OK;
  }

 private:
  void run(std::string_view sql, const SqlParams& params, SqlRows* rows) {
    const std::string text = translate_placeholders(sql);
    const bool outside_transaction = PQtransactionStatus(conn_) == PQTRANS_IDLE;
    PGresult* res = execute(text, params);
    // A restarted server leaves this connection broken; outside a transaction the statement can safely run
    // again.
    if (PQstatus(conn_) == CONNECTION_BAD && outside_transaction) {
      PQclear(res);
      PQreset(conn_);
      if (PQstatus(conn_) != CONNECTION_OK)
        throw SqlError("postgres connection lost and reconnect failed", true);
      res = execute(text, params);
    }
    std::unique_ptr<PGresult, decltype(&PQclear)> guard(res, &PQclear);
    const auto status = PQresultStatus(res);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      // Only the primary message: DETAIL lines can quote row values.
      const char* primary = res ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
      std::string msg = primary ? primary : PQerrorMessage(conn_);
      while (!msg.empty() && msg.back() == '\n') msg.pop_back();
      throw SqlError("postgres: " + msg, PQstatus(conn_) == CONNECTION_BAD);
    }
    const char* affected = PQcmdTuples(res);
    changes_ = (affected && *affected) ? std::strtoll(affected, nullptr, 10) : 0;
    if (!rows) return;
    const int n = PQntuples(res), cols = PQnfields(res);
    for (int r = 0; r < n; ++r) {
      SqlRow row;
      for (int c = 0; c < cols; ++c) {
        if (PQgetisnull(res, r, c)) {
          row.emplace_back();
          continue;
        }
        const char* p = PQgetvalue(res, r, c);
        const int len = PQgetlength(res, r, c);
        switch (PQftype(res, c)) {
          case kInt8Oid:
          case kInt4Oid:
          case kInt2Oid:
            row.emplace_back(read_be(p, len));
            break;
          case kBoolOid:
            row.emplace_back(static_cast<std::int64_t>(len > 0 && p[0] != 0));
            break;
          case kByteaOid:
            row.push_back(SqlValue::blob(std::string(p, static_cast<std::size_t>(len))));
            break;
          case kTextOid:
          case kVarcharOid:
          case kNameOid:
            row.emplace_back(std::string(p, static_cast<std::size_t>(len)));
            break;
          default:
            throw SqlError("postgres: unsupported result column type " + std::to_string(PQftype(res, c)));
        }
      }
      rows->push_back(std::move(row));
    }
  }

  PGresult* execute(const std::string& text, const SqlParams& params) {
    const int n = static_cast<int>(params.size());
    std::vector<Oid> types(params.size());
    std::vector<const char*> values(params.size());
    std::vector<int> lengths(params.size()), formats(params.size(), 1);
    std::vector<std::uint64_t> ints(params.size());
    for (std::size_t i = 0; i < params.size(); ++i) {
      const auto& p = params[i].v;
      if (std::holds_alternative<std::monostate>(p)) {
        types[i] = 0;
        values[i] = nullptr;
      } else if (const auto* v = std::get_if<std::int64_t>(&p)) {
        types[i] = kInt8Oid;
        ints[i] = to_big_endian(static_cast<std::uint64_t>(*v));
        values[i] = reinterpret_cast<const char*>(&ints[i]);
        lengths[i] = 8;
      } else if (const auto* s = std::get_if<std::string>(&p)) {
        types[i] = kTextOid;
        values[i] = s->data();
        lengths[i] = static_cast<int>(s->size());
      } else {
        const auto& b = std::get<SqlBlob>(p).bytes;
        types[i] = kByteaOid;
        values[i] = b.data();
        lengths[i] = static_cast<int>(b.size());
      }
    }
    return PQexecParams(conn_, text.c_str(), n, types.data(), values.data(), lengths.data(), formats.data(),
                        1);
  }

  PGconn* conn_;
  std::int64_t changes_ = 0;
};

}  // namespace

std::unique_ptr<SqlDatabase> SqlDatabase::open_postgres(const std::string& conninfo, int pool_size) {
  return std::make_unique<SqlDatabase>(
      SqlEngine::Postgres, [conninfo] { return std::make_unique<PostgresConnection>(conninfo); }, pool_size);
}

}  // namespace mcpgate::store
