#include "http/challenge.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

namespace mcpgate::http {
namespace {

const ChallengeContext kContext{
    .realm = "mcpgate",
    .resource_metadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp",
    .scope = "mcp:read mcp:write"};

std::string header(const Refusal& r, std::string_view name) {
  std::string out;
  int n = 0;
  for (const auto& [k, v] : r.headers)
    if (k == name) {
      out = v;
      ++n;
    }
  EXPECT_LE(n, 1) << name << " appears more than once";
  return out;
}

TEST(Challenge, MissingCredentialsGetsABareChallengeWithoutErrorAttribute) {
  auto r = refusal_for(Reason::MissingCredentials, kContext);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(header(r, "WWW-Authenticate"),
            "Bearer realm=\"mcpgate\", "
            "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", "
            "scope=\"mcp:read mcp:write\"");
}

TEST(Challenge, ExpiredTokenGetsInvalidTokenWithDescription) {
  auto r = refusal_for(Reason::Expired, kContext);
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(
      header(r, "WWW-Authenticate"),
      "Bearer realm=\"mcpgate\", error=\"invalid_token\", error_description=\"The token has expired.\", "
      "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", "
      "scope=\"mcp:read mcp:write\"");
  auto body = nlohmann::json::parse(r.body);
  EXPECT_EQ(body["error"], "invalid_token");
  EXPECT_EQ(body["error_description"], "The token has expired.");
}

TEST(Challenge, InsufficientScopeIs403WithEveryScopeTheRouteNeeds) {
  auto r = refusal_for(Reason::InsufficientScope, kContext);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(header(r, "WWW-Authenticate"),
            "Bearer realm=\"mcpgate\", error=\"insufficient_scope\", "
            "error_description=\"The token lacks a scope this route requires.\", "
            "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/mcp\", "
            "scope=\"mcp:read mcp:write\"");
}

TEST(Challenge, QueryTokenIs400InvalidRequest) {
  auto r = refusal_for(Reason::TokenInQuery, kContext);
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(header(r, "WWW-Authenticate").find("error=\"invalid_request\""), std::string::npos);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "invalid_request");
}

TEST(Challenge, KeysUnavailableIs503WithRetryAfterAndNoChallenge) {
  auto r = refusal_for(Reason::KeysUnavailable, kContext, 2.2);
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(header(r, "Retry-After"), "3");
  EXPECT_EQ(header(r, "WWW-Authenticate"), "");
  EXPECT_EQ(refusal_for(Reason::KeysStale, kContext, 0).status, 503);
  EXPECT_EQ(header(refusal_for(Reason::KeysStale, kContext, 0), "Retry-After"), "1");
}

TEST(Challenge, OriginNotAllowedIs403WithoutBearerChallenge) {
  auto r = refusal_for(Reason::OriginNotAllowed, kContext);
  EXPECT_EQ(r.status, 403);
  EXPECT_EQ(header(r, "WWW-Authenticate"), "");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"], "origin_not_allowed");
}

TEST(Challenge, EmptyScopeAndRealmAreOmitted) {
  auto r =
      refusal_for(Reason::MissingCredentials, {.realm = "", .resource_metadata = "https://h/x", .scope = ""});
  EXPECT_EQ(header(r, "WWW-Authenticate"), "Bearer resource_metadata=\"https://h/x\"");
}

TEST(Challenge, QuotedStringValuesEscapeQuotesAndBackslashesAndDropControls) {
  EXPECT_EQ(quoted_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(quoted_string("a\r\nb\x01"), "\"ab\"");
  EXPECT_EQ(bearer_challenge({.realm = "say \"hi\""}), "Bearer realm=\"say \\\"hi\\\"\"");
}

TEST(Challenge, EveryRefusalIsNotCacheable) {
  EXPECT_EQ(header(refusal_for(Reason::Expired, kContext), "Cache-Control"), "no-store");
}

}  // namespace
}  // namespace mcpgate::http
