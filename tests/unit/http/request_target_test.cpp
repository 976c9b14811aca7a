// The one decoding of a request target: what is judged is what the upstream routes on, or it is refused.
#include "http/request_target.hpp"

#include <gtest/gtest.h>

namespace mcpgate::http {
namespace {

bool refused(std::string_view target, TargetEncoding e = TargetEncoding::Raw) {
  return !parse_request_target(target, e).ok;
}

TEST(RequestTarget, PathIsPercentDecodedExactlyOnce) {
  EXPECT_EQ(parse_request_target("/m%63p").path, "/mcp");
  EXPECT_EQ(parse_request_target("/mcp/caf%C3%A9").path, "/mcp/caf\xC3\xA9");
  EXPECT_EQ(parse_request_target("/mcp/").path, "/mcp/");
  EXPECT_EQ(parse_request_target("/").path, "/");
  EXPECT_EQ(parse_request_target("/mcp?x=%2F..%2F").path, "/mcp");  // the query is not part of the path
}

TEST(RequestTarget, DoubleEncodingIsRefusedNotDecodedTwice) {
  EXPECT_TRUE(refused("/mcp/%252e%252e/health"));
  EXPECT_TRUE(refused("/%2568ealth"));
  EXPECT_TRUE(refused("/mcp%25"));
}

TEST(RequestTarget, DotSegmentsRawOrEncodedAreRefused) {
  EXPECT_TRUE(refused("/public/../mcp"));
  EXPECT_TRUE(refused("/a/./mcp"));
  EXPECT_TRUE(refused("/mcp/.."));
  EXPECT_TRUE(refused("/%2e%2e/mcp"));
  EXPECT_TRUE(refused("/mcp/%2E"));
  EXPECT_FALSE(refused("/mcp/.well"));  // a dot inside a segment is a plain byte
  EXPECT_FALSE(refused("/mcp/a..b"));
}

TEST(RequestTarget, EncodedSlashesBackslashesAndPathParametersAreRefused) {
  EXPECT_TRUE(refused("/mcp%2f..%2fhealth"));
  EXPECT_TRUE(refused("/mcp%2Fadmin"));
  EXPECT_TRUE(refused("/mcp%5Cadmin"));
  EXPECT_TRUE(refused("/mcp\\admin"));
  EXPECT_TRUE(refused("/health/..;/admin"));
  EXPECT_TRUE(refused("/health;x=1"));
  EXPECT_TRUE(refused("/health%3Bx"));
  EXPECT_TRUE(refused("/health%3F/x"));  // an encoded '?' would end the path for a second decoder
  EXPECT_TRUE(refused("/health%23x"));
}

TEST(RequestTarget, EmptySegmentsAreRefusedButATrailingSlashStands) {
  EXPECT_TRUE(refused("//mcp"));
  EXPECT_TRUE(refused("/mcp//x"));
  EXPECT_FALSE(refused("/mcp/x/"));
}

TEST(RequestTarget, ControlBytesAndUnencodedBytesAreRefused) {
  EXPECT_TRUE(refused(std::string_view("/mcp\r", 5)));
  EXPECT_TRUE(refused(std::string_view("/mcp\0", 5)));
  EXPECT_TRUE(refused("/mcp%00"));
  EXPECT_TRUE(refused("/mcp%0d%0a"));
  EXPECT_TRUE(refused("/mcp x"));
  EXPECT_TRUE(refused("/mcp\x7f"));
  EXPECT_TRUE(refused("/caf\xC3\xA9"));  // raw bytes outside RFC 3986 must have been encoded
  EXPECT_TRUE(refused("/mcp?a=\r"));
  EXPECT_TRUE(refused("/mcp#frag"));
}

TEST(RequestTarget, MalformedEscapesAreRefused) {
  EXPECT_TRUE(refused("/mcp%zz"));
  EXPECT_TRUE(refused("/mcp%4"));
  EXPECT_TRUE(refused("/mcp%"));
  EXPECT_TRUE(refused("/%u0068ealth"));  // cpp-httplib decodes %uXXXX; nothing else does
  EXPECT_TRUE(refused("mcp"));
  EXPECT_TRUE(refused("*"));
  EXPECT_TRUE(refused("http://host/mcp"));
}

TEST(RequestTarget, AValueTheTransportDecodedIsNeverDecodedAgain) {
  constexpr auto decoded = TargetEncoding::DecodedByTransport;
  EXPECT_EQ(parse_request_target("/mcp/x", decoded).path, "/mcp/x");
  // cpp-httplib turned %252e into %2e: a second decode would make it "..".
  EXPECT_TRUE(refused("/mcp/%2e%2e/health", decoded));
  EXPECT_TRUE(refused("/%68ealth", decoded));
  EXPECT_TRUE(refused("/mcp/../health", decoded));                                // from /mcp%2f..%2fhealth
  EXPECT_EQ(parse_request_target("/caf\xC3\xA9", decoded).path, "/caf\xC3\xA9");  // from %C3%A9
}

TEST(RequestTarget, QueryAccessTokenIsDetectedEvenWhenEncoded) {
  EXPECT_TRUE(parse_request_target("/mcp?access_token=x").query_has_access_token);
  EXPECT_TRUE(parse_request_target("/mcp?a=1&access%5Ftoken=x").query_has_access_token);
  EXPECT_TRUE(parse_request_target("/mcp?access_token").query_has_access_token);
  EXPECT_FALSE(parse_request_target("/mcp?my_access_token=x").query_has_access_token);
}

}  // namespace
}  // namespace mcpgate::http
