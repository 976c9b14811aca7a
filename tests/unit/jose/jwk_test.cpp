// JWK → public key rules (RFC 7517 §4, RFC 7518 §6, RFC 8037 §2, RFC 8725 §3.1/3.5).
#include "jose/jwk.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>

#include "jose/base64url.hpp"
#include "jose/test_signer.hpp"

using mcpgate::Reason;
using mcpgate::jose::Algorithm;
using mcpgate::jose::base64url_decode;
using mcpgate::jose::base64url_encode;
using mcpgate::jose::JwkSet;
using mcpgate::jose::KeyType;
using mcpgate::jose::testing::jwks_json;
using mcpgate::jose::testing::KeyKind;
using mcpgate::jose::testing::TestKey;
using nlohmann::json;

namespace {

const TestKey& key(KeyKind kind) {
  return TestKey::shared(kind);
}

// Parses a one-key set and returns the skip reason (Ok when the key was kept).
Reason single_key_reason(const json& jwk) {
  JwkSet set = JwkSet::parse(jwks_json({jwk}));
  EXPECT_TRUE(set.ok());
  if (!set.keys().empty()) return Reason::Ok;
  EXPECT_EQ(set.skipped().size(), 1u);
  return set.skipped().empty() ? Reason::Ok : set.skipped()[0].reason;
}

}  // namespace

TEST(JwkSet, LoadsRsaKeysOf2048And3072Bits) {
  JwkSet set = JwkSet::parse(
      jwks_json({key(KeyKind::Rsa2048).public_jwk("a"), key(KeyKind::Rsa3072).public_jwk("b")}));
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set.keys().size(), 2u);
  EXPECT_EQ(set.keys()[0].type, KeyType::RSA);
  EXPECT_EQ(set.keys()[0].bits, 2048);
  EXPECT_EQ(set.keys()[1].bits, 3072);
  EXPECT_NE(set.keys()[0].pkey, nullptr);
  EXPECT_TRUE(set.skipped().empty());
}

TEST(JwkSet, RefusesRsaKeysBelow2048Bits) {
  EXPECT_EQ(single_key_reason(key(KeyKind::Rsa1024).public_jwk("small")), Reason::KeyRsaTooSmall);
}

TEST(JwkSet, AcceptsRsaModulusWithLeadingZeroByte) {
  json jwk = key(KeyKind::Rsa2048).public_jwk("z");
  jwk["n"] = base64url_encode(std::string(1, '\0') + *base64url_decode(jwk["n"].get<std::string>()));
  JwkSet set = JwkSet::parse(jwks_json({jwk}));
  ASSERT_EQ(set.keys().size(), 1u);
  EXPECT_EQ(set.keys()[0].bits, 2048);
}

TEST(JwkSet, RefusesRsaKeyWithMissingOrNonBase64UrlMembers) {
  json jwk = key(KeyKind::Rsa2048).public_jwk("k");
  json no_e = jwk;
  no_e.erase("e");
  EXPECT_EQ(single_key_reason(no_e), Reason::KeyMemberInvalid);
  json padded = jwk;
  padded["e"] = "AQAB==";
  EXPECT_EQ(single_key_reason(padded), Reason::KeyMemberInvalid);
  json numeric = jwk;
  numeric["n"] = 12345;
  EXPECT_EQ(single_key_reason(numeric), Reason::KeyMemberInvalid);
  json even_e = jwk;
  even_e["e"] = base64url_encode(std::string("\x01\x00\x00", 3));
  EXPECT_EQ(single_key_reason(even_e), Reason::KeyMemberInvalid);
}

TEST(JwkSet, LoadsEcP256AndP384Keys) {
  JwkSet set = JwkSet::parse(
      jwks_json({key(KeyKind::P256).public_jwk("p256"), key(KeyKind::P384).public_jwk("p384")}));
  ASSERT_EQ(set.keys().size(), 2u);
  EXPECT_EQ(set.keys()[0].type, KeyType::EC_P256);
  EXPECT_EQ(set.keys()[1].type, KeyType::EC_P384);
}

TEST(JwkSet, RefusesEcPointNotOnTheCurve) {
  json jwk = key(KeyKind::P256).public_jwk("off");
  std::string y = *base64url_decode(jwk["y"].get<std::string>());
  y.back() = static_cast<char>(y.back() ^ 1);
  jwk["y"] = base64url_encode(y);
  EXPECT_EQ(single_key_reason(jwk), Reason::KeyPointInvalid);
}

TEST(JwkSet, RefusesEcCoordinatesOfWrongLength) {
  json jwk = key(KeyKind::P256).public_jwk("short");
  std::string x = *base64url_decode(jwk["x"].get<std::string>());
  jwk["x"] = base64url_encode(x.substr(1));
  EXPECT_EQ(single_key_reason(jwk), Reason::KeyPointInvalid);
  json p384_with_p256_size = key(KeyKind::P256).public_jwk("mismatch");
  p384_with_p256_size["crv"] = "P-384";
  EXPECT_EQ(single_key_reason(p384_with_p256_size), Reason::KeyPointInvalid);
}

