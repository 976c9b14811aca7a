// JWT claim rules (RFC 7519 §4.1, RFC 9068 §4, RFC 8725 §3.8–3.9) and the Principal they yield.
#include "jose/claims.hpp"

#include <gtest/gtest.h>

using mcpgate::Reason;
using mcpgate::jose::check_claims;
using mcpgate::jose::ClaimRules;
using mcpgate::jose::principal_from_claims;
using nlohmann::json;

namespace {

constexpr double kNow = 1893456000;
const ClaimRules kRules{
    {"https://issuer.example", "stytch.com/project-test-1"}, {"project-test-1", "https://api"}, 0};

json valid_claims() {
  return {
      {"iss", "https://issuer.example"}, {"aud", "project-test-1"}, {"exp", kNow + 3600}, {"sub", "user-1"}};
}

Reason check_with(const json& claims, double leeway = 0) {
  ClaimRules rules = kRules;
  rules.leeway_seconds = leeway;
  return check_claims(claims, rules, kNow);
}

json with(json claims, const std::string& name, json value) {
  claims[name] = std::move(value);
  return claims;
}

json without(json claims, const std::string& name) {
  claims.erase(name);
  return claims;
}

}  // namespace

TEST(Claims, AcceptsValidClaims) {
  EXPECT_EQ(check_with(valid_claims()), Reason::Ok);
}

TEST(Claims, RequiresIssuer) {
  EXPECT_EQ(check_with(without(valid_claims(), "iss")), Reason::IssuerMissing);
}

TEST(Claims, RequiresIssuerToExactlyEqualAConfiguredIssuer) {
  EXPECT_EQ(check_with(with(valid_claims(), "iss", "stytch.com/project-test-1")), Reason::Ok);
  for (const char* iss :
       {"https://issuer.example/", "https://ISSUER.example", "https://issuer.example.evil", ""})
    EXPECT_EQ(check_with(with(valid_claims(), "iss", iss)), Reason::IssuerUnknown) << iss;
}

TEST(Claims, RefusesIssuerOfWrongType) {
  EXPECT_EQ(check_with(with(valid_claims(), "iss", 42)), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "iss", json::array({"https://issuer.example"}))),
            Reason::ClaimTypeInvalid);
}

TEST(Claims, RequiresAudience) {
  EXPECT_EQ(check_with(without(valid_claims(), "aud")), Reason::AudienceMissing);
}

// RFC 9068 §2.2: without a subject every such token would be the same anonymous principal and share one
// session owner.
TEST(Claims, TokenWithoutSubjectIsRefused) {
  EXPECT_EQ(check_with(without(valid_claims(), "sub")), Reason::SubjectMissing);
}

TEST(Claims, TokenWithEmptySubjectIsRefused) {
  EXPECT_EQ(check_with(with(valid_claims(), "sub", "")), Reason::SubjectMissing);
}

TEST(Claims, SubjectMissingAnswers401InvalidTokenNamedSubMissing) {
  EXPECT_EQ(mcpgate::http_status(Reason::SubjectMissing), 401);
  EXPECT_EQ(mcpgate::oauth_error(Reason::SubjectMissing), "invalid_token");
  EXPECT_EQ(mcpgate::reason_name(Reason::SubjectMissing), "sub_missing");
}

TEST(Claims, AcceptsAudienceAsStringOrArrayContainingAConfiguredAudience) {
  EXPECT_EQ(check_with(with(valid_claims(), "aud", "https://api")), Reason::Ok);
  EXPECT_EQ(check_with(with(valid_claims(), "aud", {"client-9", "project-test-1"})), Reason::Ok);
}

TEST(Claims, RefusesAudienceNotNamingThisResource) {
  EXPECT_EQ(check_with(with(valid_claims(), "aud", "project-other")), Reason::AudienceMismatch);
  EXPECT_EQ(check_with(with(valid_claims(), "aud", {"a", "b"})), Reason::AudienceMismatch);
  EXPECT_EQ(check_with(with(valid_claims(), "aud", json::array())), Reason::AudienceMismatch);
  EXPECT_EQ(check_with(with(valid_claims(), "aud", "PROJECT-TEST-1")), Reason::AudienceMismatch);
}

TEST(Claims, RefusesAudienceOfWrongType) {
  EXPECT_EQ(check_with(with(valid_claims(), "aud", 7)), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "aud", {"project-test-1", 7})), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "aud", {{"x", "project-test-1"}})), Reason::ClaimTypeInvalid);
}

TEST(Claims, RequiresExpiration) {
  EXPECT_EQ(check_with(without(valid_claims(), "exp")), Reason::ExpirationMissing);
}

TEST(Claims, RefusesExpirationOfWrongType) {
  EXPECT_EQ(check_with(with(valid_claims(), "exp", std::to_string(kNow + 3600))), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "exp", true)), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "exp", nullptr)), Reason::ClaimTypeInvalid);
}

TEST(Claims, TreatsExpEqualToNowAsExpired) {
  EXPECT_EQ(check_with(with(valid_claims(), "exp", kNow)), Reason::Expired);
  EXPECT_EQ(check_with(with(valid_claims(), "exp", kNow - 1)), Reason::Expired);
  EXPECT_EQ(check_with(with(valid_claims(), "exp", kNow + 1)), Reason::Ok);
}

