// `mcpgate secrets ...` and `mcpgate migrate` through the real binary: values only via stdin or a file, never
// echoed without --reveal, every command audited, errors named with a non-zero exit.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "store/keyring.hpp"
#include "store/migrations.hpp"
#include "store_engines.hpp"
#include "support/child_process.hpp"

namespace mcpgate::testing {
namespace {

const std::string kValue = "ghp_CLI-SECRET-VALUE-42";

template <class Engine>
class SecretsCliTest : public EngineTest<Engine> {
 protected:
  ProcessOutput mcpgate(std::vector<std::string> args, const std::string& keys = test_key_k1(),
                        const std::string& stdin_text = "") {
    args.insert(args.begin(), MCPGATE_BINARY);
    args.push_back("--store");
    args.push_back(this->engine.spec());
    return run_process(args, {{"MCPGATE_STORE_KEYS", keys}, {"USER", "tester"}}, stdin_text);
  }
  static void expect_no_value(const ProcessOutput& r) {
    EXPECT_EQ(r.stdout_text.find(kValue), std::string::npos) << r.stdout_text;
    EXPECT_EQ(r.stderr_text.find(kValue), std::string::npos) << r.stderr_text;
  }
};
TYPED_TEST_SUITE(SecretsCliTest, StoreEngines, EngineNames);

TYPED_TEST(SecretsCliTest, PutReadsStdinAndOnlyRevealPrintsTheValue) {
  const std::vector<std::string> alice = {"--issuer", "https://as.example.org", "--subject", "alice"};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), alice.begin(), alice.end());
    return args;
  };
  auto put = this->mcpgate(with({"secrets", "put", "github", "token"}), test_key_k1(), kValue + "\n");
  ASSERT_EQ(put.exit_code, 0) << put.stderr_text;
  this->expect_no_value(put);
  auto get = this->mcpgate(with({"secrets", "get", "github", "token"}));
  ASSERT_EQ(get.exit_code, 0) << get.stderr_text;
  this->expect_no_value(get);
  EXPECT_NE(get.stdout_text.find("\"key_id\": \"k1\""), std::string::npos) << get.stdout_text;
  auto reveal = this->mcpgate(with({"secrets", "get", "github", "token", "--reveal"}));
  ASSERT_EQ(reveal.exit_code, 0) << reveal.stderr_text;
  EXPECT_EQ(reveal.stdout_text, kValue + "\n");
  auto other_issuer = this->mcpgate(
      {"secrets", "get", "github", "token", "--issuer", "static", "--subject", "alice", "--reveal"});
  EXPECT_EQ(other_issuer.exit_code, 1);
  EXPECT_NE(other_issuer.stderr_text.find("secret_not_found"), std::string::npos) << other_issuer.stderr_text;
  auto list = this->mcpgate({"secrets", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
  this->expect_no_value(list);
  EXPECT_NE(list.stdout_text.find("\"subject\": \"alice\""), std::string::npos);
  EXPECT_NE(list.stdout_text.find("\"issuer\": \"https://as.example.org\""), std::string::npos);
}

// A subject alone names no principal (two issuers may both have an "alice"): refused before the store is
// touched, naming the missing flag.
TYPED_TEST(SecretsCliTest, SubjectWithoutIssuerIsRefused) {
  for (const char* command : {"put", "get", "delete"}) {
    auto run =
        this->mcpgate({"secrets", command, "github", "token", "--subject", "alice"}, test_key_k1(), kValue);
    EXPECT_EQ(run.exit_code, 2) << command;
    EXPECT_NE(run.stderr_text.find("--subject needs --issuer"), std::string::npos)
        << command << ": " << run.stderr_text;
    EXPECT_NE(run.stderr_text.find("'static'"), std::string::npos) << run.stderr_text;
    this->expect_no_value(run);
  }
  auto issuer_only =
      this->mcpgate({"secrets", "put", "github", "token", "--issuer", "static"}, test_key_k1(), kValue);
  EXPECT_EQ(issuer_only.exit_code, 2);
  EXPECT_NE(issuer_only.stderr_text.find("--issuer needs --subject"), std::string::npos)
      << issuer_only.stderr_text;
  auto list = this->mcpgate({"secrets", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
  EXPECT_EQ(list.stdout_text, "[]\n");
}

// Per-user tokens stored before issuers were recorded are listed as unbound, served to nobody, until
// bind-issuer gives them one (each re-encrypted and audited).
TYPED_TEST(SecretsCliTest, BindIssuerGivesUnboundTokensTheirIssuer) {
  make_schema1_database(this->engine,
                        {{"github", "token", "alice", kValue}, {"github", "token", "", "shared"}});
  auto list = this->mcpgate({"secrets", "list"});
  ASSERT_EQ(list.exit_code, 0) << list.stderr_text;
  auto rows = nlohmann::json::parse(list.stdout_text);
  ASSERT_EQ(rows.size(), 2u) << list.stdout_text;
  int unbound = 0;
  for (const auto& row : rows) unbound += row.value("unbound", false) ? 1 : 0;
  EXPECT_EQ(unbound, 1) << list.stdout_text;
  auto before = this->mcpgate(
      {"secrets", "get", "github", "token", "--issuer", "static", "--subject", "alice", "--reveal"});
  EXPECT_EQ(before.exit_code, 1);
  this->expect_no_value(before);

  auto bind = this->mcpgate({"secrets", "bind-issuer", "static"});
  ASSERT_EQ(bind.exit_code, 0) << bind.stderr_text;
  EXPECT_EQ(bind.stdout_text, "bound 1 per-user tokens to issuer 'static'\n");
  this->expect_no_value(bind);
  auto after = this->mcpgate(
      {"secrets", "get", "github", "token", "--issuer", "static", "--subject", "alice", "--reveal"});
  ASSERT_EQ(after.exit_code, 0) << after.stderr_text;
  EXPECT_EQ(after.stdout_text, kValue + "\n");
  auto relisted = this->mcpgate({"secrets", "list"});
  EXPECT_EQ(relisted.stdout_text.find("unbound"), std::string::npos) << relisted.stdout_text;
  auto audit = this->mcpgate({"secrets", "audit"});
  EXPECT_NE(audit.stdout_text.find("\"action\":\"bind_issuer\""), std::string::npos) << audit.stdout_text;
  EXPECT_NE(audit.stdout_text.find("\"issuer\":\"static\""), std::string::npos) << audit.stdout_text;
  this->expect_no_value(audit);
  EXPECT_EQ(this->mcpgate({"secrets", "bind-issuer", "static"}).stdout_text,
            "bound 0 per-user tokens to issuer 'static'\n");
}

TYPED_TEST(SecretsCliTest, PutRefusesAValueOnTheCommandLine) {
  auto put = this->mcpgate({"secrets", "put", "github", "token", kValue});
  EXPECT_EQ(put.exit_code, 2);
  auto get = this->mcpgate({"secrets", "get", "github", "token"});
  EXPECT_EQ(get.exit_code, 1);
  EXPECT_NE(get.stderr_text.find("secret_not_found"), std::string::npos) << get.stderr_text;
}

TYPED_TEST(SecretsCliTest, PutReadsFromFile) {
  const std::string file = std::filesystem::temp_directory_path() / unique_name("value_");
  std::ofstream(file) << kValue;
  auto put = this->mcpgate({"secrets", "put", "svc", "k", "--from-file", file});
  std::filesystem::remove(file);
  ASSERT_EQ(put.exit_code, 0) << put.stderr_text;
  EXPECT_EQ(this->mcpgate({"secrets", "get", "svc", "k", "--reveal"}).stdout_text, kValue + "\n");
}

TYPED_TEST(SecretsCliTest, EveryCommandWritesAnAuditRowWithoutTheValue) {
  ASSERT_EQ(this->mcpgate({"secrets", "put", "svc", "k"}, test_key_k1(), kValue).exit_code, 0);
  ASSERT_EQ(this->mcpgate({"secrets", "get", "svc", "k"}).exit_code, 0);
  ASSERT_EQ(this->mcpgate({"secrets", "get", "svc", "k", "--reveal"}).exit_code, 0);
  ASSERT_EQ(this->mcpgate({"secrets", "list"}).exit_code, 0);
  ASSERT_EQ(this->mcpgate({"secrets", "delete", "svc", "k"}).exit_code, 0);
  ASSERT_EQ(this->mcpgate({"migrate"}).exit_code, 0);
  auto audit = this->mcpgate({"secrets", "audit", "--since", "-3600"});
  ASSERT_EQ(audit.exit_code, 0) << audit.stderr_text;
  this->expect_no_value(audit);
  for (const char* action : {"put", "get", "reveal", "list", "delete", "migrate"})
    EXPECT_NE(audit.stdout_text.find(std::string("\"action\":\"") + action + "\""), std::string::npos)
        << action;
  EXPECT_NE(audit.stdout_text.find("\"actor\":\"cli:tester\""), std::string::npos);
}

TYPED_TEST(SecretsCliTest, RotateMovesEveryTokenToTheActiveKey) {
  ASSERT_EQ(this->mcpgate({"secrets", "put", "svc", "k"}, test_key_k1(), kValue).exit_code, 0);
  auto missing = this->mcpgate({"secrets", "list"}, test_key_k2());
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_NE(missing.stderr_text.find("'k1'"), std::string::npos) << missing.stderr_text;
  auto rotate =
      this->mcpgate({"secrets", "rotate", "--batch-size", "1"}, test_key_k2() + "," + test_key_k1());
  ASSERT_EQ(rotate.exit_code, 0) << rotate.stderr_text;
  EXPECT_NE(rotate.stdout_text.find("re-encrypted 1 tokens under key 'k2'"), std::string::npos)
      << rotate.stdout_text;
  EXPECT_EQ(this->mcpgate({"secrets", "get", "svc", "k", "--reveal"}, test_key_k2()).stdout_text,
            kValue + "\n");
}

TYPED_TEST(SecretsCliTest, MigrateReportsTheVersionAndRefusesANewerDatabase) {
  auto migrate = this->mcpgate({"migrate"});
  ASSERT_EQ(migrate.exit_code, 0) << migrate.stderr_text;
  EXPECT_NE(migrate.stdout_text.find("schema version " + std::to_string(store::latest_schema_version())),
            std::string::npos);
  this->engine.raw()->lease()->exec("INSERT INTO schema_migrations (version, applied_at) VALUES (999, 0)");
  auto refused = this->mcpgate({"migrate"});
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.stderr_text.find("store_schema_too_new"), std::string::npos) << refused.stderr_text;
  EXPECT_NE(refused.stderr_text.find("999"), std::string::npos) << refused.stderr_text;
}

TYPED_TEST(SecretsCliTest, KeyFileSuppliesTheMasterKeys) {
  const std::string file = std::filesystem::temp_directory_path() / unique_name("keys_");
  std::ofstream(file) << "# mcpgate master keys\n" << test_key_k1() << "\n";
  std::filesystem::permissions(file,
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  auto put = run_process(
      {MCPGATE_BINARY, "secrets", "put", "svc", "k", "--store", this->engine.spec(), "--key-file", file},
      {{"MCPGATE_STORE_KEYS", ""}}, kValue);
  ASSERT_EQ(put.exit_code, 0) << put.stderr_text;
  auto without = run_process({MCPGATE_BINARY, "secrets", "list", "--store", this->engine.spec()},
                             {{"MCPGATE_STORE_KEYS", ""}});
  EXPECT_EQ(without.exit_code, 1);
  EXPECT_NE(without.stderr_text.find("'k1'"), std::string::npos) << without.stderr_text;
  auto reveal = run_process({MCPGATE_BINARY, "secrets", "get", "svc", "k", "--reveal", "--store",
                             this->engine.spec(), "--key-file", file},
                            {{"MCPGATE_STORE_KEYS", ""}});
  std::filesystem::remove(file);
  EXPECT_EQ(reveal.stdout_text, kValue + "\n");
}

TEST(SecretsCli, KeygenPrintsAKeyTheKeyringAccepts) {
  auto out = run_process({MCPGATE_BINARY, "secrets", "keygen", "--id", "k9"});
  ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
  ASSERT_FALSE(out.stdout_text.empty());
  auto ring = store::Keyring::parse(out.stdout_text);
  ASSERT_TRUE(ring.ok()) << ring.message();
  EXPECT_EQ(ring.value->active_id(), "k9");
  EXPECT_NE(run_process({MCPGATE_BINARY, "secrets", "keygen", "--id", "k9"}).stdout_text, out.stdout_text);
}

TEST(SecretsCli, BadStoreSpecIsAUsageErrorThatDoesNotEchoIt) {
  auto out = run_process({MCPGATE_BINARY, "secrets", "list", "--store", "mysql:password=hunter2"});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.stderr_text.find("store_options_invalid"), std::string::npos) << out.stderr_text;
  EXPECT_EQ(out.stderr_text.find("hunter2"), std::string::npos);
}

TEST(SecretsCli, EnvBackendIsReadOnly) {
  auto out = run_process({MCPGATE_BINARY, "secrets", "put", "svc", "k", "--store", "env"}, "v");
  EXPECT_EQ(out.exit_code, 1);
  EXPECT_NE(out.stderr_text.find("store_read_only"), std::string::npos) << out.stderr_text;
}

}  // namespace
}  // namespace mcpgate::testing