TEST(JwkSet, RefusesTheEcPointAtOriginAsNotOnTheCurve) {
  json jwk = {{"kty", "EC"},
              {"crv", "P-256"},
              {"x", base64url_encode(std::string(32, '\0'))},
              {"y", base64url_encode(std::string(32, '\0'))}};
  EXPECT_EQ(single_key_reason(jwk), Reason::KeyPointInvalid);
}

TEST(JwkSet, RefusesUnsupportedCurves) {
  json jwk = key(KeyKind::P256).public_jwk("c");
  jwk["crv"] = "P-521";
  EXPECT_EQ(single_key_reason(jwk), Reason::KeyCurveUnsupported);
  json x25519 = key(KeyKind::Ed25519).public_jwk("x");
  x25519["crv"] = "X25519";
  EXPECT_EQ(single_key_reason(x25519), Reason::KeyCurveUnsupported);
}

TEST(JwkSet, LoadsEd25519Keys) {
  JwkSet set = JwkSet::parse(jwks_json({key(KeyKind::Ed25519).public_jwk("ed")}));
  ASSERT_EQ(set.keys().size(), 1u);
  EXPECT_EQ(set.keys()[0].type, KeyType::Ed25519);
}

TEST(JwkSet, RefusesEd25519KeyOfWrongLength) {
  json jwk = key(KeyKind::Ed25519).public_jwk("ed");
  jwk["x"] = base64url_encode(std::string(31, 'a'));
  EXPECT_EQ(single_key_reason(jwk), Reason::KeyPointInvalid);
}

TEST(JwkSet, RefusesUnsupportedKeyTypesIncludingSymmetric) {
  EXPECT_EQ(single_key_reason({{"kty", "oct"}, {"k", "c2VjcmV0"}}), Reason::KeyTypeUnsupported);
  EXPECT_EQ(single_key_reason({{"kty", "DSA"}}), Reason::KeyTypeUnsupported);
  EXPECT_EQ(single_key_reason({{"n", "AQAB"}}), Reason::KeyMemberInvalid);
}

TEST(JwkSet, HonoursUseSigOnly) {
  json sig = key(KeyKind::P256).public_jwk("s");
  sig["use"] = "sig";
  EXPECT_EQ(single_key_reason(sig), Reason::Ok);
  json enc = sig;
  enc["use"] = "enc";
  EXPECT_EQ(single_key_reason(enc), Reason::KeyUseNotSig);
}

TEST(JwkSet, HonoursKeyOpsContainingVerify) {
  json jwk = key(KeyKind::P256).public_jwk("o");
  jwk["key_ops"] = {"verify"};
  EXPECT_EQ(single_key_reason(jwk), Reason::Ok);
  jwk["key_ops"] = {"encrypt", "wrapKey"};
  EXPECT_EQ(single_key_reason(jwk), Reason::KeyOpsNoVerify);
  jwk["key_ops"] = json::array();
  EXPECT_EQ(single_key_reason(jwk), Reason::KeyOpsNoVerify);
}

TEST(JwkSet, HonoursKeyAlgWhenItFitsTheKeyFamily) {
  json jwk = key(KeyKind::Rsa2048).public_jwk("r");
  jwk["alg"] = "PS256";
  JwkSet set = JwkSet::parse(jwks_json({jwk}));
  ASSERT_EQ(set.keys().size(), 1u);
  EXPECT_TRUE(set.keys()[0].allows(Algorithm::PS256));
  EXPECT_FALSE(set.keys()[0].allows(Algorithm::RS256));
}

TEST(JwkSet, RefusesKeyAlgThatIsUnknownSymmetricOrOfAnotherFamily) {
  json rsa = key(KeyKind::Rsa2048).public_jwk("r");
  for (const char* alg : {"HS256", "none", "ES256", "EdDSA", "RSA-OAEP", "XX1"}) {
    rsa["alg"] = alg;
    EXPECT_EQ(single_key_reason(rsa), Reason::KeyAlgorithmUnusable) << alg;
  }
  json p256 = key(KeyKind::P256).public_jwk("p");
  p256["alg"] = "ES384";
  EXPECT_EQ(single_key_reason(p256), Reason::KeyAlgorithmUnusable);
  json ed = key(KeyKind::Ed25519).public_jwk("e");
  ed["alg"] = "ES256";
  EXPECT_EQ(single_key_reason(ed), Reason::KeyAlgorithmUnusable);
}

