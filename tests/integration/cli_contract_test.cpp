// The `mcpgate token verify` contract scripts rely on: exit 0 valid, 1 invalid, 2 usage or input-file error;
// stdout exactly one JSON object on one line (empty on exit 2); stderr names the bad value; the token may
// come on stdin.
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <stdexcept>

#include "integration/interop_cases.hpp"
#include "support/child_process.hpp"

namespace mcpgate::testing {
namespace {

class TokenVerifyCli : public ::testing::Test {
 protected:
  void SetUp() override {
    const SignedCaseSet& set = python_signed_cases();
    ASSERT_TRUE(set.signer_error.empty()) << set.signer_error;
    jwks_ = set.jwks_path;
    dir_ = set.directory;
  }

  static const InteropCase& signed_case(const std::string& name) {
    for (const auto& c : python_signed_cases().cases)
      if (c.name == name) return c;
    throw std::runtime_error("the signer made no case named " + name);
  }

  std::vector<std::string> base_args(const InteropCase& c) const {
    return {MCPGATE_BINARY, "token",      "verify",   "--jwks", jwks_, "--issuer",
            c.issuer,       "--audience", c.audience, "--now",  c.now};
  }

  static nlohmann::json single_json_line(const ProcessOutput& out) {
    const std::string& s = out.stdout_text;
    EXPECT_FALSE(s.empty());
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1) << s;
    EXPECT_EQ(s.back(), '\n');
    auto j = nlohmann::json::parse(s);
    EXPECT_TRUE(j.is_object());
    return j;
  }

  std::string write_file(const std::string& name, const std::string& text) const {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  std::string jwks_;
  std::string dir_;
};

TEST_F(TokenVerifyCli, ValidTokenExitsZeroWithOneJsonObjectDescribingThePrincipal) {
  const auto& c = signed_case("rs256_valid");
  auto args = base_args(c);
  args.push_back(c.token);
  ProcessOutput out = run_process(args);
  ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
  auto j = single_json_line(out);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["issuer"], c.issuer);
  EXPECT_EQ(j["subject"], "user-rs256");
  EXPECT_EQ(j["client_id"], "connected-app-test-42");
  EXPECT_EQ(j["scopes"], nlohmann::json({"openid", "email", "mcp:read"}));
  EXPECT_TRUE(j["expires_at"].is_number_integer());
  EXPECT_FALSE(j.contains("organization"));
}

TEST_F(TokenVerifyCli, StytchB2bOrganizationAppearsInTheVerdict) {
  const auto& c = signed_case("stytch_b2b_organization_valid");
  auto args = base_args(c);
  args.push_back(c.token);
  ProcessOutput out = run_process(args);
  ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
  auto j = single_json_line(out);
  EXPECT_EQ(j["organization"],
            nlohmann::json({{"organization_id", "organization-test-7"}, {"slug", "acme"}}));
}

TEST_F(TokenVerifyCli, InvalidTokenExitsOneWithReasonAndDetailButNeverTheToken) {
  const auto& c = signed_case("expired");
  auto args = base_args(c);
  args.push_back(c.token);
  ProcessOutput out = run_process(args);
  ASSERT_EQ(out.exit_code, 1) << out.stderr_text;
  auto j = single_json_line(out);
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["error"], "invalid_token");
  EXPECT_EQ(j["reason"], "expired");
  EXPECT_FALSE(j["detail"].get<std::string>().empty());
  EXPECT_EQ(out.stdout_text.find(c.token), std::string::npos);
  EXPECT_EQ(out.stderr_text.find(c.token), std::string::npos);
}

TEST_F(TokenVerifyCli, ReadsTheTokenFromStdinWhenDashOrAbsentTrimmingOnlyTheLineEnding) {
  const auto& c = signed_case("es256_valid");
  auto dash = base_args(c);
  dash.push_back("-");
  ProcessOutput with_dash = run_process(dash, c.token + "\n");
  EXPECT_EQ(with_dash.exit_code, 0) << with_dash.stdout_text << with_dash.stderr_text;
  ProcessOutput absent = run_process(base_args(c), c.token + "\r\n");
  EXPECT_EQ(absent.exit_code, 0) << absent.stdout_text << absent.stderr_text;
  ProcessOutput no_newline = run_process(base_args(c), c.token);
  EXPECT_EQ(no_newline.exit_code, 0) << no_newline.stdout_text << no_newline.stderr_text;
  // Only the line ending goes: a leading space is part of what was sent, and a strict verifier refuses it.
  ProcessOutput leading_space = run_process(base_args(c), " " + c.token + "\n");
  EXPECT_EQ(leading_space.exit_code, 1) << leading_space.stdout_text;
}

