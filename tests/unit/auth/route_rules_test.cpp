// Route rules: first match wins, public routes, methods, scopes all required, default = any valid token.
#include "auth/route_rules.hpp"

#include <gtest/gtest.h>

namespace mcpgate::auth {
namespace {

RouteConfig route(std::string prefix, std::vector<std::string> scopes, std::vector<std::string> methods = {},
                  bool is_public = false) {
  RouteConfig r;
  r.prefix = std::move(prefix);
  r.methods = std::move(methods);
  r.scopes = std::move(scopes);
  r.is_public = is_public;
  return r;
}

Principal with_scopes(std::vector<std::string> scopes) {
  Principal p;
  p.scopes = std::move(scopes);
  return p;
}

class RouteRulesTest : public ::testing::Test {
 protected:
  RouteRules rules{{route("/health", {}, {}, true), route("/mcp", {"mcp:write"}, {"POST", "DELETE"}),
                    route("/mcp", {"mcp:read"}), route("/static/", {}, {"GET"}, true),
                    route("/admin", {"admin", "mcp:write"})}};
};

TEST_F(RouteRulesTest, PublicRouteNeedsNoScopes) {
  const RouteRule& r = rules.match("GET", "/health");
  EXPECT_TRUE(r.is_public);
  EXPECT_EQ(RouteRules::authorize(r, Principal{}), Reason::Ok);
}

TEST_F(RouteRulesTest, FirstMatchWins) {
  EXPECT_EQ(rules.match("POST", "/mcp").index, 1);
  EXPECT_EQ(rules.match("GET", "/mcp").index, 2);  // method narrows rule 1 away
  EXPECT_EQ(rules.match("delete", "/mcp/session").index, 1);
}

TEST_F(RouteRulesTest, PrefixMatchesWholeSegmentsOnly) {
  EXPECT_EQ(rules.match("GET", "/mcp/x").index, 2);
  EXPECT_EQ(rules.match("GET", "/mcpx").index, -1);
  EXPECT_EQ(rules.match("GET", "/healthz").index, -1);
  EXPECT_EQ(rules.match("GET", "/static/app.js").index, 3);
  EXPECT_EQ(rules.match("GET", "/static").index, -1);  // "/static/" covers only what is under it
}

TEST_F(RouteRulesTest, MethodsNarrowARule) {
  EXPECT_TRUE(rules.match("GET", "/static/a").is_public);
  EXPECT_FALSE(rules.match("POST", "/static/a").is_public);
}

TEST_F(RouteRulesTest, AllScopesRequired) {
  const RouteRule& admin = rules.match("GET", "/admin");
  EXPECT_EQ(RouteRules::authorize(admin, with_scopes({"admin"})), Reason::InsufficientScope);
  EXPECT_EQ(RouteRules::authorize(admin, with_scopes({"admin", "mcp:write"})), Reason::Ok);
  EXPECT_EQ(RouteRules::authorize(rules.match("POST", "/mcp"), with_scopes({"mcp:read"})),
            Reason::InsufficientScope);
}

TEST_F(RouteRulesTest, UnmatchedRequestNeedsAValidTokenButNoScopes) {
  const RouteRule& r = rules.match("GET", "/elsewhere");
  EXPECT_EQ(r.index, -1);
  EXPECT_FALSE(r.is_public);
  EXPECT_EQ(RouteRules::authorize(r, Principal{}), Reason::Ok);
}

TEST_F(RouteRulesTest, DotSegmentsNeverBorrowAPublicRule) {
  EXPECT_FALSE(rules.match("GET", "/static/../admin").is_public);
  EXPECT_FALSE(rules.match("GET", "/health/..").is_public);
}

}  // namespace
}  // namespace mcpgate::auth
