// verifier.hpp — the whole JWT path in one call: decode, cheap claim checks, then the signature.
//
//   mcpgate::jose::JwtVerifier verifier({.issuers = {iss}, .audiences = {aud}, .leeway_seconds = 30,
//                                        .algorithms = mcpgate::jose::AlgorithmSet::all(),
//                                        .clock = mcpgate::Clock::system()});
//   mcpgate::jose::VerifyResult result = verifier.verify(token, key_set);
//   if (result.ok()) use(*result.principal); else log(mcpgate::reason_name(result.reason), result.detail);
//
// Order (cheap first, RFC 8725 §3 and Envoy's habit): size and format, header rules, claims (issuer, time, audience),
// then key lookup by 'kid' in our own set only, then exactly one signature check. A token without 'kid' is tried
// against each key of the set that allows its 'alg'.
#pragma once

#include <mcpgate/clock.hpp>
#include <mcpgate/principal.hpp>
#include <mcpgate/status.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "jose/algorithm.hpp"
#include "jose/claims.hpp"
#include "jose/jwk.hpp"
#include "jose/jws.hpp"

namespace mcpgate::jose {

struct VerifyResult {
  Reason reason = Reason::Ok;
  std::string detail;                 // extra specifics for operators ("alg PS256 not in RS256"); never token material
  std::optional<Principal> principal;  // set exactly when reason == Ok
  bool ok() const noexcept { return reason == Reason::Ok; }
};

struct VerifierOptions {
  std::vector<std::string> issuers;
  std::vector<std::string> audiences;
  double leeway_seconds = 0;
  AlgorithmSet algorithms = AlgorithmSet::all();  // default: every asymmetric algorithm the key's type allows
  std::shared_ptr<const Clock> clock = Clock::system();
};

class JwtVerifier {
 public:
  explicit JwtVerifier(VerifierOptions options);
  VerifyResult verify(std::string_view token, const JwkSet& keys) const;
  const VerifierOptions& options() const noexcept { return options_; }

 private:
  VerifierOptions options_;
};

}  // namespace mcpgate::jose
