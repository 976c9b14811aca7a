// Signature checks for every algorithm (RFC 7518 §3.3–3.5, RFC 8037 §3.1) with real keys and real signatures.
#include <gtest/gtest.h>

#include <thread>

#include "jose/base64url.hpp"
#include "jose/jws.hpp"
#include "jose/test_signer.hpp"

using mcpgate::Reason;
using mcpgate::jose::Algorithm;
using mcpgate::jose::AlgorithmSet;
using mcpgate::jose::base64url_encode;
using mcpgate::jose::decode_compact;
using mcpgate::jose::DecodedJws;
using mcpgate::jose::Jwk;
using mcpgate::jose::JwkSet;
using mcpgate::jose::verify_signature;
using mcpgate::jose::testing::KeyKind;
using mcpgate::jose::testing::sign_token;
using mcpgate::jose::testing::tamper_segment;
using mcpgate::jose::testing::TestKey;
using nlohmann::json;

namespace {

const json kClaims = {{"iss", "https://issuer.example"}, {"sub", "user-1"}, {"exp", 1893456000}};

Jwk public_key_of(const TestKey& key) {
  JwkSet set = JwkSet::parse_single(key.public_jwk("k").dump());
  EXPECT_TRUE(set.ok());
  return set.keys().at(0);
}

DecodedJws decoded(const std::string& token) {
  auto jws = decode_compact(token, AlgorithmSet::all());
  EXPECT_TRUE(jws.ok()) << jws.message();
  return jws.value.value_or(DecodedJws{});
}

std::string token_for(const TestKey& key, const std::string& alg) {
  return sign_token(key, alg, {{"alg", alg}, {"kid", "k"}}, kClaims);
}

struct AlgCase {
  const char* alg;
  KeyKind kind;
};

class EveryAlgorithm : public ::testing::TestWithParam<AlgCase> {};

}  // namespace

TEST_P(EveryAlgorithm, AcceptsAValidSignature) {
  const TestKey& key = TestKey::shared(GetParam().kind);
  EXPECT_EQ(verify_signature(decoded(token_for(key, GetParam().alg)), public_key_of(key)), Reason::Ok);
}

TEST_P(EveryAlgorithm, RefusesATamperedPayload) {
  const TestKey& key = TestKey::shared(GetParam().kind);
  // One payload character changed in the signed text (the JSON may no longer parse; the signature check must
  // not depend on that, so it is exercised directly on the signing input).
  std::string original = token_for(key, GetParam().alg);
  std::string tampered = tamper_segment(original, 1, 5);
  DecodedJws jws = decoded(original);
  jws.signing_input = tampered.substr(0, tampered.rfind('.'));
  ASSERT_NE(jws.signing_input, original.substr(0, original.rfind('.')));
  EXPECT_EQ(verify_signature(jws, public_key_of(key)), Reason::SignatureInvalid);
  // And a well-formed forged payload (a claim changed, JSON intact).
  json forged_claims = kClaims;
  forged_claims["sub"] = "admin";
  std::string forged = original.substr(0, original.find('.') + 1) + base64url_encode(forged_claims.dump()) +
                       original.substr(original.rfind('.'));
  EXPECT_EQ(verify_signature(decoded(forged), public_key_of(key)), Reason::SignatureInvalid);
}

TEST_P(EveryAlgorithm, RefusesATamperedHeader) {
  const TestKey& key = TestKey::shared(GetParam().kind);
  // Re-encode the header with an extra member: still decodes, but it is not what was signed.
  std::string token = token_for(key, GetParam().alg);
  std::string header = base64url_encode(json({{"alg", GetParam().alg}, {"kid", "k"}, {"x", 1}}).dump());
  EXPECT_EQ(verify_signature(decoded(header + token.substr(token.find('.'))), public_key_of(key)),
            Reason::SignatureInvalid);
}

TEST_P(EveryAlgorithm, RefusesAFlippedSignatureByte) {
  const TestKey& key = TestKey::shared(GetParam().kind);
  DecodedJws jws = decoded(token_for(key, GetParam().alg));
  for (std::size_t at : {std::size_t{0}, jws.signature.size() / 2, jws.signature.size() - 1}) {
    DecodedJws flipped = jws;
    flipped.signature[at] = static_cast<char>(flipped.signature[at] ^ 0x01);
    EXPECT_EQ(verify_signature(flipped, public_key_of(key)), Reason::SignatureInvalid) << "byte " << at;
  }
  // And through the token text, the way an attacker would do it.
  EXPECT_EQ(
      verify_signature(decoded(tamper_segment(token_for(key, GetParam().alg), 2, 3)), public_key_of(key)),
      Reason::SignatureInvalid);
}

TEST_P(EveryAlgorithm, RefusesATruncatedOrExtendedSignature) {
  const TestKey& key = TestKey::shared(GetParam().kind);
  DecodedJws jws = decoded(token_for(key, GetParam().alg));
  DecodedJws shorter = jws;
  shorter.signature.pop_back();
  EXPECT_EQ(verify_signature(shorter, public_key_of(key)), Reason::SignatureLength);
  DecodedJws longer = jws;
  longer.signature.push_back('\0');
  EXPECT_EQ(verify_signature(longer, public_key_of(key)), Reason::SignatureLength);
}

TEST_P(EveryAlgorithm, RefusesASignatureFromAnotherKeyOfTheSameFamily) {
  const TestKey& key = TestKey::shared(GetParam().kind);
  TestKey other = TestKey::generate(GetParam().kind);
  EXPECT_EQ(verify_signature(decoded(token_for(other, GetParam().alg)), public_key_of(key)),
            Reason::SignatureInvalid);
}

