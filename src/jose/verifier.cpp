#include "jose/verifier.hpp"

#include <cmath>

#include "jose/operator_text.hpp"

namespace mcpgate::jose {
namespace {

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

std::string_view key_type_name(KeyType t) {
  switch (t) {
    case KeyType::RSA:
      return "RSA";
    case KeyType::EC_P256:
      return "EC P-256";
    case KeyType::EC_P384:
      return "EC P-384";
    case KeyType::Ed25519:
      return "OKP Ed25519";
  }
  return "?";
}

// Operator-facing specifics for a claim refusal. Only the issuer may be echoed (it names a configuration to
// fix); other claim values are token material and stay out.
std::string claim_detail(Reason r, const nlohmann::json& payload, const ClaimRules& rules) {
  switch (r) {
    case Reason::IssuerUnknown:
      return "iss '" + printable(payload["iss"].get<std::string>()) + "' is not a configured issuer (" +
             join(rules.issuers) + ")";
    case Reason::AudienceMismatch:
      return "no aud matches the configured audiences (" + join(rules.audiences) + ")";
    case Reason::Expired:
    case Reason::NotYetValid:
      return "leeway " + std::to_string(static_cast<long long>(std::llround(rules.leeway_seconds))) + " s";
    default:
      return std::string();
  }
}

}  // namespace

JwtVerifier::JwtVerifier(VerifierOptions options) : options_(std::move(options)) {
  if (!options_.clock) options_.clock = Clock::system();
}

VerifyResult JwtVerifier::verify(std::string_view token, const JwkSet& keys) const {
  VerifyResult result;
  DecodedJws jws;
  result.reason = decode_compact(token, options_.algorithms, jws, &result.detail);
  if (result.reason != Reason::Ok) return result;

  // Claims before any key or signature work (RFC 8725 §3, Envoy's order): cheap, and an expired or foreign
  // token never costs a public-key operation.
  ClaimRules rules{options_.issuers, options_.audiences, options_.leeway_seconds};
  result.reason = check_claims(jws.payload, rules, options_.clock->now_seconds());
  if (result.reason != Reason::Ok) {
    result.detail = claim_detail(result.reason, jws.payload, rules);
    return result;
  }

  const std::string alg(algorithm_name(jws.alg));
  if (jws.has_kid) {
    // The kid is looked up in our own set only (RFC 8725 §3.10); never a key the token brings along.
    const Jwk* key = keys.find(jws.kid);
    if (!key) {
      result.reason = Reason::KeyNotFound;
      result.detail = "kid '" + printable(jws.kid) + "' not in key set (" +
                      std::to_string(keys.keys().size()) + (keys.keys().size() == 1 ? " key)" : " keys)");
      return result;
    }
    if (!key->allows(jws.alg)) {
      result.reason = Reason::KeyAlgorithmMismatch;
      result.detail = "key '" + printable(jws.kid) + "' (" + std::string(key_type_name(key->type)) +
                      (key->alg ? ", alg " + std::string(algorithm_name(*key->alg)) : std::string()) +
                      ") does not allow " + alg;
      return result;
    }
    result.reason = verify_signature(jws, *key);
    if (result.reason != Reason::Ok) {
      result.detail = "alg " + alg + " with key '" + printable(jws.kid) + "'";
      return result;
    }
  } else {
    // No kid: try each key whose type and own alg allow the token's alg (bounded by the set's size).
    std::size_t candidates = 0;
    std::size_t wrong_length = 0;
    bool verified = false;
    for (const auto& key : keys.keys()) {
      if (!key.allows(jws.alg)) continue;
      ++candidates;
      Reason r = verify_signature(jws, key);
      if (r == Reason::Ok) {
        verified = true;
        break;
      }
      if (r == Reason::SignatureLength) ++wrong_length;
    }
    if (!verified) {
      if (candidates == 0) {
        result.reason = Reason::KeyNotFound;
        result.detail = "token has no kid and no key in the set (" + std::to_string(keys.keys().size()) +
                        " keys) allows " + alg;
      } else {
        result.reason = wrong_length == candidates ? Reason::SignatureLength : Reason::SignatureInvalid;
        result.detail = "token has no kid; tried " + std::to_string(candidates) + " key(s) allowing " + alg;
      }
      return result;
    }
  }

  result.reason = Reason::Ok;
  result.detail.clear();
  result.principal = principal_from_claims(std::move(jws.payload));
  return result;
}

}  // namespace mcpgate::jose