TEST_F(TokenVerifyCli, EmptyStdinIsAUsageError) {
  ProcessOutput out = run_process(base_args(signed_case("rs256_valid")), "");
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(out.stdout_text.empty()) << out.stdout_text;
  EXPECT_NE(out.stderr_text.find("no token"), std::string::npos) << out.stderr_text;
}

TEST_F(TokenVerifyCli, UnsupportedAlgorithmNameExitsTwoNamingIt) {
  const auto& c = signed_case("rs256_valid");
  for (std::string bad : {"HS256", "none", "RS257"}) {
    auto args = base_args(c);
    args.insert(args.end(), {"--algorithms", "RS256," + bad, c.token});
    ProcessOutput out = run_process(args);
    EXPECT_EQ(out.exit_code, 2) << bad;
    EXPECT_TRUE(out.stdout_text.empty()) << bad << ": " << out.stdout_text;
    EXPECT_NE(out.stderr_text.find("'" + bad + "'"), std::string::npos) << bad << ": " << out.stderr_text;
  }
}

TEST_F(TokenVerifyCli, AlgorithmAllowListRefusesATokenOutsideIt) {
  const auto& c = signed_case("rs256_valid");
  auto args = base_args(c);
  args.insert(args.end(), {"--algorithms", "ES256,EdDSA", c.token});
  ProcessOutput out = run_process(args);
  EXPECT_EQ(out.exit_code, 1) << out.stderr_text;
  EXPECT_EQ(single_json_line(out)["reason"], "alg_not_allowed");
}

TEST_F(TokenVerifyCli, MissingJwksFileExitsTwoNamingThePath) {
  const auto& c = signed_case("rs256_valid");
  auto args = base_args(c);
  std::string missing = dir_ + "/no-such-jwks.json";
  args[4] = missing;
  args.push_back(c.token);
  ProcessOutput out = run_process(args);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(out.stdout_text.empty()) << out.stdout_text;
  EXPECT_NE(out.stderr_text.find(missing), std::string::npos) << out.stderr_text;
}

TEST_F(TokenVerifyCli, JwksFileThatIsNotAKeySetExitsTwo) {
  const auto& c = signed_case("rs256_valid");
  for (std::string text : {"[]", "{\"keys\": {}}", "not json", "{\"kty\":\"RSA\"}"}) {
    auto args = base_args(c);
    args[4] = write_file("bad-jwks.json", text);
    args.push_back(c.token);
    ProcessOutput out = run_process(args);
    EXPECT_EQ(out.exit_code, 2) << text;
    EXPECT_TRUE(out.stdout_text.empty()) << text << ": " << out.stdout_text;
    EXPECT_NE(out.stderr_text.find("bad-jwks.json"), std::string::npos) << out.stderr_text;
  }
}

TEST_F(TokenVerifyCli, SkippedKeysAreReportedOnStderrWithoutFailingTheCommand) {
  const auto& c = signed_case("rs256_valid");
  auto args = base_args(c);
  args.push_back(c.token);
  ProcessOutput out = run_process(args);
  EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
  std::istringstream lines(out.stderr_text);
  bool weak = false, enc = false;
  for (std::string line; std::getline(lines, line);) {
    if (line.find("rsa-weak-1024") != std::string::npos &&
        line.find("key_rsa_too_small") != std::string::npos)
      weak = true;
    if (line.find("rsa-enc") != std::string::npos && line.find("key_use_not_sig") != std::string::npos)
      enc = true;
  }
  EXPECT_TRUE(weak) << out.stderr_text;
  EXPECT_TRUE(enc) << out.stderr_text;
}

TEST_F(TokenVerifyCli, NonNumericNowOrNegativeLeewayExitsTwoNamingTheValue) {
  const auto& c = signed_case("rs256_valid");
  auto args = base_args(c);
  args[10] = "yesterday";
  args.push_back(c.token);
  ProcessOutput out = run_process(args);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(out.stdout_text.empty());
  EXPECT_NE(out.stderr_text.find("yesterday"), std::string::npos) << out.stderr_text;

  args = base_args(c);
  args.insert(args.end(), {"--leeway", "-5", c.token});
  out = run_process(args);
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.stderr_text.find("-5"), std::string::npos) << out.stderr_text;
}

