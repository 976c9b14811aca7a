// Compact JWS decoding and header rules (RFC 7515 §7.1, §4.1; RFC 8725 §3.1, §3.10, §3.11).
#include <gtest/gtest.h>

#include "jose/base64url.hpp"
#include "jose/jws.hpp"

using mcpgate::Reason;
using mcpgate::jose::Algorithm;
using mcpgate::jose::AlgorithmSet;
using mcpgate::jose::base64url_encode;
using mcpgate::jose::decode_compact;
using mcpgate::jose::DecodedJws;
using mcpgate::jose::kMaxTokenBytes;
using nlohmann::json;

namespace {

const std::string kPayload = base64url_encode(R"({"iss":"https://issuer.example","exp":1893456000})");
const std::string kSignature = base64url_encode(std::string(256, '\x5a'));

std::string token_with_header_text(const std::string& header_text) {
  return base64url_encode(header_text) + "." + kPayload + "." + kSignature;
}
std::string token_with_header(const json& header) {
  return token_with_header_text(header.dump());
}
std::string token_with_payload_text(const std::string& payload_text) {
  return base64url_encode(R"({"alg":"RS256"})") + "." + base64url_encode(payload_text) + "." + kSignature;
}

Reason decode(std::string_view token, AlgorithmSet allowed = AlgorithmSet::all()) {
  return decode_compact(token, allowed).reason;
}

}  // namespace

TEST(DecodeCompact, AcceptsAWellFormedTokenAndKeepsTheSigningInputAsReceived) {
  std::string token = token_with_header({{"alg", "RS256"}, {"kid", "k1"}, {"typ", "JWT"}});
  auto decoded = decode_compact(token, AlgorithmSet::all());
  ASSERT_TRUE(decoded.ok()) << decoded.message();
  const DecodedJws& jws = *decoded;
  EXPECT_EQ(jws.alg, Algorithm::RS256);
  EXPECT_TRUE(jws.has_kid);
  EXPECT_EQ(jws.kid, "k1");
  EXPECT_EQ(jws.payload["iss"], "https://issuer.example");
  EXPECT_EQ(jws.signing_input, token.substr(0, token.rfind('.')));
  EXPECT_EQ(jws.signature, std::string(256, '\x5a'));
}

TEST(DecodeCompact, RefusesTokensOver16KiBBeforeDecoding) {
  std::string big(kMaxTokenBytes + 1, '!');  // not even base64url: size is checked first
  EXPECT_EQ(decode(big), Reason::TokenTooLarge);
  std::string padded_payload =
      base64url_encode(std::string(R"({"iss":"x","pad":")") + std::string(11000, 'a') + "\"}");
  std::string token = base64url_encode(R"({"alg":"RS256"})") + "." + padded_payload + "." + kSignature;
  ASSERT_LE(token.size(), kMaxTokenBytes);
  EXPECT_EQ(decode(token), Reason::Ok);
}

TEST(DecodeCompact, RequiresExactlyThreeSegments) {
  EXPECT_EQ(decode("abc"), Reason::MalformedToken);
  EXPECT_EQ(decode("abc.def"), Reason::MalformedToken);
  EXPECT_EQ(decode("a.b.c.d"), Reason::MalformedToken);
  EXPECT_EQ(decode("a.b.c.d.e.f"), Reason::MalformedToken);
  EXPECT_EQ(decode(""), Reason::MalformedToken);
}

TEST(DecodeCompact, RefusesFiveSegmentJwe) {
  EXPECT_EQ(decode("eyJhbGciOiJSU0EtT0FFUCJ9.a.b.c.d"), Reason::JweNotSupported);
}

TEST(DecodeCompact, RefusesAnEmptySignatureSegment) {
  std::string token = token_with_header({{"alg", "RS256"}});
  EXPECT_EQ(decode(token.substr(0, token.rfind('.') + 1)), Reason::MalformedToken);
}

TEST(DecodeCompact, RefusesNonStrictBase64UrlInEverySegment) {
  std::string token = token_with_header({{"alg", "RS256"}});
  std::size_t dot1 = token.find('.'), dot2 = token.rfind('.');
  EXPECT_EQ(decode(token.substr(0, dot1) + "=" + token.substr(dot1)), Reason::InvalidBase64Url);
  EXPECT_EQ(decode(token.substr(0, dot2) + "+" + token.substr(dot2)), Reason::InvalidBase64Url);
  EXPECT_EQ(decode(token + "="), Reason::InvalidBase64Url);
  EXPECT_EQ(decode(token + " "), Reason::InvalidBase64Url);
  EXPECT_EQ(decode(" " + token), Reason::InvalidBase64Url);
}

TEST(DecodeCompact, RefusesHeaderThatIsNotAJsonObject) {
  EXPECT_EQ(decode(token_with_header_text("[1,2]")), Reason::HeaderNotJson);
  EXPECT_EQ(decode(token_with_header_text("{\"alg\":")), Reason::HeaderNotJson);
  EXPECT_EQ(decode(token_with_header_text("")), Reason::HeaderNotJson);
  EXPECT_EQ(decode(token_with_header_text("\"RS256\"")), Reason::HeaderNotJson);
}

TEST(DecodeCompact, RefusesPayloadThatIsNotAJsonObject) {
  EXPECT_EQ(decode(token_with_payload_text("Example of Ed25519 signing")), Reason::PayloadNotJson);
  EXPECT_EQ(decode(token_with_payload_text("[]")), Reason::PayloadNotJson);
  EXPECT_EQ(decode(token_with_payload_text("")), Reason::PayloadNotJson);
  EXPECT_EQ(decode(token_with_payload_text(R"({"iss":"x"} trailing)")), Reason::PayloadNotJson);
}

TEST(DecodeCompact, RefusesDuplicateMemberNamesInHeader) {
  EXPECT_EQ(decode(token_with_header_text(R"({"alg":"RS256","alg":"none"})")), Reason::DuplicateMember);
  // The same name spelled with an escape is still the same name.
  EXPECT_EQ(decode(token_with_header_text(R"({"alg":"RS256","\u0061lg":"RS256"})")), Reason::DuplicateMember);
}

TEST(DecodeCompact, RefusesDuplicateMemberNamesInPayloadAtAnyDepth) {
  EXPECT_EQ(decode(token_with_payload_text(R"({"sub":"a","sub":"b"})")), Reason::DuplicateMember);
  EXPECT_EQ(decode(token_with_payload_text(R"({"o":{"x":1,"x":2}})")), Reason::DuplicateMember);
  EXPECT_EQ(decode(token_with_payload_text(R"({"a":[{"x":1},{"y":{"z":1,"z":1}}]})")),
            Reason::DuplicateMember);
}

TEST(DecodeCompact, AcceptsTheSameMemberNameInDifferentObjects) {
  EXPECT_EQ(decode(token_with_payload_text(R"({"x":{"x":{"x":1}},"y":[{"x":1},{"x":2}]})")), Reason::Ok);
}

TEST(DecodeCompact, RequiresAlgAsAString) {
  EXPECT_EQ(decode(token_with_header({{"kid", "k"}})), Reason::AlgorithmMissing);
  EXPECT_EQ(decode(token_with_header({{"alg", 256}})), Reason::HeaderMemberInvalid);
  EXPECT_EQ(decode(token_with_header({{"alg", json::array({"RS256"})}})), Reason::HeaderMemberInvalid);
}

TEST(DecodeCompact, RefusesAlgNone) {
  EXPECT_EQ(decode(token_with_header({{"alg", "none"}})), Reason::AlgorithmNone);
  EXPECT_EQ(decode(token_with_header({{"alg", "NONE"}})), Reason::AlgorithmNone);
}

TEST(DecodeCompact, RefusesHmacAlgorithmsBecauseKeysArePublic) {
  for (const char* alg : {"HS256", "HS384", "HS512"})
    EXPECT_EQ(decode(token_with_header({{"alg", alg}})), Reason::AlgorithmHmac) << alg;
}

TEST(DecodeCompact, RefusesUnknownAlgorithms) {
  for (const char* alg : {"ES512", "RS1", "rs256", "Ed25519", ""})
    EXPECT_EQ(decode(token_with_header({{"alg", alg}})), Reason::AlgorithmUnknown) << alg;
}

TEST(DecodeCompact, RefusesAlgorithmsOutsideTheAllowList) {
  std::string token = token_with_header({{"alg", "PS256"}});
  auto refused = decode_compact(token, AlgorithmSet::of(Algorithm::RS256));
  EXPECT_EQ(refused.reason, Reason::AlgorithmNotAllowed);
  EXPECT_EQ(refused.detail, "alg PS256 not in allow-list RS256");
  EXPECT_EQ(decode(token, AlgorithmSet::of(Algorithm::PS256)), Reason::Ok);
}

TEST(DecodeCompact, AcceptsAccessTokenTypesCaseInsensitively) {
  for (const char* typ : {"JWT", "jwt", "Jwt", "at+jwt", "AT+JWT", "application/at+jwt", "Application/At+JWT",
                          "application/jwt"})
    EXPECT_EQ(decode(token_with_header({{"alg", "RS256"}, {"typ", typ}})), Reason::Ok) << typ;
  EXPECT_EQ(decode(token_with_header({{"alg", "RS256"}})), Reason::Ok);
}

TEST(DecodeCompact, RefusesOtherExplicitTypes) {
  for (const char* typ :
       {"dpop+jwt", "application/dpop+jwt", "JOSE", "logout+jwt", "", "jwt ", "application/"})
    EXPECT_EQ(decode(token_with_header({{"alg", "RS256"}, {"typ", typ}})), Reason::TypeRefused) << typ;
  EXPECT_EQ(decode(token_with_header({{"alg", "RS256"}, {"typ", 1}})), Reason::HeaderMemberInvalid);
}

TEST(DecodeCompact, RefusesAnyCritHeader) {
  EXPECT_EQ(decode(token_with_header({{"alg", "RS256"}, {"crit", {"exp"}}, {"exp", 1}})),
            Reason::CritUnsupported);
  EXPECT_EQ(decode(token_with_header({{"alg", "RS256"}, {"crit", json::array()}})), Reason::CritUnsupported);
  EXPECT_EQ(decode(token_with_header({{"alg", "RS256"}, {"b64", false}, {"crit", {"b64"}}})),
            Reason::CritUnsupported);
}

TEST(DecodeCompact, RequiresKidAsAString) {
  EXPECT_EQ(decode(token_with_header({{"alg", "RS256"}, {"kid", 7}})), Reason::HeaderMemberInvalid);
  EXPECT_EQ(decode(token_with_header({{"alg", "RS256"}, {"kid", nullptr}})), Reason::HeaderMemberInvalid);
  auto jws = decode_compact(token_with_header({{"alg", "RS256"}}), AlgorithmSet::all());
  ASSERT_TRUE(jws.ok());
  EXPECT_FALSE(jws->has_kid);
}

TEST(DecodeCompact, IgnoresKeyCarryingHeaderMembers) {
  json header = {{"alg", "RS256"},
                 {"jku", "https://attacker.example/jwks.json"},
                 {"x5u", "https://attacker.example/cert.pem"},
                 {"jwk", {{"kty", "RSA"}, {"n", "AQAB"}, {"e", "AQAB"}}},
                 {"x5c", {"MIIB"}}};
  auto jws = decode_compact(token_with_header(header), AlgorithmSet::all());
  ASSERT_TRUE(jws.ok());
  EXPECT_FALSE(jws->has_kid);
}

TEST(ParseJsonObjectStrict, ReportsDuplicatesAndRefusesNonObjects) {
  using mcpgate::jose::parse_json_object_strict;
  using mcpgate::jose::StrictJson;
  json out;
  EXPECT_EQ(parse_json_object_strict(R"({"a":{"b":[1,{"c":2}]}})", out), StrictJson::Ok);
  EXPECT_EQ(parse_json_object_strict(R"({"a":1,"b":{"c":1,"c":1}})", out), StrictJson::DuplicateName);
  EXPECT_EQ(parse_json_object_strict("[]", out), StrictJson::NotJson);
  EXPECT_EQ(parse_json_object_strict("{\"a\":\"\xff\"}", out), StrictJson::NotJson);
}
