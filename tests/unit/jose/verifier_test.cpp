// The whole JWT path: decode → claims → key lookup in our own set → signature (RFC 8725, RFC 9068).
#include "jose/verifier.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "jose/base64url.hpp"
#include "jose/test_signer.hpp"

using mcpgate::ManualClock;
using mcpgate::Reason;
using mcpgate::jose::Algorithm;
using mcpgate::jose::AlgorithmSet;
using mcpgate::jose::JwkSet;
using mcpgate::jose::VerifyOptions;
using mcpgate::jose::testing::hmac_token;
using mcpgate::jose::testing::jwks_json;
using mcpgate::jose::testing::KeyKind;
using mcpgate::jose::testing::sign_token;
using mcpgate::jose::testing::tamper_segment;
using mcpgate::jose::testing::TestKey;
using nlohmann::json;

namespace {

constexpr double kNow = 1893456000;
const std::string kIssuer = "https://login.example.com";
const std::string kAudience = "project-test-1";

const TestKey& rsa() {
  return TestKey::shared(KeyKind::Rsa2048);
}
const TestKey& p256() {
  return TestKey::shared(KeyKind::P256);
}
const TestKey& p384() {
  return TestKey::shared(KeyKind::P384);
}
const TestKey& ed25519() {
  return TestKey::shared(KeyKind::Ed25519);
}

JwkSet issuer_keys() {
  return JwkSet::parse(jwks_json({rsa().public_jwk("rsa-1"), p256().public_jwk("ec-1"),
                                  p384().public_jwk("ec-2"), ed25519().public_jwk("ed-1")}));
}

std::shared_ptr<ManualClock> clock_at(double t) {
  return std::make_shared<ManualClock>(t);
}

// jose::verify_jwt with these options and a fixed key set as its key lookup (what `token verify --jwks` runs).
struct Verifier {
  VerifyOptions options;
  mcpgate::Result<mcpgate::jose::VerifiedJwt> verify(std::string_view jwt, const JwkSet& keys) const {
    // A view of the caller's set: it outlives the call.
    std::shared_ptr<const JwkSet> view(&keys, [](const JwkSet*) {});
    return mcpgate::jose::verify_jwt(jwt, mcpgate::jose::fixed_keys(std::move(view)), options);
  }
};

Verifier verifier(AlgorithmSet algorithms = AlgorithmSet::all(),
                  std::shared_ptr<ManualClock> clock = nullptr) {
  VerifyOptions options;
  options.issuers = {kIssuer};
  options.audiences = {kAudience};
  options.leeway_seconds = 0;
  options.algorithms = algorithms;
  options.clock = clock ? clock : clock_at(kNow);
  return Verifier{options};
}

json claims() {
  return {{"iss", kIssuer},     {"sub", "member-live-1"},     {"aud", {kAudience, "connected-app-client-1"}},
          {"exp", kNow + 3600}, {"nbf", kNow - 10},           {"iat", kNow - 10},
          {"jti", "jti-1"},     {"scope", "openid mcp:read"}, {"client_id", "connected-app-client-1"}};
}

std::string token(const TestKey& key, const std::string& alg, const std::string& kid,
                  json payload = claims()) {
  json header = {{"alg", alg}, {"typ", "JWT"}};
  if (!kid.empty()) header["kid"] = kid;
  return sign_token(key, alg, header, payload);
}

}  // namespace

TEST(VerifyJwt, AcceptsValidTokensForEveryAlgorithm) {
  JwkSet keys = issuer_keys();
  struct Case {
    const TestKey& key;
    const char* alg;
    const char* kid;
  };
  for (const Case& c :
       {Case{rsa(), "RS256", "rsa-1"}, Case{rsa(), "RS384", "rsa-1"}, Case{rsa(), "RS512", "rsa-1"},
        Case{rsa(), "PS256", "rsa-1"}, Case{rsa(), "PS384", "rsa-1"}, Case{rsa(), "PS512", "rsa-1"},
        Case{p256(), "ES256", "ec-1"}, Case{p384(), "ES384", "ec-2"}, Case{ed25519(), "EdDSA", "ed-1"}}) {
    auto result = verifier().verify(token(c.key, c.alg, c.kid), keys);
    EXPECT_EQ(result.reason, Reason::Ok) << c.alg << ": " << result.detail;
    EXPECT_TRUE(result.value.has_value()) << c.alg;
  }
}