INSTANTIATE_TEST_SUITE_P(
    Signature, EveryAlgorithm,
    ::testing::Values(AlgCase{"RS256", KeyKind::Rsa2048}, AlgCase{"RS384", KeyKind::Rsa2048},
                      AlgCase{"RS512", KeyKind::Rsa3072}, AlgCase{"PS256", KeyKind::Rsa2048},
                      AlgCase{"PS384", KeyKind::Rsa3072}, AlgCase{"PS512", KeyKind::Rsa2048},
                      AlgCase{"ES256", KeyKind::P256}, AlgCase{"ES384", KeyKind::P384},
                      AlgCase{"EdDSA", KeyKind::Ed25519}),
    [](const auto& info) { return std::string(info.param.alg); });

TEST(Signature, RefusesDerEncodedEcdsaSignatures) {
  for (auto [alg, kind] : {std::pair{"ES256", KeyKind::P256}, std::pair{"ES384", KeyKind::P384}}) {
    const TestKey& key = TestKey::shared(kind);
    std::string input = mcpgate::jose::testing::signing_input({{"alg", alg}}, kClaims);
    std::string der = key.sign_der_ecdsa(alg, input);
    ASSERT_NE(der.size(), kind == KeyKind::P256 ? 64u : 96u);  // a DER signature is never the raw length here
    EXPECT_EQ(verify_signature(decoded(input + "." + base64url_encode(der)), public_key_of(key)),
              Reason::SignatureLength)
        << alg;
  }
}

TEST(Signature, RefusesAKeyOfTheWrongFamily) {
  Jwk rsa = public_key_of(TestKey::shared(KeyKind::Rsa2048));
  Jwk p256 = public_key_of(TestKey::shared(KeyKind::P256));
  Jwk p384 = public_key_of(TestKey::shared(KeyKind::P384));
  Jwk ed = public_key_of(TestKey::shared(KeyKind::Ed25519));
  DecodedJws es256 = decoded(token_for(TestKey::shared(KeyKind::P256), "ES256"));
  DecodedJws rs256 = decoded(token_for(TestKey::shared(KeyKind::Rsa2048), "RS256"));
  DecodedJws eddsa = decoded(token_for(TestKey::shared(KeyKind::Ed25519), "EdDSA"));
  EXPECT_EQ(verify_signature(es256, rsa), Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(verify_signature(es256, p384), Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(verify_signature(es256, ed), Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(verify_signature(rs256, p256), Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(verify_signature(rs256, ed), Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(verify_signature(eddsa, p256), Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(verify_signature(eddsa, rsa), Reason::KeyAlgorithmMismatch);
}

TEST(Signature, RefusesAnAlgorithmTheKeysOwnAlgDoesNotAllow) {
  const TestKey& key = TestKey::shared(KeyKind::Rsa2048);
  json jwk = key.public_jwk("pinned");
  jwk["alg"] = "RS256";
  Jwk pinned = JwkSet::parse_single(jwk.dump()).keys().at(0);
  EXPECT_EQ(verify_signature(decoded(token_for(key, "RS256")), pinned), Reason::Ok);
  EXPECT_EQ(verify_signature(decoded(token_for(key, "PS256")), pinned), Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(verify_signature(decoded(token_for(key, "RS512")), pinned), Reason::KeyAlgorithmMismatch);
}

TEST(Signature, RefusesPssSignatureUnderPkcs1Header) {
  // Same key, same hash, different padding: the header's alg decides the scheme, and a mismatch fails.
  const TestKey& key = TestKey::shared(KeyKind::Rsa2048);
  std::string input = mcpgate::jose::testing::signing_input({{"alg", "RS256"}}, kClaims);
  std::string token = input + "." + base64url_encode(key.sign("PS256", input));
  EXPECT_EQ(verify_signature(decoded(token), public_key_of(key)), Reason::SignatureInvalid);
}

TEST(Signature, RefusesEs256SignatureUnderEs384Header) {
  const TestKey& key = TestKey::shared(KeyKind::P384);
  std::string input = mcpgate::jose::testing::signing_input({{"alg", "ES384"}}, kClaims);
  std::string sig = key.sign("ES384", input);
  EXPECT_EQ(verify_signature(decoded(input + "." + base64url_encode(sig.substr(0, 64))), public_key_of(key)),
            Reason::SignatureLength);
}

TEST(Signature, RefusesAllZeroEcdsaSignature) {
  const TestKey& key = TestKey::shared(KeyKind::P256);
  std::string input = mcpgate::jose::testing::signing_input({{"alg", "ES256"}}, kClaims);
  EXPECT_EQ(
      verify_signature(decoded(input + "." + base64url_encode(std::string(64, '\0'))), public_key_of(key)),
      Reason::SignatureInvalid);
}

TEST(Signature, VerifiesConcurrentlyWithOneSharedKey) {
  const TestKey& key = TestKey::shared(KeyKind::P256);
  const Jwk jwk = public_key_of(key);
  const DecodedJws good = decoded(token_for(key, "ES256"));
  DecodedJws bad = good;
  bad.signature[10] = static_cast<char>(bad.signature[10] ^ 0x40);
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < 50; ++i) {
        if (verify_signature(good, jwk) != Reason::Ok) ++wrong;
        if (verify_signature(bad, jwk) != Reason::SignatureInvalid) ++wrong;
      }
    });
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}
