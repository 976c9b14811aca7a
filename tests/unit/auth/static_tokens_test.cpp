// Static bearer tokens: matched by SHA-256 digest only, expiry enforced, scopes as configured.
#include "auth/static_tokens.hpp"

#include <gtest/gtest.h>

namespace mcpgate::auth {
namespace {

StaticTokenConfig token_config(std::string name, std::string token, std::vector<std::string> scopes,
                               std::optional<std::int64_t> expires_at = std::nullopt,
                               std::string subject = "") {
  return {std::move(name), digest_hex(digest_token(token)), std::move(scopes), std::move(subject),
          expires_at};
}

class StaticTokensTest : public ::testing::Test {
 protected:
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(1'800'000'000.0);
  StaticTokens tokens{{token_config("ci", "mcpg_ci_secret", {"mcp:read", "mcp:write"}),
                       token_config("old", "mcpg_old_secret", {"mcp:read"}, 1'700'000'000),
                       token_config("bot", "mcpg_bot_secret", {}, 1'800'000'100, "robot-7")},
                      clock};
};

TEST_F(StaticTokensTest, AcceptsConfiguredTokenWithItsScopes) {
  auto r = tokens.authenticate(digest_token("mcpg_ci_secret"));
  ASSERT_EQ(r.reason, Reason::Ok);
  ASSERT_TRUE(r->principal);
  EXPECT_EQ(r->principal->source, PrincipalSource::Static);
  EXPECT_EQ(r->principal->token_name, "ci");
  EXPECT_EQ(r->principal->subject, "ci");  // defaults to the name
  EXPECT_TRUE(r->principal->has_scope("mcp:write"));
  EXPECT_FALSE(r->principal->expires_at);
}

TEST_F(StaticTokensTest, RefusesWrongToken) {
  auto r = tokens.authenticate(digest_token("mcpg_ci_secreT"));
  EXPECT_EQ(r.reason, Reason::StaticTokenUnknown);
  EXPECT_FALSE(r.value);
  EXPECT_TRUE(r.detail.empty());
}

TEST_F(StaticTokensTest, RefusesExpiredToken) {
  auto r = tokens.authenticate(digest_token("mcpg_old_secret"));
  EXPECT_EQ(r.reason, Reason::StaticTokenExpired);
  EXPECT_EQ(r.detail, "static token old");
  EXPECT_FALSE(r.value);
}

TEST_F(StaticTokensTest, ExpiryFollowsTheInjectedClock) {
  EXPECT_EQ(tokens.authenticate(digest_token("mcpg_bot_secret")).reason, Reason::Ok);
  clock->advance(
      std::chrono::seconds(100));  // exactly at expires_at: expired (as exp == now is, RFC 8725 habit)
  EXPECT_EQ(tokens.authenticate(digest_token("mcpg_bot_secret")).reason, Reason::StaticTokenExpired);
}

TEST_F(StaticTokensTest, ConfiguredSubjectIsUsed) {
  auto r = tokens.authenticate(digest_token("mcpg_bot_secret"));
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->principal->subject, "robot-7");
  EXPECT_EQ(r->principal->expires_at, 1'800'000'100);
}

TEST_F(StaticTokensTest, MatchesTheLastOfManyEntries) {
  std::vector<StaticTokenConfig> many;
  for (int i = 0; i < 50; ++i)
    many.push_back(token_config("t" + std::to_string(i), "tok" + std::to_string(i), {}));
  StaticTokens big(many, clock);
  auto r = big.authenticate(digest_token("tok49"));
  ASSERT_EQ(r.reason, Reason::Ok);
  EXPECT_EQ(r->principal->token_name, "t49");
  EXPECT_EQ(big.authenticate(digest_token("tok0"))->principal->token_name, "t0");
}

TEST(TokenDigest, HexRoundTripsAndRefusesBadInput) {
  auto d = digest_token("test");
  EXPECT_EQ(digest_hex(d), "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08");
  EXPECT_EQ(digest_from_hex(digest_hex(d)), d);
  EXPECT_FALSE(digest_from_hex("9f86"));
  EXPECT_FALSE(digest_from_hex(std::string(64, 'g')));
}

}  // namespace
}  // namespace mcpgate::auth
