// Several processes on one store: a writer killed with SIGKILL mid-stream, rotation under a concurrent
// reader, two instances migrating at once. The second process is the real store code in
// tests/store/store_worker.cpp.
#include <gtest/gtest.h>

#include "store/migrations.hpp"
#include "store_engines.hpp"
#include "support/child_process.hpp"

namespace mcpgate::testing {
namespace {

template <class Engine>
class StoreProcessTest : public EngineTest<Engine> {
 protected:
  Environment env(const std::string& keys) const {
    StoreOptions o = this->engine.options(keys);
    if (o.backend == StoreBackend::Sqlite)
      return {{"MCPGATE_STORE_BACKEND", "sqlite"},
              {"MCPGATE_STORE_PATH", o.sqlite_path},
              {"MCPGATE_STORE_KEYS", keys}};
    return {{"MCPGATE_STORE_BACKEND", "postgres"},
            {"MCPGATE_STORE_URL", o.postgres_conninfo},
            {"MCPGATE_STORE_KEYS", keys}};
  }
};
TYPED_TEST_SUITE(StoreProcessTest, StoreEngines, EngineNames);

TYPED_TEST(StoreProcessTest, KilledWriterLosesNoAcknowledgedWriteAndLeavesTheDatabaseConsistent) {
  ASSERT_TRUE(this->open_store(test_key_k1()));  // migrate first, so the writer starts writing at once
  int last_ack = -1;
  {
    ChildProcess writer({STORE_WORKER, "write", "1000000"}, this->env(test_key_k1()));
    while (last_ack < 300) {
      auto line = writer.read_line(std::chrono::seconds(60));
      ASSERT_TRUE(line) << "writer stopped early: " << writer.stderr_text();
      ASSERT_EQ(line->rfind("ack ", 0), 0u) << *line;
      last_ack = std::stoi(line->substr(4));
    }
    // SIGKILL somewhere inside the next put's transaction (or between two).
    EXPECT_EQ(writer.stop(SIGKILL, std::chrono::seconds(10)), 128 + SIGKILL);
    // Lines already in the pipe are acknowledgements too.
    std::string rest = writer.remaining_stdout();
    for (std::size_t pos = 0; (pos = rest.find("ack ", pos)) != std::string::npos; pos += 4)
      last_ack = std::max(last_ack, std::stoi(rest.substr(pos + 4)));
  }
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  for (int i = 0; i <= last_ack; ++i) {
    auto v = store->read({"svc", "key-" + std::to_string(i), std::nullopt});
    ASSERT_TRUE(v.ok()) << i << ": " << v.message();
    ASSERT_EQ(*v.value, "value-" + std::to_string(i));
  }
  // Each put wrote its token, its audit row and its encryption count in one transaction: all or none.
  auto raw = this->engine.raw();
  auto conn = raw->lease();
  const auto tokens = conn->query("SELECT COUNT(*) FROM service_tokens")[0][0].as_int();
  EXPECT_GE(tokens, last_ack + 1);
  EXPECT_LE(tokens, last_ack + 2);
  EXPECT_EQ(conn->query("SELECT COUNT(*) FROM audit_log WHERE action = 'put'")[0][0].as_int(), tokens);
  EXPECT_EQ(conn->query("SELECT encryptions FROM key_usage WHERE key_id = 'k1'")[0][0].as_int(), tokens);
  if (conn->engine() == store::SqlEngine::Sqlite) {
    EXPECT_EQ(conn->query("PRAGMA integrity_check")[0][0].as_text(), "ok");
  }
}

TYPED_TEST(StoreProcessTest, RotationWhileAnotherProcessReadsNeverFailsARead) {
  {
    auto store = this->open_store(test_key_k1());
    ASSERT_TRUE(store);
    for (int i = 0; i < 300; ++i)
      ASSERT_TRUE(store
                      ->put({"svc", "key-" + std::to_string(i), std::nullopt}, "value-" + std::to_string(i),
                            {"t", ""})
                      .ok());
  }
  const std::string both = test_key_k2() + "," + test_key_k1();
  ChildProcess reader({STORE_WORKER, "read", "20"}, this->env(both));
  auto store = this->open_store(both);
  ASSERT_TRUE(store);
  auto report = store->rotate({"t", ""}, 7);
  ASSERT_TRUE(report.ok()) << report.message();
  EXPECT_EQ(report.value->rows_reencrypted, 300);
  EXPECT_EQ(reader.wait(), 0) << reader.remaining_stdout() << reader.stderr_text();
  EXPECT_NE(reader.remaining_stdout().find("read ok"), std::string::npos);
  auto after = this->open_store(test_key_k2());  // k1 no longer needed by any row
  ASSERT_TRUE(after);
}

TYPED_TEST(StoreProcessTest, RotationKilledMidwayLeavesWholeBatchesAndEveryRowReadable) {
  constexpr int kRows = 2001, kBatch = 20;
  {
    auto store = this->open_store(test_key_k1());
    ASSERT_TRUE(store);
    for (int i = 0; i < kRows; ++i)
      ASSERT_TRUE(store
                      ->put({"svc", "key-" + std::to_string(i), std::nullopt}, "value-" + std::to_string(i),
                            {"t", ""})
                      .ok());
  }
  const std::string both = test_key_k2() + "," + test_key_k1();
  {
    ChildProcess rotator({STORE_WORKER, "rotate", std::to_string(kBatch)}, this->env(both));
    for (int seen = 0; seen < 5;) {
      auto line = rotator.read_line(std::chrono::seconds(60));
      ASSERT_TRUE(line) << rotator.stderr_text();
      if (line->rfind("batch ", 0) == 0) seen = std::stoi(line->substr(6));
    }
    EXPECT_EQ(rotator.stop(SIGKILL, std::chrono::seconds(10)), 128 + SIGKILL);
  }
  auto raw = this->engine.raw();
  {
    auto conn = raw->lease();
    const auto moved = conn->query("SELECT COUNT(*) FROM service_tokens WHERE key_id = 'k2'")[0][0].as_int();
    EXPECT_GE(moved, 5 * kBatch);
    EXPECT_LT(moved, kRows) << "the rotation finished before the kill";
    EXPECT_EQ(moved % kBatch, 0) << "a batch was committed partly";
    if (conn->engine() == store::SqlEngine::Sqlite) {
      EXPECT_EQ(conn->query("PRAGMA integrity_check")[0][0].as_text(), "ok");
    }
  }
  auto store = this->open_store(both);
  ASSERT_TRUE(store);
  for (int i = 0; i < kRows; ++i) {
    auto v = store->read({"svc", "key-" + std::to_string(i), std::nullopt});
    ASSERT_TRUE(v.ok()) << i << ": " << v.message();
    ASSERT_EQ(*v.value, "value-" + std::to_string(i));
  }
  auto rest = store->rotate({"t", ""}, 500);  // a second run finishes the job
  ASSERT_TRUE(rest.ok()) << rest.message();
  EXPECT_TRUE(this->open_store(test_key_k2()));
}

TYPED_TEST(StoreProcessTest, TwoInstancesMigratingAtOnceApplyEachMigrationOnce) {
  ChildProcess a({STORE_WORKER, "migrate"}, this->env(test_key_k1()));
  ChildProcess b({STORE_WORKER, "migrate"}, this->env(test_key_k1()));
  EXPECT_EQ(a.wait(), 0) << a.remaining_stdout() << a.stderr_text();
  EXPECT_EQ(b.wait(), 0) << b.remaining_stdout() << b.stderr_text();
  const std::string expected = "version " + std::to_string(store::latest_schema_version());
  EXPECT_NE(a.remaining_stdout().find(expected), std::string::npos);
  EXPECT_NE(b.remaining_stdout().find(expected), std::string::npos);
  auto raw = this->engine.raw();
  auto conn = raw->lease();
  EXPECT_EQ(conn->query("SELECT COUNT(*) FROM schema_migrations")[0][0].as_int(),
            store::latest_schema_version());
}

}  // namespace
}  // namespace mcpgate::testing
