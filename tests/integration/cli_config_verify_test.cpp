// `mcpgate token verify --config FILE`: the real binary judges a token with the serving chain built from a
// configuration file (issuers with their key sets, static tokens), printing the --jwks verdict plus "source".
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "jose/test_signer.hpp"
#include "support/child_process.hpp"

namespace mcpgate::testing {
namespace {

namespace signer = mcpgate::jose::testing;

constexpr const char* kIssuer = "https://login.config-verify.example";
constexpr const char* kAudience = "project-config-verify";

class TokenVerifyConfigCli : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/mcpgate-config-verify-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string write_file(const std::string& name, const std::string& text) const {
    std::string path = dir_ + "/" + name;
    std::ofstream(path) << text;
    return path;
  }

  // A config with one [[issuers]] entry whose keys come from a jwks_file holding the test signer's RSA key.
  std::string issuer_config() const {
    const auto& key = signer::TestKey::shared(signer::KeyKind::Rsa2048);
    std::string jwks = write_file("jwks.json", signer::jwks_json({key.public_jwk("kid-config")}));
    return write_file("issuer.toml", std::string("[[issuers]]\nissuer = \"") + kIssuer +
                                         "\"\naudiences = [\"" + kAudience + "\"]\njwks_file = \"" + jwks +
                                         "\"\n");
  }

  static std::string signed_token(const std::string& audience) {
    const auto& key = signer::TestKey::shared(signer::KeyKind::Rsa2048);
    std::int64_t now = std::time(nullptr);
    return signer::sign_token(key, "RS256", {{"alg", "RS256"}, {"kid", "kid-config"}, {"typ", "JWT"}},
                              {{"iss", kIssuer},
                               {"aud", audience},
                               {"sub", "user-config"},
                               {"client_id", "app-config"},
                               {"scope", "openid mcp:read"},
                               {"iat", now},
                               {"exp", now + 3600}});
  }

  static nlohmann::json single_json_line(const ProcessOutput& out) {
    const std::string& s = out.stdout_text;
    EXPECT_EQ(std::count(s.begin(), s.end(), '\n'), 1) << s;
    auto j = nlohmann::json::parse(s);
    EXPECT_TRUE(j.is_object());
    return j;
  }

  std::string dir_;
};

TEST_F(TokenVerifyConfigCli, StaticTokenFromTokenNewIsValidWithSourceStaticAndItsName) {
  ProcessOutput minted =
      run_process({MCPGATE_BINARY, "token", "new", "--name", "ci-bot", "--scopes", "mcp:read"});
  ASSERT_EQ(minted.exit_code, 0) << minted.stderr_text;
  // "Token (shown once; store it now):\n  <token>\n\nAdd to mcpgate.toml:\n<snippet>"
  const std::string& text = minted.stdout_text;
  std::size_t token_start = text.find("\n  ");
  ASSERT_NE(token_start, std::string::npos) << text;
  token_start += 3;
  std::string token = text.substr(token_start, text.find('\n', token_start) - token_start);
  std::size_t snippet = text.find("[[static_tokens]]");
  ASSERT_NE(snippet, std::string::npos) << text;
  std::string config = write_file("static.toml", text.substr(snippet));

  ProcessOutput out = run_process({MCPGATE_BINARY, "token", "verify", "--config", config, token});
  ASSERT_EQ(out.exit_code, 0) << out.stdout_text << out.stderr_text;
  auto j = single_json_line(out);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["source"], "static");
  EXPECT_EQ(j["name"], "ci-bot");
  EXPECT_EQ(j["subject"], "ci-bot");
  EXPECT_EQ(j["scopes"], nlohmann::json({"mcp:read"}));
  EXPECT_FALSE(j.contains("issuer"));

  // The same token on stdin ("-") gets the same verdict.
  ProcessOutput piped =
      run_process({MCPGATE_BINARY, "token", "verify", "--config", config, "-"}, token + "\n");
  EXPECT_EQ(piped.exit_code, 0) << piped.stderr_text;
}

