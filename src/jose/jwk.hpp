// jwk.hpp — a JSON Web Key Set turned into OpenSSL public keys (RFC 7517, RFC 7518 §6, RFC 8037 §2).
//
//   mcpgate::jose::JwkSet set = mcpgate::jose::JwkSet::parse(body);   // never throws
//   if (!set.ok()) { log(mcpgate::reason_name(set.error())); }        // not a {"keys": [...]} document
//   for (const auto& s : set.skipped()) log(s.kid, mcpgate::reason_name(s.reason));  // unusable keys, each a
//   reason const mcpgate::jose::Jwk* key = set.find("kid-1");                  // nullptr when absent if (key
//   && key->allows(mcpgate::jose::Algorithm::RS256)) { ... }
//
// Rules: RSA (n, e) of at least 2048 bits; EC P-256/P-384 (x, y) whose point is on the curve; OKP Ed25519
// (x). A key whose 'use' is present and not "sig", whose 'key_ops' lacks "verify", or whose 'alg' is unknown,
// symmetric or unfit for its type is skipped with a reason; the rest of the set is kept. Private members (d,
// p, q...) are ignored. Two usable keys with one 'kid': the first is kept, the later ones are skipped
// (KeyDuplicateKid). Jwk is cheap to copy (the EVP_PKEY is reference-counted and immutable once built).
#pragma once

#include <mcpgate/status.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "jose/algorithm.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace mcpgate::jose {

enum class KeyType { RSA, EC_P256, EC_P384, Ed25519 };

// One context per algorithm the key allows, already through EVP_DigestVerifyInit (signature.cpp): a
// verification copies one instead of fetching the digest and signature implementations again.
struct VerifyTemplates;

struct Jwk {
  std::string kid;  // may be empty when the JWK has none
  KeyType type = KeyType::RSA;
  std::optional<Algorithm> alg;                      // the key's own "alg", when present
  int bits = 0;                                      // RSA modulus size; curve size for EC/OKP
  std::shared_ptr<EVP_PKEY> pkey;                    // public key, never null in a parsed set
  std::shared_ptr<const VerifyTemplates> templates;  // set by the parsers; verification works without it

  // The verifier's choice of algorithm is checked against the key: family (kty/crv) and the key's own 'alg'.
  bool allows(Algorithm a) const noexcept;
};

struct SkippedKey {
  std::size_t index = 0;  // position in the "keys" array
  std::string kid;        // empty when absent or not a string
  Reason reason = Reason::KeyMemberInvalid;
};

// Fills key.templates for every algorithm the key allows (the parsers call it; a failure leaves it empty).
void prepare_verify_templates(Jwk& key);

class JwkSet {
 public:
  static JwkSet parse(std::string_view json_text);
  // A single JWK object (not a set), e.g. from a test vector. Fails with the key's own reason.
  static JwkSet parse_single(std::string_view json_text);

  bool ok() const noexcept { return error_ == Reason::Ok; }
  Reason error() const noexcept { return error_; }  // KeySetInvalid when the document is not a key set
  const std::vector<Jwk>& keys() const noexcept { return keys_; }
  const std::vector<SkippedKey>& skipped() const noexcept { return skipped_; }
  // The key with this 'kid', or nullptr. An empty kid finds nothing: kid-less keys are reached only by trying
  // each.
  const Jwk* find(std::string_view kid) const noexcept;

 private:
  Reason error_ = Reason::Ok;
  std::vector<Jwk> keys_;
  std::vector<SkippedKey> skipped_;
};

}  // namespace mcpgate::jose
