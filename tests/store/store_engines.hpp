// tests/store/store_engines.hpp — one fresh database per test, on each engine, for the typed store suites.
//
//   TYPED_TEST_SUITE(TokenStoreTest, StoreEngines);
//   auto options = this->engine.options();          // fresh sqlite file or fresh postgres database, two keys
//   auto raw = this->engine.raw();                  // SqlDatabase for tampering behind the store's back
//   make_schema1_database(this->engine, {{"svc", "k", "alice", "v"}});   // as the schema-1 release left it
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <mcpgate/token_store.hpp>
#include <string>
#include <vector>

#include "store/keyring.hpp"
#include "store/migrations.hpp"
#include "store/sql_connection.hpp"
#include "support/pg_test_server.hpp"

namespace mcpgate::testing {

inline const std::string& test_key_k1() {
  static const std::string k = store::Keyring::generate("k1");
  return k;
}
inline const std::string& test_key_k2() {
  static const std::string k = store::Keyring::generate("k2");
  return k;
}

inline std::string unique_name(const char* prefix) {
  static std::atomic<int> n{0};
  return std::string(prefix) + std::to_string(::getpid()) + "_" + std::to_string(n++);
}

struct SqliteEngine {
  static constexpr const char* kName = "sqlite";
  std::filesystem::path dir;
  bool prepare() {
    dir = std::filesystem::temp_directory_path() / unique_name("mcpgate_store_");
    std::filesystem::create_directories(dir);
    return true;
  }
  ~SqliteEngine() {
    std::error_code ec;
    if (!dir.empty()) std::filesystem::remove_all(dir, ec);
  }
  std::string path() const { return (dir / "store.db").string(); }
  StoreOptions options(const std::string& keys = test_key_k1()) const {
    StoreOptions o;
    o.backend = StoreBackend::Sqlite;
    o.sqlite_path = path();
    o.keys = keys;
    return o;
  }
  std::string spec() const { return "sqlite:" + path(); }
  std::unique_ptr<store::SqlDatabase> raw() const { return store::SqlDatabase::open_sqlite(path(), 5000, 1); }
};

struct PostgresEngine {
  static constexpr const char* kName = "postgres";
  std::string conninfo;
  bool prepare() {
    if (!PostgresTestServer::shared().available()) return false;
    conninfo = PostgresTestServer::shared().create_database(unique_name("mcpgate_"));
    return true;
  }
  StoreOptions options(const std::string& keys = test_key_k1()) const {
    StoreOptions o;
    o.backend = StoreBackend::Postgres;
    o.postgres_conninfo = conninfo;
    o.keys = keys;
    return o;
  }
  std::string spec() const { return "postgres:" + conninfo; }
  std::unique_ptr<store::SqlDatabase> raw() const { return store::SqlDatabase::open_postgres(conninfo, 1); }
};

using StoreEngines = ::testing::Types<SqliteEngine, PostgresEngine>;

// A row as schema 1 stored it: no issuer; subject '' = shared.
struct Schema1Row {
  std::string service, key_name, subject, value;
};
inline constexpr std::int64_t kSchema1Time = 1'700'000'000;

// The database a release with schema 1 left behind: migration 1 only, rows sealed under `keys`' active key
// with the associated-data layout of that release.
template <class Engine>
void make_schema1_database(const Engine& engine, const std::vector<Schema1Row>& rows,
                           const std::string& keys = test_key_k1()) {
  auto ring = store::Keyring::parse(keys);
  ASSERT_TRUE(ring.ok()) << ring.message();
  auto db = engine.raw();
  auto conn = db->lease();
  ASSERT_EQ(store::apply_migrations(*conn, kSchema1Time, 1), 1);
  for (const auto& row : rows) {
    const auto aad = store::row_associated_data(store::kAadSchema1, row.service, row.key_name, "",
                                                row.subject, ring.value->active_id());
    const auto sealed = ring.value->seal(row.value, *aad);
    conn->exec(
        "INSERT INTO service_tokens (service, key_name, subject, key_id, nonce, ciphertext, tag, created_at,"
        " updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        {row.service, row.key_name, row.subject, sealed.key_id, store::SqlValue::blob(sealed.nonce),
         store::SqlValue::blob(sealed.ciphertext), store::SqlValue::blob(sealed.tag),
         store::SqlValue(kSchema1Time), store::SqlValue(kSchema1Time)});
  }
}

struct EngineNames {
  template <class T>
  static std::string GetName(int) {
    return T::kName;
  }
};

// Fixture base: prepares the engine, skipping or failing (CI) when PostgreSQL cannot run.
template <class Engine>
class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!engine.prepare()) {
      if (postgres_required())
        FAIL() << "PostgreSQL required in CI: " << PostgresTestServer::shared().why_unavailable();
      GTEST_SKIP() << "SKIPPING PostgreSQL test: " << PostgresTestServer::shared().why_unavailable();
    }
  }
  std::shared_ptr<TokenStore> open_store(const std::string& keys,
                                         std::shared_ptr<const Clock> clock = Clock::system()) {
    auto opened = TokenStore::open(engine.options(keys), std::move(clock));
    EXPECT_TRUE(opened.ok()) << opened.message();
    return opened.ok() ? *opened.value : nullptr;
  }
  Engine engine;
};

}  // namespace mcpgate::testing