TEST_F(TokenVerifyConfigCli, UnknownStaticTokenExitsOneWithStaticTokenUnknownAndNeverEchoesIt) {
  std::string config = write_file(
      "static.toml", "[[static_tokens]]\nname = \"ci-bot\"\nsha256 = \"" + std::string(64, 'a') + "\"\n");
  const std::string wrong = "mcpgate_wrong-token-value-123";
  ProcessOutput out = run_process({MCPGATE_BINARY, "token", "verify", "--config", config, wrong});
  ASSERT_EQ(out.exit_code, 1) << out.stdout_text << out.stderr_text;
  auto j = single_json_line(out);
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["reason"], "static_token_unknown");
  EXPECT_EQ(out.stdout_text.find(wrong), std::string::npos);
  EXPECT_EQ(out.stderr_text.find(wrong), std::string::npos);
}

TEST_F(TokenVerifyConfigCli, JwtFromConfiguredIssuerJwksFileIsValidWithSourceJwtAndIssuer) {
  ProcessOutput out =
      run_process({MCPGATE_BINARY, "token", "verify", "--config", issuer_config(), signed_token(kAudience)});
  ASSERT_EQ(out.exit_code, 0) << out.stdout_text << out.stderr_text;
  auto j = single_json_line(out);
  EXPECT_EQ(j["valid"], true);
  EXPECT_EQ(j["source"], "jwt");
  EXPECT_EQ(j["issuer"], kIssuer);
  EXPECT_EQ(j["subject"], "user-config");
  EXPECT_EQ(j["client_id"], "app-config");
  EXPECT_EQ(j["scopes"], nlohmann::json({"openid", "mcp:read"}));
  EXPECT_FALSE(j.contains("name"));
}

TEST_F(TokenVerifyConfigCli, JwtForAnotherAudienceExitsOneWithTheReason) {
  ProcessOutput out = run_process(
      {MCPGATE_BINARY, "token", "verify", "--config", issuer_config(), signed_token("another-project")});
  ASSERT_EQ(out.exit_code, 1) << out.stdout_text << out.stderr_text;
  auto j = single_json_line(out);
  EXPECT_EQ(j["valid"], false);
  EXPECT_EQ(j["error"], "invalid_token");
  EXPECT_TRUE(j["reason"].is_string());
}

TEST_F(TokenVerifyConfigCli, BrokenConfigExitsTwoNamingEachBadKey) {
  std::string config =
      write_file("broken.toml",
                 "[[static_tokens]]\nname = \"ci-bot\"\nsha256 = \"not-hex\"\n\n[jwks]\nmax_stale = -1\n");
  ProcessOutput out = run_process({MCPGATE_BINARY, "token", "verify", "--config", config, "anything"});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(out.stdout_text.empty()) << out.stdout_text;
  EXPECT_NE(out.stderr_text.find("static_tokens[0].sha256"), std::string::npos) << out.stderr_text;
  EXPECT_NE(out.stderr_text.find("jwks.max_stale"), std::string::npos) << out.stderr_text;
}

TEST_F(TokenVerifyConfigCli, ConfigAndJwksTogetherIsAUsageErrorNamingBoth) {
  std::string config = issuer_config();
  ProcessOutput out = run_process({MCPGATE_BINARY, "token", "verify", "--config", config, "--jwks",
                                   dir_ + "/jwks.json", signed_token(kAudience)});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(out.stdout_text.empty()) << out.stdout_text;
  EXPECT_NE(out.stderr_text.find("--config"), std::string::npos) << out.stderr_text;
  EXPECT_NE(out.stderr_text.find("--jwks"), std::string::npos) << out.stderr_text;
}

TEST_F(TokenVerifyConfigCli, NeitherConfigNorJwksIsAUsageError) {
  ProcessOutput out = run_process({MCPGATE_BINARY, "token", "verify", "sometoken"});
  EXPECT_EQ(out.exit_code, 2);
  EXPECT_TRUE(out.stdout_text.empty()) << out.stdout_text;
  EXPECT_NE(out.stderr_text.find("--config"), std::string::npos) << out.stderr_text;
}

}  // namespace
}  // namespace mcpgate::testing
