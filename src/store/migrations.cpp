#include "store/migrations.hpp"

#include <algorithm>
#include <iterator>
#include <span>

namespace mcpgate::store {
namespace {

// Append only: a released migration never changes (not even its whitespace: SQLite keeps the CREATE
// statements' text as written). Each migration is one list of statements per engine.

// 1: service tokens, the append-only audit log, the principals seen, the key usage counters.
constexpr const char* kV1Sqlite[] = {
    // subject '' = the service's shared token; a real column value keeps UNIQUE meaningful (NULLs are
    // distinct in a UNIQUE constraint on both engines).
    R"(CREATE TABLE service_tokens (
                id INTEGER PRIMARY KEY, service TEXT NOT NULL, key_name TEXT NOT NULL,
                subject TEXT NOT NULL DEFAULT '', key_id TEXT NOT NULL, nonce BLOB NOT NULL,
                ciphertext BLOB NOT NULL, tag BLOB NOT NULL, created_at INTEGER NOT NULL,
                updated_at INTEGER NOT NULL, UNIQUE (service, key_name, subject)) STRICT)",
    "CREATE INDEX service_tokens_key_id ON service_tokens (key_id)",
    R"(CREATE TABLE audit_log (
                id INTEGER PRIMARY KEY, at INTEGER NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                service TEXT NOT NULL DEFAULT '', key_name TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
                result TEXT NOT NULL, request_id TEXT NOT NULL DEFAULT '') STRICT)",
    "CREATE INDEX audit_log_at ON audit_log (at)",
    // Append-only: the audit trail must outlive whoever would like to edit it.
    R"(CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END)",
    R"(CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
                BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END)",
    R"(CREATE TABLE principals (
                issuer TEXT NOT NULL, subject TEXT NOT NULL, email TEXT NOT NULL DEFAULT '',
                organization TEXT NOT NULL DEFAULT '', first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL,
                PRIMARY KEY (issuer, subject)) STRICT)",
    // NIST SP 800-38D §8.3: at most 2^32 random-nonce encryptions per key; count them.
    R"(CREATE TABLE key_usage (
                key_id TEXT PRIMARY KEY, encryptions INTEGER NOT NULL) STRICT)",
};
constexpr const char* kV1Postgres[] = {
    R"(CREATE TABLE service_tokens (
                id BIGSERIAL PRIMARY KEY, service TEXT NOT NULL, key_name TEXT NOT NULL,
                subject TEXT NOT NULL DEFAULT '', key_id TEXT NOT NULL, nonce BYTEA NOT NULL,
                ciphertext BYTEA NOT NULL, tag BYTEA NOT NULL, created_at BIGINT NOT NULL,
                updated_at BIGINT NOT NULL, UNIQUE (service, key_name, subject)))",
    "CREATE INDEX service_tokens_key_id ON service_tokens (key_id)",
    R"(CREATE TABLE audit_log (
                id BIGSERIAL PRIMARY KEY, at BIGINT NOT NULL, actor TEXT NOT NULL, action TEXT NOT NULL,
                service TEXT NOT NULL DEFAULT '', key_name TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '',
                result TEXT NOT NULL, request_id TEXT NOT NULL DEFAULT ''))",
    "CREATE INDEX audit_log_at ON audit_log (at)",
    R"(CREATE FUNCTION mcpgate_audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'audit_log is append-only'; END $$)",
    R"(CREATE TRIGGER audit_log_no_change BEFORE UPDATE OR DELETE ON audit_log
                FOR EACH ROW EXECUTE FUNCTION mcpgate_audit_log_append_only())",
    R"(CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
                FOR EACH STATEMENT EXECUTE FUNCTION mcpgate_audit_log_append_only())",
    R"(CREATE TABLE principals (
                issuer TEXT NOT NULL, subject TEXT NOT NULL, email TEXT NOT NULL DEFAULT '',
                organization TEXT NOT NULL DEFAULT '', first_seen BIGINT NOT NULL, last_seen BIGINT NOT NULL,
                PRIMARY KEY (issuer, subject)))",
    R"(CREATE TABLE key_usage (key_id TEXT PRIMARY KEY, encryptions BIGINT NOT NULL))",
};

