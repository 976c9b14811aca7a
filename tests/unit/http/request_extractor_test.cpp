#include "http/request_extractor.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace mcpgate::http {
namespace {

Result<std::string_view> extract(std::vector<HeaderField> headers, bool query_token = false) {
  return extract_bearer(headers, query_token);
}

TEST(RequestExtractor, TakesTheTokenFromABearerAuthorizationHeader) {
  auto e = extract({{"Authorization", "Bearer abc.def-ghi_jkl~+/=="}});
  EXPECT_EQ(e.reason, Reason::Ok);
  EXPECT_EQ(*e, "abc.def-ghi_jkl~+/==");
}

TEST(RequestExtractor, MatchesTheSchemeAndHeaderNameCaseInsensitively) {
  auto e = extract({{"authorization", "bEaReR   tok"}});
  EXPECT_EQ(e.reason, Reason::Ok);
  EXPECT_EQ(*e, "tok");
}

TEST(RequestExtractor, NoAuthorizationHeaderIsMissingCredentials) {
  EXPECT_EQ(extract({{"Accept", "application/json"}}).reason, Reason::MissingCredentials);
}

TEST(RequestExtractor, QueryAccessTokenIsRefusedEvenWithAHeader) {
  EXPECT_EQ(extract({}, true).reason, Reason::TokenInQuery);
  EXPECT_EQ(extract({{"Authorization", "Bearer tok"}}, true).reason, Reason::TokenInQuery);
}

TEST(RequestExtractor, TwoAuthorizationHeadersAreInvalidRequest) {
  auto e = extract({{"Authorization", "Bearer a"}, {"AUTHORIZATION", "Bearer a"}});
  EXPECT_EQ(e.reason, Reason::DuplicateAuthorization);
  EXPECT_EQ(http_status(e.reason), 400);
  EXPECT_EQ(oauth_error(e.reason), "invalid_request");
}

TEST(RequestExtractor, TwoCredentialsInOneHeaderAreInvalidRequest) {
  EXPECT_EQ(extract({{"Authorization", "Bearer a, Bearer b"}}).reason, Reason::DuplicateAuthorization);
}

TEST(RequestExtractor, AnotherSchemeWithATokenIsUnsupportedScheme) {
  auto e = extract({{"Authorization", "Basic dXNlcjpwYXNz"}});
  EXPECT_EQ(e.reason, Reason::UnsupportedScheme);
  EXPECT_EQ(oauth_error(e.reason), "invalid_request");
}

TEST(RequestExtractor, BareTokenWithoutSchemeIsMalformed) {
  EXPECT_EQ(extract({{"Authorization", "eyJhbGciOiJSUzI1NiJ9.e30.sig"}}).reason,
            Reason::MalformedAuthorization);
}

TEST(RequestExtractor, BearerWithoutTokenIsMalformed) {
  EXPECT_EQ(extract({{"Authorization", "Bearer"}}).reason, Reason::MalformedAuthorization);
  EXPECT_EQ(extract({{"Authorization", "Bearer    "}}).reason, Reason::MalformedAuthorization);
  EXPECT_EQ(extract({{"Authorization", ""}}).reason, Reason::MalformedAuthorization);
}

TEST(RequestExtractor, TokenOutsideB64TokenSyntaxIsMalformed) {
  EXPECT_EQ(extract({{"Authorization", "Bearer a b"}}).reason, Reason::MalformedAuthorization);
  EXPECT_EQ(extract({{"Authorization", "Bearer a=b"}}).reason, Reason::MalformedAuthorization);
  EXPECT_EQ(extract({{"Authorization", "Bearer \"quoted\""}}).reason, Reason::MalformedAuthorization);
  EXPECT_EQ(extract({{"Authorization", "Bearer:tok"}}).reason, Reason::MalformedAuthorization);
}

TEST(RequestExtractor, CarriageReturnLineFeedOrNulInAuthorizationIsRefused) {
  EXPECT_EQ(extract({{"Authorization", "Bearer a\r\nX-Evil: 1"}}).reason, Reason::InvalidHeaderValue);
  EXPECT_EQ(extract({{"Authorization", std::string_view("Bearer a\0b", 10)}}).reason,
            Reason::InvalidHeaderValue);
  EXPECT_EQ(extract({{"Authorization", "Bearer a\nb"}}).reason, Reason::InvalidHeaderValue);
}

TEST(RequestExtractor, ForbiddenOctetDetection) {
  EXPECT_TRUE(has_forbidden_octet("a\rb"));
  EXPECT_TRUE(has_forbidden_octet(std::string_view("\0", 1)));
  EXPECT_FALSE(has_forbidden_octet("plain value\twith tab"));
}

}  // namespace
}  // namespace mcpgate::http