TEST(Claims, AcceptsNonIntegerNumericDates) {
  EXPECT_EQ(check_with(with(valid_claims(), "exp", kNow + 0.5)), Reason::Ok);
  EXPECT_EQ(check_with(with(valid_claims(), "exp", kNow - 0.25)), Reason::Expired);
  EXPECT_EQ(check_with(with(valid_claims(), "nbf", kNow + 0.5)), Reason::NotYetValid);
  EXPECT_EQ(check_with(with(valid_claims(), "nbf", kNow - 0.5)), Reason::Ok);
}

TEST(Claims, AppliesLeewayToExpiration) {
  json expired_20s_ago = with(valid_claims(), "exp", kNow - 20);
  EXPECT_EQ(check_with(expired_20s_ago, 30), Reason::Ok);
  EXPECT_EQ(check_with(expired_20s_ago, 20), Reason::Expired);
  EXPECT_EQ(check_with(expired_20s_ago, 0), Reason::Expired);
}

TEST(Claims, HonoursNotBefore) {
  EXPECT_EQ(check_with(with(valid_claims(), "nbf", kNow)), Reason::Ok);
  EXPECT_EQ(check_with(with(valid_claims(), "nbf", kNow + 1)), Reason::NotYetValid);
  EXPECT_EQ(check_with(with(valid_claims(), "nbf", kNow + 20), 30), Reason::Ok);
  EXPECT_EQ(check_with(with(valid_claims(), "nbf", kNow + 31), 30), Reason::NotYetValid);
  EXPECT_EQ(check_with(with(valid_claims(), "nbf", "now")), Reason::ClaimTypeInvalid);
}

TEST(Claims, RefusesRegisteredClaimsOfWrongType) {
  EXPECT_EQ(check_with(with(valid_claims(), "scope", 5)), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "scope", {"a", "b"})), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "scp", "a b")), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "scp", {"a", 1})), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "sub", 12)), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "client_id", false)), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "azp", json::object())), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "jti", 1)), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "iat", "yesterday")), Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "https://stytch.com/organization", "org-1")),
            Reason::ClaimTypeInvalid);
  EXPECT_EQ(check_with(with(valid_claims(), "https://stytch.com/organization", {{"slug", "acme"}})),
            Reason::ClaimTypeInvalid);
}

TEST(Claims, ChecksTheCheapClaimsInOrderIssuerTimeAudience) {
  json everything_wrong = {{"iss", "https://other"}, {"aud", "other"}, {"exp", kNow - 100}};
  EXPECT_EQ(check_with(everything_wrong), Reason::IssuerUnknown);
  everything_wrong["iss"] = "https://issuer.example";
  EXPECT_EQ(check_with(everything_wrong), Reason::Expired);
  everything_wrong["exp"] = kNow + 100;
  EXPECT_EQ(check_with(everything_wrong), Reason::AudienceMismatch);
}

TEST(Principal, TakesScopesFromSpaceSeparatedScopeCollapsingRepeatedSpaces) {
  auto p = principal_from_claims(with(valid_claims(), "scope", "  openid  mcp:read mcp:write   mcp:read "));
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"openid", "mcp:read", "mcp:write"}));
  EXPECT_TRUE(p.has_scope("mcp:write"));
  EXPECT_FALSE(p.has_scope("mcp"));
}

TEST(Principal, TakesScopesFromScpArrayWhenScopeIsAbsent) {
  auto p = principal_from_claims(with(valid_claims(), "scp", {"files.read", "files.write"}));
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"files.read", "files.write"}));
  EXPECT_TRUE(principal_from_claims(valid_claims()).scopes.empty());
}

TEST(Principal, TakesClientIdFromClientIdElseAzp) {
  json claims = with(with(valid_claims(), "azp", "azp-client"), "client_id", "connected-app-1");
  EXPECT_EQ(principal_from_claims(claims).client_id, "connected-app-1");
  EXPECT_EQ(principal_from_claims(without(claims, "client_id")).client_id, "azp-client");
  EXPECT_EQ(principal_from_claims(valid_claims()).client_id, "");
}

TEST(Principal, ReadsStytchB2bOrganization) {
  json claims = with(valid_claims(), "https://stytch.com/organization",
                     {{"organization_id", "organization-test-123"}, {"slug", "acme"}});
  ASSERT_EQ(check_with(claims), Reason::Ok);
  auto p = principal_from_claims(claims);
  ASSERT_TRUE(p.organization);
  EXPECT_EQ(p.organization->id, "organization-test-123");
  EXPECT_EQ(p.organization->slug, "acme");
  EXPECT_FALSE(principal_from_claims(valid_claims()).organization);
}

TEST(Principal, CarriesIssuerSubjectJtiExpiryAndAllClaims) {
  json claims = with(with(valid_claims(), "jti", "id-1"), "exp", kNow + 99.75);
  auto p = principal_from_claims(claims);
  EXPECT_EQ(p.source, mcpgate::PrincipalSource::Jwt);
  EXPECT_EQ(p.issuer, "https://issuer.example");
  EXPECT_EQ(p.subject, "user-1");
  EXPECT_EQ(p.jti, "id-1");
  EXPECT_EQ(p.expires_at, static_cast<std::int64_t>(kNow) + 99);
  EXPECT_EQ(p.claims, claims);
  EXPECT_EQ(principal_from_claims(with(valid_claims(), "exp", 1e300)).expires_at.value(),
            static_cast<std::int64_t>(9.2e18));
}
