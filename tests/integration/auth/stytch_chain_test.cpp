// The authenticator chain against a fake Stytch project over real HTTP: issuer forms, audiences, B2B
// organizations, static tokens, the verified-token cache, cheap checks before any fetch, generic OIDC
// discovery, jwks_file.
#include <unistd.h>

#include <fstream>

#include "auth_harness.hpp"

namespace mcpgate::testing {
namespace {

using AuthResult = Result<auth::Authenticated>;

TEST(StytchChain, AcceptsProjectDomainIssuer) {
  AuthHarness h;
  h.start();
  AuthResult r = h.auth->authenticate(h.token());
  ASSERT_EQ(r.reason, Reason::Ok) << r.detail;
  EXPECT_EQ(r->principal->source, PrincipalSource::Jwt);
  EXPECT_EQ(r->principal->issuer, h.stytch.base_url());
  EXPECT_EQ(r->principal->subject, "user-test-1");
  EXPECT_EQ(r->principal->client_id, "connected-app-test-1");
  EXPECT_TRUE(r->principal->has_scope("mcp:read"));
}

TEST(StytchChain, AcceptsSchemelessStytchComIssuer) {
  AuthHarness h;
  h.start();
  AuthResult r = h.auth->authenticate(h.token({{"iss", h.stytch.api_issuer()}}));
  ASSERT_EQ(r.reason, Reason::Ok) << r.detail;
  EXPECT_EQ(r->principal->issuer, "stytch.com/" + h.stytch.project_id());
}

TEST(StytchChain, AcceptsProjectIdAudienceAsString) {
  AuthHarness h;
  h.start();
  EXPECT_EQ(h.auth->authenticate(h.token({{"aud", h.stytch.project_id()}})).reason, Reason::Ok);
}

TEST(StytchChain, AcceptsResourceUrlAudienceFromConfig) {
  AuthHarness h;
  h.start();
  EXPECT_EQ(h.auth->authenticate(h.token({{"aud", {"https://mcp.example.com/mcp"}}})).reason, Reason::Ok);
}

TEST(StytchChain, RefusesTokenForAnotherAudience) {
  AuthHarness h;
  h.start();
  EXPECT_EQ(h.auth->authenticate(h.token({{"aud", {"project-test-other"}}})).reason,
            Reason::AudienceMismatch);
}

TEST(StytchChain, RefusesExpiredToken) {
  AuthHarness h;
  h.start();
  EXPECT_EQ(h.auth->authenticate(h.token({{"exp", kStart - 120}})).reason, Reason::Expired);
}

TEST(StytchChain, B2BOrganizationClaimReachesThePrincipal) {
  AuthHarness h;
  h.start();
  AuthResult r = h.auth->authenticate(h.token(
      {{"https://stytch.com/organization", {{"organization_id", "organization-test-1"}, {"slug", "acme"}}}}));
  ASSERT_EQ(r.reason, Reason::Ok) << r.detail;
  ASSERT_TRUE(r->principal->organization);
  EXPECT_EQ(r->principal->organization->id, "organization-test-1");
  EXPECT_EQ(r->principal->organization->slug, "acme");
}

TEST(StytchChain, AllowedOrganizationsRefuseOtherOrganizations) {
  AuthHarness h;
  h.config.stytch->allowed_organizations = {"organization-test-1"};
  h.start();
  auto org = [](const char* id) {
    return nlohmann::json{{"https://stytch.com/organization", {{"organization_id", id}, {"slug", "x"}}}};
  };
  EXPECT_EQ(h.auth->authenticate(h.token(org("organization-test-1"))).reason, Reason::Ok);
  EXPECT_EQ(h.auth->authenticate(h.token(org("organization-test-2"))).reason, Reason::OrganizationNotAllowed);
  EXPECT_EQ(h.auth->authenticate(h.token()).reason,
            Reason::OrganizationNotAllowed);  // no organization at all
}

TEST(StytchChain, RepeatedTokenSkipsSignatureWork) {
  AuthHarness h;
  h.start();
  std::string token = h.token();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(h.auth->authenticate(token).reason, Reason::Ok);
  auto stats = h.auth->stats();
  EXPECT_EQ(stats.signature_checks, 1u);
  EXPECT_EQ(stats.cache_hits, 99u);
}

TEST(StytchChain, InvalidSignatureIsNeverCached) {
  AuthHarness h;
  h.start();
  std::string bad = jose::testing::tamper_segment(h.token(), 2, 10);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(h.auth->authenticate(bad).reason, Reason::SignatureInvalid);
  EXPECT_EQ(h.auth->stats().signature_checks, 3u);
  EXPECT_EQ(h.auth->stats().cached_tokens, 0u);
}

TEST(StytchChain, CachedTokenStillExpiresAtItsExp) {
  AuthHarness h;
  h.start();
  std::string token = h.token({{"exp", kStart + 100}});
  ASSERT_EQ(h.auth->authenticate(token).reason, Reason::Ok);
  h.clock->advance(std::chrono::seconds(101 + 60));  // past exp + leeway, inside the cache ttl
  EXPECT_EQ(h.auth->authenticate(token).reason, Reason::Expired);
}

TEST(StytchChain, CheapChecksRunBeforeAnyFetchForUnknownKid) {
  AuthHarness h;
  h.start();
  const int hits = h.stytch.jwks_hits();
  EXPECT_EQ(h.auth->authenticate(h.token({{"exp", kStart - 3600}}, "kid-unknown")).reason, Reason::Expired);
  EXPECT_EQ(h.auth->authenticate(h.token({{"aud", "elsewhere"}}, "kid-unknown")).reason,
            Reason::AudienceMismatch);
  EXPECT_EQ(h.stytch.jwks_hits(), hits);
  EXPECT_EQ(h.auth->stats().signature_checks, 0u);
}

TEST(StytchChain, TokenFromUnconfiguredIssuerGoesToStaticPathAndIsRefused) {
  AuthHarness h;
  h.start();
  AuthResult r = h.auth->authenticate(h.token({{"iss", "https://evil.example"}}));
  EXPECT_EQ(r.reason, Reason::IssuerUnknown);
  EXPECT_EQ(h.auth->stats().signature_checks, 0u);
}

TEST(StytchChain, StaticTokensValidWrongExpiredAndScopes) {
  AuthHarness h;
  auto entry = [](std::string name, std::string token, std::vector<std::string> scopes,
                  std::optional<std::int64_t> exp) {
    return StaticTokenConfig{std::move(name), auth::digest_hex(auth::digest_token(token)), std::move(scopes),
                             "", exp};
  };
  h.config.static_tokens = {entry("claude-code", "mcpg_valid_token", {"mcp:read"}, std::nullopt),
                            entry("old-ci", "mcpg_expired_token", {"mcp:read"}, std::int64_t(kStart - 1))};
  h.start();
  AuthResult ok = h.auth->authenticate("mcpg_valid_token");
  ASSERT_EQ(ok.reason, Reason::Ok);
  EXPECT_EQ(ok->principal->source, PrincipalSource::Static);
  EXPECT_EQ(ok->principal->token_name, "claude-code");
  EXPECT_FALSE(ok->principal->has_scope("mcp:write"));
  EXPECT_EQ(h.auth->authenticate("mcpg_wrong_token").reason, Reason::StaticTokenUnknown);
  AuthResult expired = h.auth->authenticate("mcpg_expired_token");
  EXPECT_EQ(expired.reason, Reason::StaticTokenExpired);
  EXPECT_NE(expired.detail.find("old-ci"), std::string::npos);
}

TEST(StytchChain, JwtShapedStaticTokenOfConfiguredIssuerNeverTakesStaticPath) {
  AuthHarness h;
  auto other = jose::testing::TestKey::generate(jose::testing::KeyKind::Rsa2048);
  std::string forged = h.token({}, "kid-1", &other);
  // Even if an operator configured this exact string as a static token, the JWT path alone judges it.
  h.config.static_tokens = {{"trap", auth::digest_hex(auth::digest_token(forged)), {}, "", std::nullopt}};
  h.start();
  EXPECT_EQ(h.auth->authenticate(forged).reason, Reason::SignatureInvalid);
}

TEST(GenericIssuer, DiscoversJwksUriFromOpenIdConfiguration) {
  FakeStytch idp("project-unused");
  const auto& key = jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048);
  idp.set_keys({key.public_jwk("idp-1")});
  auto clock = std::make_shared<ManualClock>(kStart);
  Config config;
  config.issuers.push_back({idp.base_url(), "", "", {"api://mcp"}, {"RS256"}, false});
  auto created = auth::Authenticator::create(config, clock);
  ASSERT_TRUE(created.ok()) << created.message();
  auth::Authenticator* auth = created->get();
  ASSERT_TRUE(auth->wait_for_keys(std::chrono::seconds(10)));
  EXPECT_GE(idp.metadata_hits(), 1);
  std::string token = jose::testing::sign_token(key, "RS256", {{"alg", "RS256"}, {"kid", "idp-1"}},
                                                {{"iss", idp.base_url()},
                                                 {"sub", "svc"},
                                                 {"aud", "api://mcp"},
                                                 {"exp", kStart + 600},
                                                 {"scp", {"files:read"}}});
  Result<auth::Authenticated> r = auth->authenticate(token);
  ASSERT_EQ(r.reason, Reason::Ok) << r.detail;
  EXPECT_TRUE(r->principal->has_scope("files:read"));
}

TEST(GenericIssuer, LocalJwksFileNeedsNoNetwork) {
  const auto& key = jose::testing::TestKey::shared(jose::testing::KeyKind::P256);
  std::string path = ::testing::TempDir() + "mcpgate_jwks_file_test_" + std::to_string(::getpid()) + ".json";
  std::ofstream(path) << jose::testing::jwks_json({key.public_jwk("file-1")});
  Config config;
  config.issuers.push_back({"https://airgap.example", "", path, {"api"}, {"ES256"}, false});
  auto created = auth::Authenticator::create(config, std::make_shared<ManualClock>(kStart));
  ASSERT_TRUE(created.ok()) << created.message();
  auth::Authenticator* auth = created->get();
  std::string token = jose::testing::sign_token(
      key, "ES256", {{"alg", "ES256"}, {"kid", "file-1"}},
      {{"iss", "https://airgap.example"}, {"sub", "x"}, {"aud", "api"}, {"exp", kStart + 60}});
  EXPECT_EQ(auth->authenticate(token).reason, Reason::Ok);
  std::remove(path.c_str());
}

TEST(GenericIssuer, UnreadableJwksFileFailsCreation) {
  Config config;
  config.issuers.push_back(
      {"https://airgap.example", "", "/nonexistent/jwks.json", {"api"}, {"ES256"}, false});
  auto created = auth::Authenticator::create(config);
  EXPECT_EQ(created.reason, Reason::KeySetInvalid);
  EXPECT_NE(created.detail.find("/nonexistent/jwks.json"), std::string::npos);
}

}  // namespace
}  // namespace mcpgate::testing
