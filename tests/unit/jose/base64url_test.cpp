// Strict base64url (RFC 4648 §5 as RFC 7515 §2 uses it).
#include "jose/base64url.hpp"

#include <gtest/gtest.h>

using mcpgate::jose::base64url_decode;
using mcpgate::jose::base64url_encode;

TEST(Base64Url, DecodesUnpaddedTextOfEveryTailLength) {
  EXPECT_EQ(base64url_decode(""), std::string());
  EXPECT_EQ(base64url_decode("Zg"), std::string("f"));
  EXPECT_EQ(base64url_decode("Zm8"), std::string("fo"));
  EXPECT_EQ(base64url_decode("Zm9v"), std::string("foo"));
  EXPECT_EQ(base64url_decode("Zm9vYg"), std::string("foob"));
  EXPECT_EQ(base64url_decode("eyJhbGciOiJSUzI1NiJ9"), std::string(R"({"alg":"RS256"})"));
}

TEST(Base64Url, DecodesTheUrlSafeAlphabetCharacters) {
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64url_encode(std::string("\xfb\xff")), "-_8");
}

TEST(Base64Url, EncodesWithoutPaddingAndRoundTripsAllByteValues) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); len += 17) {
    std::string bytes = all.substr(0, len);
    std::string text = base64url_encode(bytes);
    EXPECT_EQ(text.find('='), std::string::npos);
    EXPECT_EQ(base64url_decode(text), bytes);
  }
}

TEST(Base64Url, RefusesPadding) {
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("Zm8="));
}

TEST(Base64Url, RefusesWhitespace) {
  EXPECT_FALSE(base64url_decode("Zm9v Yg"));
  EXPECT_FALSE(base64url_decode("Zm9v\nYg"));
  EXPECT_FALSE(base64url_decode(" Zm9v"));
  EXPECT_FALSE(base64url_decode("Zm9v\t"));
}

TEST(Base64Url, RefusesStandardAlphabetPlusAndSlash) {
  EXPECT_TRUE(base64url_decode("-_8"));   // the url-safe spelling is fine...
  EXPECT_FALSE(base64url_decode("+/8"));  // ...the standard one is not
  EXPECT_FALSE(base64url_decode("ab+c"));
  EXPECT_FALSE(base64url_decode("ab/c"));
}

TEST(Base64Url, RefusesLengthOneModuloFour) {
  EXPECT_FALSE(base64url_decode("A"));
  EXPECT_FALSE(base64url_decode("Zm9vY"));
}

TEST(Base64Url, RefusesNonCanonicalTrailingBits) {
  // "Zg" is "f"; "Zh" decodes to the same byte with non-zero unused bits.
  EXPECT_TRUE(base64url_decode("Zg"));
  EXPECT_FALSE(base64url_decode("Zh"));
  EXPECT_FALSE(base64url_decode("Zm9"));  // "Zm8" is canonical for "fo"
  EXPECT_TRUE(base64url_decode("Zm8"));
}

TEST(Base64Url, RefusesNulAndHighBytes) {
  EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4)));
  EXPECT_FALSE(base64url_decode("Zm\xc3\xa9v"));
}