// 2: a per-user token belongs to (issuer, subject), the principals table's identity, not to a subject that
// any configured issuer may also have. Rows already stored keep issuer '' and associated-data layout 1
// (keyring.hpp), so they still decrypt; per-user ones among them are served to no principal until
// `mcpgate secrets bind-issuer` gives them an issuer. aad_version has no default: every writer says.
constexpr const char* kV2Sqlite[] = {
    // SQLite cannot change a UNIQUE constraint in place: rebuild the table
    // (sqlite.org/lang_altertable, "Making Other Kinds Of Table Schema Changes"); ids are kept, no
    // foreign key refers to it.
    R"(CREATE TABLE service_tokens_v2 (
                id INTEGER PRIMARY KEY, service TEXT NOT NULL, key_name TEXT NOT NULL,
                issuer TEXT NOT NULL DEFAULT '', subject TEXT NOT NULL DEFAULT '', key_id TEXT NOT NULL,
                aad_version INTEGER NOT NULL, nonce BLOB NOT NULL, ciphertext BLOB NOT NULL, tag BLOB NOT NULL,
                created_at INTEGER NOT NULL, updated_at INTEGER NOT NULL,
                UNIQUE (service, key_name, issuer, subject)) STRICT)",
    R"(INSERT INTO service_tokens_v2 (id, service, key_name, issuer, subject, key_id, aad_version, nonce,
                ciphertext, tag, created_at, updated_at)
              SELECT id, service, key_name, '', subject, key_id, 1, nonce, ciphertext, tag, created_at, updated_at
              FROM service_tokens)",
    "DROP TABLE service_tokens",
    "ALTER TABLE service_tokens_v2 RENAME TO service_tokens",
    "CREATE INDEX service_tokens_key_id ON service_tokens (key_id)",
    "ALTER TABLE audit_log ADD COLUMN issuer TEXT NOT NULL DEFAULT ''",
};
constexpr const char* kV2Postgres[] = {
    "ALTER TABLE service_tokens ADD COLUMN issuer TEXT NOT NULL DEFAULT ''",
    "ALTER TABLE service_tokens ADD COLUMN aad_version BIGINT NOT NULL DEFAULT 1",
    "ALTER TABLE service_tokens ALTER COLUMN aad_version DROP DEFAULT",
    // The name PostgreSQL gave migration 1's UNIQUE (service, key_name, subject).
    "ALTER TABLE service_tokens DROP CONSTRAINT service_tokens_service_key_name_subject_key",
    "ALTER TABLE service_tokens ADD CONSTRAINT service_tokens_owner_key"
    " UNIQUE (service, key_name, issuer, subject)",
    "ALTER TABLE audit_log ADD COLUMN issuer TEXT NOT NULL DEFAULT ''",
};

struct Migration {
  int version;
  std::span<const char* const> sqlite;
  std::span<const char* const> postgres;
};

constexpr Migration kMigrations[] = {
    {1, kV1Sqlite, kV1Postgres},
    {2, kV2Sqlite, kV2Postgres},
};

void ensure_version_table(SqlConnection& conn) {
  conn.exec(
      conn.engine() == SqlEngine::Sqlite
          ? "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER "
            "NOT "
            "NULL) STRICT"
          : "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT "
            "NULL)");
}

int max_version(SqlConnection& conn) {
  auto rows = conn.query("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  return static_cast<int>(rows.at(0).at(0).as_int());
}

}  // namespace

int latest_schema_version() noexcept {
  return std::end(kMigrations)[-1].version;
}

int current_schema_version(SqlConnection& conn) {
  const char* probe =
      conn.engine() == SqlEngine::Sqlite
          ? "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'"
          : "SELECT COUNT(*) FROM pg_catalog.pg_tables WHERE schemaname = current_schema() AND "
            "tablename = 'schema_migrations'";
  if (conn.query(probe).at(0).at(0).as_int() == 0) return 0;
  return max_version(conn);
}

int apply_migrations(SqlConnection& conn, std::int64_t now, int up_to) {
  if (up_to <= 0 || up_to > latest_schema_version()) up_to = latest_schema_version();
  // Cheap read first: an up-to-date database takes no write lock (many instances start at once).
  const int seen = current_schema_version(conn);
  if (seen > latest_schema_version()) throw SchemaTooNew(seen, latest_schema_version());
  if (seen >= up_to) return seen;

  SqlTransaction tx(conn);
  conn.lock_for_migration();
  ensure_version_table(conn);
  const int found = max_version(conn);  // again, under the lock: another instance may have just migrated
  if (found > latest_schema_version()) throw SchemaTooNew(found, latest_schema_version());
  for (const Migration& m : kMigrations) {
    if (m.version <= found || m.version > up_to) continue;
    for (const char* statement : conn.engine() == SqlEngine::Sqlite ? m.sqlite : m.postgres)
      conn.exec(statement);
    conn.exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
              {SqlValue(m.version), SqlValue(now)});
  }
  tx.commit();
  return std::max(found, up_to);
}

}  // namespace mcpgate::store
