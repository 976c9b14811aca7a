// store/migrations.hpp — the one ordered list of schema changes, applied in a transaction.
//
//   int version = apply_migrations(*db->lease());   // throws SchemaTooNew when the database is ahead of us
//
// Each migration is a list of single statements (libpq's extended protocol runs one at a time); the statement
// text differs per engine only where it must: column types (INTEGER/BLOB vs BIGINT/BYTEA), STRICT, triggers.
#pragma once

#include <stdexcept>

#include "store/sql_connection.hpp"

namespace mcpgate::store {

class SchemaTooNew : public std::runtime_error {
 public:
  SchemaTooNew(int found, int known)
      : std::runtime_error("database schema version " + std::to_string(found) +
                           " is newer than this binary's " + std::to_string(known)),
        found_version(found) {}
  int found_version;
};

int latest_schema_version() noexcept;
int current_schema_version(SqlConnection& conn);  // 0 for an empty database
// Under BEGIN IMMEDIATE (sqlite) or pg_advisory_xact_lock (postgres), so concurrent starters migrate once.
// `up_to` (tests: a database as an older release left it) stops after that version; 0 = the latest.
int apply_migrations(SqlConnection& conn, std::int64_t now, int up_to = 0);

}  // namespace mcpgate::store
