// tests/support/pg_test_server.hpp — a throw-away PostgreSQL 15 server for tests (store now, gateway later).
//
//   auto& pg = PostgresTestServer::shared();          // starts once per test binary; stopped by the
//   Environment if (!pg.available()) GTEST_SKIP() << pg.why_unavailable();   // only when binaries are absent
//   and CI != true std::string conninfo = pg.create_database("t1");  // "host=127.0.0.1 port=N user=postgres
//   dbname=t1" pg.restart();                                     // for reconnect tests
//
// Runs initdb + pg_ctl from /usr/lib/postgresql/15/bin on a temp dir, a free port on 127.0.0.1, the unix
// socket in the temp dir. PostgreSQL refuses to run as root, so as root it runs through `runuser -u
// mcpgate-pg --`, creating that system user when absent. Register PostgresTestEnvironment with
// ::testing::AddGlobalTestEnvironment (the helper `install_postgres_test_environment()` does it) to stop the
// server when the binary ends.
#pragma once

#include <gtest/gtest.h>

#include <string>

namespace mcpgate::testing {

class PostgresTestServer {
 public:
  static PostgresTestServer& shared();

  bool available();  // starts the server on first call
  const std::string& why_unavailable() const { return why_; }
  std::string conninfo(const std::string& dbname = "postgres") const;
  std::string log_path() const { return dir_ + "/server.log"; }
  std::string create_database(const std::string& name);  // drops it first if present
  void restart();
  void stop();

 private:
  void start();
  std::string server_options() const;
  bool started_ = false;
  bool tried_ = false;
  std::string why_;
  std::string dir_;
  std::string run_as_;  // "runuser -u mcpgate-pg -- " when root
  int port_ = 0;
};

class PostgresTestEnvironment : public ::testing::Environment {
 public:
  void TearDown() override { PostgresTestServer::shared().stop(); }
};

// Skips (locally, binaries absent) or fails (CI=true) the current test when no server can run.
#define MCPGATE_REQUIRE_POSTGRES()                                           \
  do {                                                                       \
    auto& pg_ = ::mcpgate::testing::PostgresTestServer::shared();            \
    if (!pg_.available()) {                                                  \
      if (::mcpgate::testing::postgres_required())                           \
        FAIL() << "PostgreSQL required in CI: " << pg_.why_unavailable();    \
      GTEST_SKIP() << "SKIPPING PostgreSQL test: " << pg_.why_unavailable(); \
    }                                                                        \
  } while (0)

bool postgres_required();

}  // namespace mcpgate::testing
