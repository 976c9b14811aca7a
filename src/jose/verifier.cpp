#include "jose/verifier.hpp"

#include <algorithm>
#include <cmath>

#include "jose/claims.hpp"
#include "jose/jws.hpp"
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

std::string key_count(std::size_t n) {
  return std::to_string(n) + (n == 1 ? " key" : " keys");
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

// Stytch B2B: the token's organization must be one of the allowed ones (when any are configured).
Status check_organization(const nlohmann::json& payload, const std::vector<std::string>& allowed) {
  if (allowed.empty()) return {};
  auto org = payload.find(kStytchOrganizationClaim);
  if (org == payload.end() || !org->is_object() || !org->contains("organization_id") ||
      !(*org)["organization_id"].is_string()) {
    return {Reason::OrganizationNotAllowed, "the token carries no organization"};
  }
  const std::string id = (*org)["organization_id"].get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), id) == allowed.end())
    return {Reason::OrganizationNotAllowed, "organization " + printable(id) + " is not allowed"};
  return {};
}

Reason count_and_verify(const DecodedJws& jws, const Jwk& key, const VerifyOptions& options) {
  if (options.signature_checks) options.signature_checks->fetch_add(1, std::memory_order_relaxed);
  return verify_signature(jws, key);
}

// The token named its key: that key must allow the token's alg, then exactly one signature check.
Status check_with_key(const DecodedJws& jws, const Jwk& key, const VerifyOptions& options) {
  const std::string alg(algorithm_name(jws.alg));
  if (!key.allows(jws.alg)) {
    return {Reason::KeyAlgorithmMismatch,
            "key '" + printable(jws.kid) + "' (" + std::string(key_type_name(key.type)) +
                (key.alg ? ", alg " + std::string(algorithm_name(*key.alg)) : std::string()) +
                ") does not allow " + alg};
  }
  if (Reason r = count_and_verify(jws, key, options); r != Reason::Ok)
    return {r, "alg " + alg + " with key '" + printable(jws.kid) + "'"};
  return {};
}

// No kid (RFC 7515 §4.1.4 makes it optional): each key whose type and own alg allow the token's alg is tried,
// bounded by the set's size. All candidates refusing the length says SignatureLength, else SignatureInvalid.
Status check_with_each(const DecodedJws& jws, const JwkSet& keys, const VerifyOptions& options) {
  const std::string alg(algorithm_name(jws.alg));
  std::size_t candidates = 0;
  std::size_t wrong_length = 0;
  for (const auto& key : keys.keys()) {
    if (!key.allows(jws.alg)) continue;
    ++candidates;
    const Reason r = count_and_verify(jws, key, options);
    if (r == Reason::Ok) return {};
    if (r == Reason::SignatureLength) ++wrong_length;
  }
  if (candidates == 0) {
    return {Reason::KeyNotFound,
            "token has no kid and no key in the set (" + key_count(keys.keys().size()) + ") allows " + alg};
  }
  return {wrong_length == candidates ? Reason::SignatureLength : Reason::SignatureInvalid,
          "token has no kid; tried " + std::to_string(candidates) + " key(s) allowing " + alg};
}

}  // namespace

KeyLookup fixed_keys(std::shared_ptr<const JwkSet> keys) {
  return [keys = std::move(keys)](std::string_view kid) -> Result<KeyChoice> {
    if (kid.empty()) return KeyChoice{keys, nullptr};
    const Jwk* key = keys->find(kid);
    if (!key) {
      return Status{Reason::KeyNotFound,
                    "kid '" + printable(kid) + "' not in key set (" + key_count(keys->keys().size()) + ")"};
    }
    return KeyChoice{keys, key};
  };
}

Result<VerifiedJwt> verify_jwt(std::string_view token, const KeyLookup& get_key,
                               const VerifyOptions& options) {
  Result<DecodedJws> decoded = decode_compact(token, options.algorithms);
  if (!decoded.ok()) return decoded.status();
  DecodedJws& jws = *decoded;

  const ClaimRules rules{options.issuers, options.audiences, options.leeway_seconds};
  const std::shared_ptr<const Clock>& clock = options.clock ? options.clock : Clock::system();
  if (Reason r = check_claims(jws.payload, rules, clock->now_seconds()); r != Reason::Ok)
    return Status{r, claim_detail(r, jws.payload, rules)};
  if (Status s = check_organization(jws.payload, options.allowed_organizations); !s.ok()) return s;

  // Only now: the key (maybe a shared, rate-limited refetch) and the signature.
  Result<KeyChoice> choice = get_key(jws.has_kid ? std::string_view(jws.kid) : std::string_view());
  if (!choice.ok()) return choice.status();
  const Status signed_by =
      choice->key ? check_with_key(jws, *choice->key, options) : check_with_each(jws, *choice->keys, options);
  if (!signed_by.ok()) return signed_by;

  VerifiedJwt verified{principal_from_claims(std::move(jws.payload)), std::move(jws.kid)};
  verified.principal.source = PrincipalSource::Jwt;
  return verified;
}

}  // namespace mcpgate::jose
