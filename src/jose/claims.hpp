// claims.hpp — JWT claim checks (RFC 7519 §4.1, RFC 9068 §4, RFC 8725 §3.8–3.9) and the Principal they yield.
//
//   mcpgate::jose::ClaimRules rules{.issuers = {"https://login.example.com"}, .audiences = {"project-123"},
//                                   .leeway_seconds = 30};
//   Reason r = mcpgate::jose::check_claims(jws.payload, rules, clock->now_seconds());
//   if (r == Reason::Ok) principal = mcpgate::jose::principal_from_claims(jws.payload);
//
// 'iss' must equal one configured issuer exactly; 'aud' (string or array of strings) must contain a
// configured audience; 'exp' is required and numeric, and the token is expired when exp <= now - leeway;
// 'nbf', when present, must satisfy nbf <= now + leeway; 'sub' is required and must be a non-empty string
// (RFC 9068 §2.2). NumericDates may be non-integer. A registered claim of the wrong JSON type is refused
// (ClaimTypeInvalid) rather than ignored. check_claims needs no key, so it runs before any signature work.
#pragma once

#include <mcpgate/principal.hpp>
#include <mcpgate/status.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mcpgate::jose {

struct ClaimRules {
  std::vector<std::string>
      issuers;  // exact match; empty list = issuer not checked (only for callers that already did)
  std::vector<std::string> audiences;  // at least one must appear in "aud"
  double leeway_seconds = 0;
};

Reason check_claims(const nlohmann::json& payload, const ClaimRules& rules, double now_seconds);

// Builds the Principal from claims that already passed check_claims: issuer, subject, client_id (or azp),
// scopes from "scope" (space-separated) or "scp" (array), the Stytch B2B organization claim, expires_at, jti
// and all claims.
Principal principal_from_claims(const nlohmann::json& payload);
// The same, taking the payload over as Principal::claims instead of copying it.
Principal principal_from_claims(nlohmann::json&& payload);

inline constexpr const char* kStytchOrganizationClaim = "https://stytch.com/organization";

}  // namespace mcpgate::jose
