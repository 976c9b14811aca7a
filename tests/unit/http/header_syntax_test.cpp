// A header block is judged only when the upstream reads it the same way (RFC 9112 §5, RFC 9110 §5.6.2).
#include "http/header_syntax.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace mcpgate::http {
namespace {

Reason check(std::vector<HeaderField> fields, std::vector<std::string> singletons = {}) {
  return check_header_syntax(fields, singletons);
}

TEST(HeaderSyntax, WhitespaceBeforeTheColonIsRefused) {
  // cpp-httplib keeps "X-Auth-Subject : evil" as the name "X-Auth-Subject ".
  EXPECT_EQ(check({{"X-Auth-Subject ", "evil"}}), Reason::HeaderNameInvalid);
  EXPECT_EQ(check({{"X-Auth-Scopes\t", "admin"}}), Reason::HeaderNameInvalid);
}

TEST(HeaderSyntax, ObsFoldContinuationLinesAreRefused) {
  // " X-Auth-Subject: x" after the request line becomes a name with a leading space.
  EXPECT_EQ(check({{" X-Auth-Subject", "x"}}), Reason::HeaderNameInvalid);
  EXPECT_EQ(check({{"\tX-Auth-Subject", "x"}}), Reason::HeaderNameInvalid);
}

TEST(HeaderSyntax, NamesMustBeTokens) {
  EXPECT_EQ(check({{"X-A(b)", "1"}}), Reason::HeaderNameInvalid);
  EXPECT_EQ(check({{"", "1"}}), Reason::HeaderNameInvalid);
  EXPECT_EQ(check({{"X-\xC3\xA9", "1"}}), Reason::HeaderNameInvalid);
  EXPECT_EQ(check({{"X-Good_Name", "1"}, {"Accept", "*/*"}}), Reason::Ok);
}

TEST(HeaderSyntax, ControlBytesInValuesAreRefusedButTabIsAllowed) {
  EXPECT_EQ(check({{"X-A", "a\rb"}}), Reason::InvalidHeaderValue);
  EXPECT_EQ(check({{"X-A", std::string_view("a\0b", 3)}}), Reason::InvalidHeaderValue);
  EXPECT_EQ(check({{"X-A", "a\x01"}}), Reason::InvalidHeaderValue);
  EXPECT_EQ(check({{"X-A", "a\x7f"}}), Reason::InvalidHeaderValue);
  EXPECT_EQ(check({{"X-A", "a\tb c"}}), Reason::Ok);
}

TEST(HeaderSyntax, UnderscoreSpellingBesideTheDashedOneIsRefused) {
  EXPECT_EQ(check({{"Mcp-Session-Id", "a"}, {"Mcp_Session_Id", "b"}}), Reason::HeaderAmbiguous);
  EXPECT_EQ(check({{"X-Custom", "a"}, {"x_custom", "b"}}), Reason::HeaderAmbiguous);
}

TEST(HeaderSyntax, UnderscoreSpellingOfANameMcpgateReadsIsRefusedAlone) {
  for (const char* name : {"Mcp_Session_Id", "Proxy_Authorization", "Content_Length", "X_Forwarded_For",
                           "X_Original_URI", "Transfer_Encoding", "mcp_protocol_version"})
    EXPECT_NE(check({{name, "x"}}), Reason::Ok) << name;
  EXPECT_EQ(check({{"X_Custom_Thing", "x"}}), Reason::Ok);
}

TEST(HeaderSyntax, HeadersThatMustBeSingleAppearOnce) {
  EXPECT_EQ(check({{"Mcp-Session-Id", "a"}, {"mcp-session-id", "a"}}), Reason::HeaderAmbiguous);
  EXPECT_EQ(check({{"Host", "a"}, {"Host", "b"}}), Reason::HeaderAmbiguous);
  EXPECT_EQ(check({{"X-Original-URI", "/a"}, {"x-original-uri", "/b"}}, {"X-Original-URI"}),
            Reason::HeaderAmbiguous);
  EXPECT_EQ(check({{"Accept", "a"}, {"accept", "b"}}), Reason::Ok);  // a list header may repeat
}

}  // namespace
}  // namespace mcpgate::http
