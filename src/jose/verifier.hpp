// verifier.hpp — the one JWT verification path: decode, cheap claim checks, the caller's key lookup, one
// signature. `token verify --jwks`, `serve` (through auth::Authenticator) and the benchmarks all run it.
//
//   mcpgate::jose::VerifyOptions options{.issuers = {iss}, .audiences = {aud}, .leeway_seconds = 30};
//   auto v = mcpgate::jose::verify_jwt(token, mcpgate::jose::fixed_keys(key_set), options);  // a JWKS file
//   auto w = mcpgate::jose::verify_jwt(token, [&](std::string_view kid) { return cache.find(kid); },
//                                      options);                                           // serving
//   if (v.ok()) use(v->principal); else log(mcpgate::reason_name(v.reason), v.detail);
//
// The key lookup is passed in, as jose's jwtVerify(jwt, getKey, options): it answers a 'kid' (empty when the
// token has none) with one key, or with a whole set whose keys are each tried, or with a refusal
// (KeyNotFound, KeysUnavailable with retry_after, ...), and it may fetch. It is called only after every cheap
// check passed (RFC 8725 §3, Envoy's order): size and format, header rules, claims (issuer, time, audience),
// the organization; an expired or foreign token never costs a key fetch or a public-key operation. Keys come
// from our own set only (RFC 8725 §3.10), never from the token.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mcpgate/clock.hpp>
#include <mcpgate/principal.hpp>
#include <mcpgate/status.hpp>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "jose/algorithm.hpp"
#include "jose/jwk.hpp"

namespace mcpgate::jose {

// What a key lookup found for a 'kid'.
struct KeyChoice {
  std::shared_ptr<const JwkSet> keys;  // keeps `key` alive
  const Jwk* key = nullptr;            // the key for the kid; null: try each key of `keys` allowing the alg
};
using KeyLookup = std::function<Result<KeyChoice>(std::string_view kid)>;

// A lookup in a fixed set (a JWKS file, a test): a kid must name a key of the set (KeyNotFound otherwise);
// no kid tries each key.
KeyLookup fixed_keys(std::shared_ptr<const JwkSet> keys);

struct VerifyOptions {
  std::vector<std::string> issuers{};
  std::vector<std::string> audiences{};
  double leeway_seconds = 0;
  AlgorithmSet algorithms = AlgorithmSet::all();  // default: every asymmetric algorithm the key's type allows
  std::vector<std::string> allowed_organizations{};  // Stytch B2B organization ids; empty: any (or none)
  std::shared_ptr<const Clock> clock = Clock::system();
  std::atomic<std::uint64_t>* signature_checks = nullptr;  // when set, counts public-key operations done
};

struct VerifiedJwt {
  Principal principal;  // source Jwt
  std::string kid;      // the token's 'kid' ("" when it has none): what a verified-token cache re-checks
};

// The whole verification. A refusal's detail names what to fix (an issuer, a kid, the leeway); it never holds
// token material beyond the 'iss', 'kid' and organization id.
Result<VerifiedJwt> verify_jwt(std::string_view token, const KeyLookup& get_key,
                               const VerifyOptions& options);

}  // namespace mcpgate::jose
