#include "http/request_target.hpp"

#include <gtest/gtest.h>

namespace mcpgate::http {
namespace {

TEST(RequestTarget, DotSegmentsAreRemovedSoRulesSeeTheUpstreamsPath) {
  EXPECT_EQ(parse_request_target("/public/../mcp").path, "/mcp");
  EXPECT_EQ(parse_request_target("/a/./b/../../mcp/x").path, "/mcp/x");
  EXPECT_EQ(parse_request_target("/../../mcp").path, "/mcp");
  EXPECT_EQ(parse_request_target("/%2e%2e/mcp").path, "/mcp");  // encoded dots are dots after decoding
}

TEST(RequestTarget, RepeatedSlashesMergeAndTrailingSlashStays) {
  EXPECT_EQ(parse_request_target("//mcp///x").path, "/mcp/x");
  EXPECT_EQ(parse_request_target("/mcp/").path, "/mcp/");
  EXPECT_EQ(parse_request_target("/").path, "/");
}

TEST(RequestTarget, QueryAccessTokenIsDetectedEvenWhenEncoded) {
  EXPECT_TRUE(parse_request_target("/mcp?access_token=x").query_has_access_token);
  EXPECT_TRUE(parse_request_target("/mcp?a=1&access%5Ftoken=x").query_has_access_token);
  EXPECT_TRUE(parse_request_target("/mcp?access_token").query_has_access_token);
  EXPECT_FALSE(parse_request_target("/mcp?my_access_token=x").query_has_access_token);
  EXPECT_EQ(parse_request_target("/mcp?x=1").path, "/mcp");
}

TEST(RequestTarget, UndecodableOrSlashSmugglingTargetsAreRefused) {
  EXPECT_FALSE(parse_request_target("/mcp%2Fadmin").ok);
  EXPECT_FALSE(parse_request_target("/mcp%00").ok);
  EXPECT_FALSE(parse_request_target("/mcp%zz").ok);
  EXPECT_FALSE(parse_request_target("/mcp%4").ok);
  EXPECT_FALSE(parse_request_target("mcp").ok);
  EXPECT_TRUE(parse_request_target("/m%63p").ok);
  EXPECT_EQ(parse_request_target("/m%63p").path, "/mcp");
}

}  // namespace
}  // namespace mcpgate::http
