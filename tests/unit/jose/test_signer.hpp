// test_signer.hpp — real keys and real signatures for tests (never linked into mcpgate itself).
//
//   const auto& key = mcpgate::jose::testing::TestKey::shared(mcpgate::jose::testing::KeyKind::Rsa2048);
//   nlohmann::json jwk = key.public_jwk("kid-1");                          //
//   {"kty":"RSA","kid":"kid-1","n":..,"e":..} std::string jwks = mcpgate::jose::testing::jwks_json({jwk}); //
//   {"keys":[...]} std::string token = mcpgate::jose::testing::sign_token(key, "RS256",
//   {{"alg","RS256"},{"kid","kid-1"}},
//                                                          {{"iss","https://issuer"},{"exp",1893456000}});
//
// Keys are generated with OpenSSL at test time (EVP_PKEY_Q_keygen); `shared()` makes one per kind per process
// so a test binary pays for RSA key generation once. ECDSA signatures come out of OpenSSL as DER and are
// converted to the raw r||s form JWS uses (RFC 7518 §3.4); `sign_der_ecdsa` keeps the DER form to test that
// it is refused.
#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

typedef struct evp_pkey_st EVP_PKEY;

namespace mcpgate::jose::testing {

enum class KeyKind { Rsa1024, Rsa2048, Rsa3072, P256, P384, Ed25519 };

class TestKey {
 public:
  // A fresh key pair of the given kind.
  static TestKey generate(KeyKind kind);
  // One key per kind per process (thread-safe, generated on first use).
  static const TestKey& shared(KeyKind kind);

  KeyKind kind() const noexcept { return kind_; }
  EVP_PKEY* pkey() const noexcept { return pkey_.get(); }

  // The public half as a JWK object: kty/crv and the public members, plus "kid" when non-empty.
  nlohmann::json public_jwk(std::string_view kid = "") const;
  // The public key as a SubjectPublicKeyInfo PEM (the "secret" of a classic RS256→HS256 confusion attack).
  std::string public_pem() const;

  // Raw JWS signature over `input` with the named algorithm (RS*, PS*, ES* as r||s, EdDSA).
  std::string sign(std::string_view alg, std::string_view input) const;
  // ECDSA signature in DER form, as OpenSSL produces it (must be refused by a JWS verifier).
  std::string sign_der_ecdsa(std::string_view alg, std::string_view input) const;

 private:
  TestKey(KeyKind kind, std::shared_ptr<EVP_PKEY> pkey) : kind_(kind), pkey_(std::move(pkey)) {}
  KeyKind kind_;
  std::shared_ptr<EVP_PKEY> pkey_;
};

// {"keys":[...]} from JWK objects.
std::string jwks_json(const std::vector<nlohmann::json>& keys);

// "<b64(header)>.<b64(payload)>" from JSON values (serialized compactly with nlohmann's dump()).
std::string signing_input(const nlohmann::json& header, const nlohmann::json& payload);
// A complete compact JWS signed by `key` with `alg` (the header is used as given: it may disagree with
// `alg`).
std::string sign_token(const TestKey& key, std::string_view alg, const nlohmann::json& header,
                       const nlohmann::json& payload);
// A compact JWS whose signature is HMAC-SHA-(256|384|512) with `secret` (for alg-confusion tests).
std::string hmac_token(std::string_view alg, std::string_view secret, const nlohmann::json& header,
                       const nlohmann::json& payload);

// The token with one byte of segment `segment` (0 header, 1 payload, 2 signature) changed, keeping it valid
// base64url: the character at `offset` within the segment is replaced by a different alphabet character.
std::string tamper_segment(std::string_view token, int segment, std::size_t offset = 0);

}  // namespace mcpgate::jose::testing