TEST(Jwk, FamilyDecidesTheAllowedAlgorithms) {
  JwkSet set = JwkSet::parse(
      jwks_json({key(KeyKind::Rsa2048).public_jwk("rsa"), key(KeyKind::P256).public_jwk("p256"),
                 key(KeyKind::P384).public_jwk("p384"), key(KeyKind::Ed25519).public_jwk("ed")}));
  ASSERT_EQ(set.keys().size(), 4u);
  const auto& rsa = *set.find("rsa");
  for (auto a : {Algorithm::RS256, Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384,
                 Algorithm::PS512})
    EXPECT_TRUE(rsa.allows(a));
  EXPECT_FALSE(rsa.allows(Algorithm::ES256));
  EXPECT_FALSE(rsa.allows(Algorithm::EdDSA));
  EXPECT_TRUE(set.find("p256")->allows(Algorithm::ES256));
  EXPECT_FALSE(set.find("p256")->allows(Algorithm::ES384));
  EXPECT_FALSE(set.find("p256")->allows(Algorithm::RS256));
  EXPECT_TRUE(set.find("p384")->allows(Algorithm::ES384));
  EXPECT_FALSE(set.find("p384")->allows(Algorithm::ES256));
  EXPECT_TRUE(set.find("ed")->allows(Algorithm::EdDSA));
  EXPECT_FALSE(set.find("ed")->allows(Algorithm::ES256));
}

TEST(JwkSet, KeepsUsableKeysWhenOneKeyIsUnusable) {
  json bad = key(KeyKind::P256).public_jwk("bad");
  bad["use"] = "enc";
  JwkSet set = JwkSet::parse(jwks_json({key(KeyKind::Rsa2048).public_jwk("good1"), bad, json("not an object"),
                                        key(KeyKind::Ed25519).public_jwk("good2")}));
  ASSERT_TRUE(set.ok());
  ASSERT_EQ(set.keys().size(), 2u);
  EXPECT_NE(set.find("good1"), nullptr);
  EXPECT_NE(set.find("good2"), nullptr);
  EXPECT_EQ(set.find("bad"), nullptr);
  ASSERT_EQ(set.skipped().size(), 2u);
  EXPECT_EQ(set.skipped()[0].index, 1u);
  EXPECT_EQ(set.skipped()[0].kid, "bad");
  EXPECT_EQ(set.skipped()[0].reason, Reason::KeyUseNotSig);
  EXPECT_EQ(set.skipped()[1].index, 2u);
  EXPECT_EQ(set.skipped()[1].reason, Reason::KeyNotObject);
}

TEST(JwkSet, KeepsTheFirstKeyOfADuplicateKid) {
  JwkSet set = JwkSet::parse(
      jwks_json({key(KeyKind::P256).public_jwk("same"), key(KeyKind::Rsa2048).public_jwk("same")}));
  ASSERT_EQ(set.keys().size(), 1u);
  EXPECT_EQ(set.find("same")->type, KeyType::EC_P256);
  ASSERT_EQ(set.skipped().size(), 1u);
  EXPECT_EQ(set.skipped()[0].reason, Reason::KeyDuplicateKid);
  EXPECT_EQ(set.skipped()[0].index, 1u);
}

TEST(JwkSet, KeepsSeveralKeysWithoutKidButFindsNoneByEmptyKid) {
  JwkSet set =
      JwkSet::parse(jwks_json({key(KeyKind::P256).public_jwk(), key(KeyKind::Ed25519).public_jwk()}));
  EXPECT_EQ(set.keys().size(), 2u);
  EXPECT_EQ(set.find(""), nullptr);
}

TEST(JwkSet, RefusesDocumentsThatAreNotKeySets) {
  for (const char* doc : {"", "[]", "{}", R"({"keys": {}})", R"({"keys": "x"})", "{\"keys\": [", "null"}) {
    JwkSet set = JwkSet::parse(doc);
    EXPECT_FALSE(set.ok()) << doc;
    EXPECT_EQ(set.error(), Reason::KeySetInvalid) << doc;
    EXPECT_TRUE(set.keys().empty());
  }
  EXPECT_TRUE(JwkSet::parse(R"({"keys": []})").ok());
}

TEST(JwkSet, IgnoresPrivateMembers) {
  json jwk = key(KeyKind::P256).public_jwk("priv");
  jwk["d"] = base64url_encode(std::string(32, '\x01'));
  JwkSet set = JwkSet::parse(jwks_json({jwk}));
  ASSERT_EQ(set.keys().size(), 1u);
  // Only the public half is imported: there is no private key to extract.
  BIGNUM* d = nullptr;
  EXPECT_NE(EVP_PKEY_get_bn_param(set.keys()[0].pkey.get(), "priv", &d), 1);
}

TEST(JwkSet, ParseSingleReportsTheKeysOwnReason) {
  JwkSet good = JwkSet::parse_single(key(KeyKind::Ed25519).public_jwk("one").dump());
  EXPECT_TRUE(good.ok());
  ASSERT_NE(good.find("one"), nullptr);
  JwkSet small = JwkSet::parse_single(key(KeyKind::Rsa1024).public_jwk("small").dump());
  EXPECT_FALSE(small.ok());
  EXPECT_EQ(small.error(), Reason::KeyRsaTooSmall);
  EXPECT_EQ(JwkSet::parse_single("[1]").error(), Reason::KeyNotObject);
}