// Every key's prepared verification contexts are shared by all threads (each call copies one): concurrent
// verifications of good and tampered tokens against one key set all come out right.
TEST(VerifyJwt, ConcurrentVerificationsShareTheKeySetsPreparedContexts) {
  const JwkSet keys = issuer_keys();
  const std::vector<std::string> good = {token(rsa(), "RS256", "rsa-1"), token(rsa(), "PS256", "rsa-1"),
                                         token(p256(), "ES256", "ec-1"), token(ed25519(), "EdDSA", "ed-1")};
  std::vector<std::string> bad;
  for (const auto& t : good) bad.push_back(tamper_segment(t, 2));
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      Verifier v = verifier();
      for (int i = 0; i < 50; ++i) {
        for (std::size_t k = 0; k < good.size(); ++k) {
          if (!v.verify(good[k], keys).ok()) ++wrong;
          if (v.verify(bad[k], keys).reason != Reason::SignatureInvalid) ++wrong;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(VerifyJwt, BuildsThePrincipalFromVerifiedClaims) {
  auto result = verifier().verify(token(rsa(), "RS256", "rsa-1"), issuer_keys());
  ASSERT_TRUE(result.ok()) << result.detail;
  const auto& p = result->principal;
  EXPECT_EQ(p.issuer, kIssuer);
  EXPECT_EQ(p.subject, "member-live-1");
  EXPECT_EQ(p.client_id, "connected-app-client-1");
  EXPECT_EQ(p.scopes, (std::vector<std::string>{"openid", "mcp:read"}));
  EXPECT_EQ(p.expires_at, static_cast<std::int64_t>(kNow) + 3600);
  EXPECT_EQ(p.jti, "jti-1");
  EXPECT_TRUE(result.detail.empty());
}

TEST(VerifyJwt, RefusesATamperedPayload) {
  std::string t = tamper_segment(token(p256(), "ES256", "ec-1"), 1, 10);
  auto result = verifier().verify(t, issuer_keys());
  // The tampered byte may break the JSON or a claim; whatever it breaks, the token is refused.
  EXPECT_FALSE(result.ok());
  json tampered_claims = claims();
  tampered_claims["scope"] = "openid mcp:read mcp:admin";
  std::string original = token(p256(), "ES256", "ec-1");
  std::string forged_payload = mcpgate::jose::base64url_encode(tampered_claims.dump());
  std::size_t dot1 = original.find('.'), dot2 = original.rfind('.');
  std::string forged = original.substr(0, dot1 + 1) + forged_payload + original.substr(dot2);
  EXPECT_EQ(verifier().verify(forged, issuer_keys()).reason, Reason::SignatureInvalid);
}

TEST(VerifyJwt, LooksUpKidOnlyInItsOwnKeySet) {
  auto result = verifier().verify(token(rsa(), "RS256", "abc"), issuer_keys());
  EXPECT_EQ(result.reason, Reason::KeyNotFound);
  EXPECT_EQ(result.detail, "kid 'abc' not in key set (4 keys)");
}

TEST(VerifyJwt, IgnoresAnEmbeddedJwkOfTheAttackersKey) {
  TestKey attacker = TestKey::generate(KeyKind::P256);
  json header = {{"alg", "ES256"}, {"jwk", attacker.public_jwk()}, {"jku", "https://attacker.example/jwks"}};
  std::string no_kid = sign_token(attacker, "ES256", header, claims());
  EXPECT_EQ(verifier().verify(no_kid, issuer_keys()).reason, Reason::SignatureInvalid);
  header["kid"] = "attacker-key";
  header["jwk"] = attacker.public_jwk("attacker-key");
  EXPECT_EQ(verifier().verify(sign_token(attacker, "ES256", header, claims()), issuer_keys()).reason,
            Reason::KeyNotFound);
  header["kid"] = "ec-1";  // our kid, their key
  EXPECT_EQ(verifier().verify(sign_token(attacker, "ES256", header, claims()), issuer_keys()).reason,
            Reason::SignatureInvalid);
}

TEST(VerifyJwt, RefusesHs256SignedWithThePublicKey) {
  // The classic RS256→HS256 confusion: HMAC keyed with the issuer's public key (which anyone can fetch).
  std::string t = hmac_token("HS256", rsa().public_pem(), {{"alg", "HS256"}, {"kid", "rsa-1"}}, claims());
  auto result = verifier().verify(t, issuer_keys());
  EXPECT_EQ(result.reason, Reason::AlgorithmHmac);
}

TEST(VerifyJwt, RefusesRs256HeaderCarryingAnHmacSignature) {
  std::string t = hmac_token("HS256", rsa().public_pem(), {{"alg", "RS256"}, {"kid", "rsa-1"}}, claims());
  EXPECT_EQ(verifier().verify(t, issuer_keys()).reason, Reason::SignatureLength);
}

TEST(VerifyJwt, RefusesAlgNoneEvenWithAValidLookingSignature) {
  std::string t = sign_token(rsa(), "RS256", {{"alg", "none"}, {"kid", "rsa-1"}}, claims());
  EXPECT_EQ(verifier().verify(t, issuer_keys()).reason, Reason::AlgorithmNone);
}

TEST(VerifyJwt, RefusesAnAlgorithmOutsideItsAllowListWithDetail) {
  auto result =
      verifier(AlgorithmSet::of(Algorithm::RS256)).verify(token(rsa(), "PS256", "rsa-1"), issuer_keys());
  EXPECT_EQ(result.reason, Reason::AlgorithmNotAllowed);
  EXPECT_EQ(result.detail, "alg PS256 not in allow-list RS256");
}

TEST(VerifyJwt, RefusesAKidWhoseKeyIsOfAnotherFamily) {
  // An ES256 token naming the RSA key's kid: the key's type decides, not the token.
  auto result = verifier().verify(token(p256(), "ES256", "rsa-1"), issuer_keys());
  EXPECT_EQ(result.reason, Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(result.detail, "key 'rsa-1' (RSA) does not allow ES256");
  EXPECT_EQ(verifier().verify(token(p384(), "ES384", "ec-1"), issuer_keys()).reason,
            Reason::KeyAlgorithmMismatch);
}

TEST(VerifyJwt, RefusesAnAlgorithmTheKeysOwnAlgForbids) {
  json jwk = rsa().public_jwk("pinned");
  jwk["alg"] = "RS256";
  JwkSet keys = JwkSet::parse(jwks_json({jwk}));
  EXPECT_TRUE(verifier().verify(token(rsa(), "RS256", "pinned"), keys).ok());
  auto result = verifier().verify(token(rsa(), "PS256", "pinned"), keys);
  EXPECT_EQ(result.reason, Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(result.detail, "key 'pinned' (RSA, alg RS256) does not allow PS256");
}

TEST(VerifyJwt, TriesEachKeyThatAllowsTheAlgWhenTheTokenHasNoKid) {
  TestKey second = TestKey::generate(KeyKind::P256);
  JwkSet keys = JwkSet::parse(jwks_json({rsa().public_jwk(), p256().public_jwk(), second.public_jwk()}));
  EXPECT_TRUE(verifier().verify(token(second, "ES256", ""), keys).ok());
  EXPECT_TRUE(verifier().verify(token(p256(), "ES256", ""), keys).ok());
  EXPECT_TRUE(verifier().verify(token(rsa(), "RS256", ""), keys).ok());
  TestKey stranger = TestKey::generate(KeyKind::P256);
  auto result = verifier().verify(token(stranger, "ES256", ""), keys);
  EXPECT_EQ(result.reason, Reason::SignatureInvalid);
  EXPECT_EQ(result.detail, "token has no kid; tried 2 key(s) allowing ES256");
}

TEST(VerifyJwt, RefusesAKidlessTokenWhenNoKeyAllowsItsAlg) {
  JwkSet keys = JwkSet::parse(jwks_json({rsa().public_jwk("rsa-1")}));
  auto result = verifier().verify(token(ed25519(), "EdDSA", ""), keys);
  EXPECT_EQ(result.reason, Reason::KeyNotFound);
}

TEST(VerifyJwt, ChecksClaimsBeforeTheSignature) {
  json expired = claims();
  expired["exp"] = kNow - 1;
  std::string t = token(rsa(), "RS256", "rsa-1", expired);
  std::string bad_signature = tamper_segment(t, 2, 7);
  EXPECT_EQ(verifier().verify(bad_signature, issuer_keys()).reason, Reason::Expired);
}

TEST(VerifyJwt, ChecksClaimsBeforeKeyLookup) {
  json foreign = claims();
  foreign["iss"] = "https://evil.example";
  auto result = verifier().verify(token(rsa(), "RS256", "unknown-kid", foreign), issuer_keys());
  EXPECT_EQ(result.reason, Reason::IssuerUnknown);
  EXPECT_EQ(result.detail,
            "iss 'https://evil.example' is not a configured issuer (https://login.example.com)");
}

// The CLI's verifier and the serving path's Authenticator share check_claims: both refuse a token without a
// subject (RFC 9068 §2.2), even one whose signature verifies.
TEST(VerifyJwt, TokenWithoutSubjectIsRefused) {
  json anonymous = claims();
  anonymous.erase("sub");
  EXPECT_EQ(verifier().verify(token(rsa(), "RS256", "rsa-1", anonymous), issuer_keys()).reason,
            Reason::SubjectMissing);
  anonymous["sub"] = "";
  EXPECT_EQ(verifier().verify(token(rsa(), "RS256", "rsa-1", anonymous), issuer_keys()).reason,
            Reason::SubjectMissing);
}

TEST(VerifyJwt, ReportsAudienceMismatchWithoutEchoingTokenAudiences) {
  json other = claims();
  other["aud"] = "secret-other-audience";
  auto result = verifier().verify(token(rsa(), "RS256", "rsa-1", other), issuer_keys());
  EXPECT_EQ(result.reason, Reason::AudienceMismatch);
  EXPECT_EQ(result.detail.find("secret-other-audience"), std::string::npos);
  EXPECT_NE(result.detail.find(kAudience), std::string::npos);
}

TEST(VerifyJwt, UsesTheInjectedClock) {
  auto clock = clock_at(kNow);
  Verifier v = verifier(AlgorithmSet::all(), clock);
  std::string t = token(p256(), "ES256", "ec-1");
  EXPECT_TRUE(v.verify(t, issuer_keys()).ok());
  clock->advance(std::chrono::seconds(3600));  // exp == now
  EXPECT_EQ(v.verify(t, issuer_keys()).reason, Reason::Expired);
  clock->set(kNow - 3600);
  EXPECT_EQ(v.verify(t, issuer_keys()).reason, Reason::NotYetValid);
}

TEST(VerifyJwt, RefusesDerEcdsaSignatureEndToEnd) {
  std::string input = mcpgate::jose::testing::signing_input({{"alg", "ES256"}, {"kid", "ec-1"}}, claims());
  std::string t = input + "." + mcpgate::jose::base64url_encode(p256().sign_der_ecdsa("ES256", input));
  EXPECT_EQ(verifier().verify(t, issuer_keys()).reason, Reason::SignatureLength);
}

TEST(VerifyJwt, RefusesEverythingAgainstAnEmptyKeySet) {
  JwkSet empty = JwkSet::parse(R"({"keys":[]})");
  auto result = verifier().verify(token(rsa(), "RS256", "rsa-1"), empty);
  EXPECT_EQ(result.reason, Reason::KeyNotFound);
  EXPECT_EQ(result.detail, "kid 'rsa-1' not in key set (0 keys)");
}

TEST(VerifyJwt, RefusesAnAtJwtTypedTokenOnlyWhenTypeIsForeign) {
  json header = {{"alg", "ES256"}, {"kid", "ec-1"}, {"typ", "at+jwt"}};
  EXPECT_TRUE(verifier().verify(sign_token(p256(), "ES256", header, claims()), issuer_keys()).ok());
  header["typ"] = "dpop+jwt";
  auto result = verifier().verify(sign_token(p256(), "ES256", header, claims()), issuer_keys());
  EXPECT_EQ(result.reason, Reason::TypeRefused);
  EXPECT_EQ(result.detail, "typ 'dpop+jwt' refused");
}