TEST_F(TokenVerifyCli, RepeatedIssuerAndAudienceAreEachAccepted) {
  const auto& c = signed_case("rs256_valid");
  std::vector<std::string> args = {
      MCPGATE_BINARY,          "token",    "verify", "--jwks",     jwks_,      "--issuer",
      "https://other.example", "--issuer", c.issuer, "--audience", c.audience, "--audience",
      "another-project",       "--now",    c.now,    c.token};
  ProcessOutput out = run_process(args);
  EXPECT_EQ(out.exit_code, 0) << out.stdout_text << out.stderr_text;
}

TEST_F(TokenVerifyCli, MissingRequiredOptionIsAUsageError) {
  const auto& c = signed_case("rs256_valid");
  ProcessOutput out =
      run_process({MCPGATE_BINARY, "token", "verify", "--jwks", jwks_, "--audience", c.audience, c.token});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(out.stdout_text.empty()) << out.stdout_text;
  EXPECT_NE(out.stderr_text.find("--issuer"), std::string::npos) << out.stderr_text;
}

TEST(McpgateCli, HelpWorksOnEveryCommandAndVersionPrintsTheVersion) {
  for (std::vector<std::string> args :
       {std::vector<std::string>{MCPGATE_BINARY, "--help"},
        std::vector<std::string>{MCPGATE_BINARY, "token", "--help"},
        std::vector<std::string>{MCPGATE_BINARY, "token", "verify", "--help"}}) {
    ProcessOutput out = run_process(args);
    EXPECT_EQ(out.exit_code, 0) << args.size() << out.stderr_text;
    EXPECT_NE(out.stdout_text.find("Usage"), std::string::npos) << out.stdout_text;
  }
  ProcessOutput verify_help = run_process({MCPGATE_BINARY, "token", "verify", "--help"});
  for (const char* option : {"--jwks", "--issuer", "--audience", "--now", "--leeway", "--algorithms"}) {
    EXPECT_NE(verify_help.stdout_text.find(option), std::string::npos) << option;
  }
  ProcessOutput version = run_process({MCPGATE_BINARY, "--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_NE(version.stdout_text.find("mcpgate "), std::string::npos) << version.stdout_text;
}

TEST(McpgateCli, CheckConfigPrintsTheEffectiveRuleTableOfEachMcpRoute) {
  ProcessOutput out = run_process({MCPGATE_BINARY, "check-config", "--config",
                                   std::string(MCPGATE_SOURCE_DIR) + "/config/mcpgate.example.toml"});
  ASSERT_EQ(out.exit_code, 0) << out.stderr_text;
  const std::string& text = out.stdout_text;
  // First match first, the route's scopes folded into each rule's, and what no rule matches last.
  const auto header = text.find("#  method      target");
  const auto write = text.find("1  tools/call  create_*          scopes: mcp:read mcp:write");
  const auto admin = text.find("2  tools/call  delete_workspace  scopes: mcp:read mcp:admin; organization: ");
  const auto deny = text.find("3  tools/call  run_sql           deny (everyone)");
  const auto rest = text.find("-  *           *                 scopes: mcp:read");
  EXPECT_NE(header, std::string::npos) << text;
  EXPECT_LT(header, write) << text;
  EXPECT_LT(write, admin) << text;
  EXPECT_LT(admin, deny) << text;
  EXPECT_LT(deny, rest) << text;
  EXPECT_NE(text.find("no-raw-sql"), std::string::npos) << text;
}

TEST(McpgateCli, CheckConfigNamesABadRuleKeyAndExitsTwo) {
  const std::string path = ::testing::TempDir() + "/bad-rule.toml";
  std::ofstream(path) << "[[routes]]\nprefix = \"/mcp\"\n[[routes.rules]]\nmethod = \"tools call\"\n";
  ProcessOutput out = run_process({MCPGATE_BINARY, "check-config", "--config", path});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_NE(out.stderr_text.find("routes[0].rules[0].method"), std::string::npos) << out.stderr_text;
}

TEST(McpgateCli, TokenWithoutSubcommandIsAUsageError) {
  ProcessOutput out = run_process({MCPGATE_BINARY, "token"});
  EXPECT_EQ(out.exit_code, 2);
}

}  // namespace
}  // namespace mcpgate::testing
