// [[routes.rules]] judged per MCP message: globs, first match, scopes, conditions, deny (src/auth/call_rules.hpp).
#include "auth/call_rules.hpp"

#include <gtest/gtest.h>

namespace mcpgate::auth {
namespace {

using Kind = CallVerdict::Kind;

Principal with_scopes(std::vector<std::string> scopes) {
  Principal p;
  p.subject = "user-1";
  p.scopes = std::move(scopes);
  return p;
}

CallRuleConfig rule(std::string method, std::string target, std::vector<std::string> scopes) {
  CallRuleConfig r;
  r.method = std::move(method);
  r.target = std::move(target);
  r.scopes = std::move(scopes);
  return r;
}

TEST(CallRules, GlobStarSpansAnyRunAndQuestionMarkOneByte) {
  EXPECT_TRUE(glob_match("tools/*", "tools/call"));
  EXPECT_TRUE(glob_match("*", ""));
  EXPECT_TRUE(glob_match("file:///docs/*", "file:///docs/a/b.md"));  // '*' crosses '/'
  EXPECT_TRUE(glob_match("delete_?", "delete_x"));
  EXPECT_FALSE(glob_match("delete_?", "delete_"));
  EXPECT_FALSE(glob_match("delete_?", "delete_xy"));
  EXPECT_TRUE(glob_match("a*b*c", "a--b--c"));
  EXPECT_FALSE(glob_match("a*b*c", "a--b--"));
  EXPECT_FALSE(glob_match("tools/call", "tools/call2"));  // no implicit prefix match
  EXPECT_FALSE(glob_match("Tools/call", "tools/call"));   // case-sensitive
}

TEST(CallRules, GlobWithManyStarsStaysLinearOnAHostileTarget) {
  // A backtracking matcher would take 2^n steps here; this one finishes at once (bounded by the test timeout).
  const std::string pattern = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
  const std::string text(100000, 'a');
  EXPECT_FALSE(glob_match(pattern, text));
}

TEST(CallRules, FirstMatchingRuleWinsInFileOrder) {
  CallRuleConfig deny_one = rule("tools/call", "drop_table", {});
  deny_one.deny = true;
  CallRules rules({deny_one, rule("tools/call", "*", {"mcp:write"})}, "routes[0]");
  const Principal writer = with_scopes({"mcp:write"});
  EXPECT_EQ(rules.judge("tools/call", "drop_table", &writer).kind, Kind::Forbidden);
  EXPECT_EQ(rules.judge("tools/call", "drop_table", &writer).rule->name, "routes[0].rules[0]");
  EXPECT_EQ(rules.judge("tools/call", "insert_row", &writer).kind, Kind::Allow);
  EXPECT_EQ(rules.judge("tools/call", "insert_row", &writer).rule->name, "routes[0].rules[1]");
}

TEST(CallRules, UnmatchedRequestNeedsNothingMoreThanTheRoute) {
  CallRules rules({rule("tools/call", "write_*", {"mcp:write"})}, "routes[0]");
  const Principal reader = with_scopes({});
  const CallVerdict v = rules.judge("tools/list", std::nullopt, &reader);
  EXPECT_EQ(v.kind, Kind::Allow);
  EXPECT_EQ(v.rule, nullptr);
}

TEST(CallRules, RuleWithATargetNeverMatchesAMessageThatNamesNothing) {
  CallRules rules({rule("*", "secret_*", {"mcp:admin"})}, "r");
  const Principal reader = with_scopes({});
  EXPECT_EQ(rules.judge("tools/list", std::nullopt, &reader).kind, Kind::Allow);
  EXPECT_EQ(rules.judge("prompts/get", "secret_prompt", &reader).kind, Kind::NeedsScope);
}

TEST(CallRules, MissingScopesAreListedForTheStepUp) {
  CallRuleConfig r = rule("tools/call", "*", {"mcp:write", "mcp:files"});
  r.any_scopes = {"team:a", "team:b"};
  CallRules rules({r}, "r");
  const Principal some = with_scopes({"mcp:files"});
  const CallVerdict v = rules.judge("tools/call", "upload", &some);
  EXPECT_EQ(v.kind, Kind::NeedsScope);
  EXPECT_EQ(v.missing, (std::vector<std::string>{"mcp:write", "team:a"}));
  const Principal all = with_scopes({"mcp:files", "mcp:write", "team:b"});
  EXPECT_EQ(rules.judge("tools/call", "upload", &all).kind, Kind::Allow);
}

TEST(CallRules, OrganizationConditionRefusesWithoutStepUp) {
  CallRuleConfig r = rule("tools/call", "delete_workspace", {"mcp:admin"});
  r.organizations = {"org-acme"};
  CallRules rules({r}, "r");
  Principal outsider = with_scopes({"mcp:admin"});
  EXPECT_EQ(rules.judge("tools/call", "delete_workspace", &outsider).kind, Kind::Forbidden);  // no org at all
  outsider.organization = Organization{"org-other", "other"};
  EXPECT_EQ(rules.judge("tools/call", "delete_workspace", &outsider).kind, Kind::Forbidden);
  Principal member = with_scopes({});
  member.organization = Organization{"org-acme", "acme"};
  EXPECT_EQ(rules.judge("tools/call", "delete_workspace", &member).kind, Kind::NeedsScope);
  member.scopes = {"mcp:admin"};
  EXPECT_EQ(rules.judge("tools/call", "delete_workspace", &member).kind, Kind::Allow);
}

TEST(CallRules, ClaimConditionMatchesStringsArraysAndScalarsOnly) {
  CallRuleConfig r = rule("*", "", {});
  r.claims = {{"role", "admin"}, {"email_verified", "true"}};
  CallRules rules({r}, "r");
  Principal p = with_scopes({});
  p.claims = {{"role", "admin"}, {"email_verified", true}};
  EXPECT_EQ(rules.judge("tools/call", "x", &p).kind, Kind::Allow);
  p.claims = {{"role", {"viewer", "admin"}}, {"email_verified", true}};
  EXPECT_EQ(rules.judge("tools/call", "x", &p).kind, Kind::Allow);
  p.claims = {{"role", "administrator"}, {"email_verified", true}};
  EXPECT_EQ(rules.judge("tools/call", "x", &p).kind, Kind::Forbidden);
  p.claims = {{"role", {{"name", "admin"}}}, {"email_verified", true}};  // an object is never a match
  EXPECT_EQ(rules.judge("tools/call", "x", &p).kind, Kind::Forbidden);
  p.claims = {{"role", "admin"}};  // a missing claim is not met
  EXPECT_EQ(rules.judge("tools/call", "x", &p).kind, Kind::Forbidden);
}

TEST(CallRules, DenyRefusesEvenAPrincipalHoldingEveryScope) {
  CallRuleConfig r = rule("tools/call", "run_sql", {});
  r.deny = true;
  CallRules rules({r}, "r");
  const Principal root = with_scopes({"mcp:read", "mcp:write", "mcp:admin"});
  EXPECT_EQ(rules.judge("tools/call", "run_sql", &root).kind, Kind::Forbidden);
  EXPECT_EQ(rules.judge("tools/call", "run_sqlx", &root).kind, Kind::Allow);
}

TEST(CallRules, WithoutAPrincipalAnyRuleThatAsksSomethingRefuses) {
  CallRules rules({rule("tools/call", "*", {"mcp:write"})}, "r");
  EXPECT_EQ(rules.judge("tools/call", "x", nullptr).kind, Kind::Forbidden);
  EXPECT_EQ(rules.judge("tools/list", std::nullopt, nullptr).kind, Kind::Allow);
}

TEST(CallRules, ConfiguredNameIsTheRulesName) {
  CallRuleConfig r = rule("tools/call", "*", {});
  r.name = "write-tools";
  CallRules rules({r}, "routes[3]");
  EXPECT_EQ(rules.rules().front().name, "write-tools");
}

}  // namespace
}  // namespace mcpgate::auth
