#include "jose/claims.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace mcpgate::jose {
namespace {

using nlohmann::json;

bool is_string_array(const json& v) {
  return v.is_array() && std::all_of(v.begin(), v.end(), [](const json& e) { return e.is_string(); });
}

// Every claim principal_from_claims reads has its type checked here, so a token whose "scope" is a number or
// whose organization claim is a string is refused instead of silently losing its meaning.
bool optional_claims_well_typed(const json& payload) {
  for (const char* name : {"client_id", "azp", "scope", "jti"}) {
    auto it = payload.find(name);
    if (it != payload.end() && !it->is_string()) return false;
  }
  if (auto it = payload.find("iat"); it != payload.end() && !it->is_number()) return false;
  if (auto it = payload.find("scp"); it != payload.end() && !is_string_array(*it)) return false;
  if (auto it = payload.find(kStytchOrganizationClaim); it != payload.end()) {
    if (!it->is_object()) return false;
    auto id = it->find("organization_id");
    if (id == it->end() || !id->is_string()) return false;
    if (auto slug = it->find("slug"); slug != it->end() && !slug->is_string()) return false;
  }
  return true;
}

bool contains(const std::vector<std::string>& list, const std::string& value) {
  return std::find(list.begin(), list.end(), value) != list.end();
}

void add_scope(std::vector<std::string>& scopes, std::string scope) {
  if (!scope.empty() && !contains(scopes, scope)) scopes.push_back(std::move(scope));
}

}  // namespace

Reason check_claims(const json& payload, const ClaimRules& rules, double now_seconds) {
  if (!payload.is_object()) return Reason::PayloadNotJson;

  // Issuer first: the cheapest check, and the one that says which key set would even apply (RFC 8725 §3.8).
  auto iss = payload.find("iss");
  if (iss == payload.end()) return Reason::IssuerMissing;
  if (!iss->is_string()) return Reason::ClaimTypeInvalid;
  if (!rules.issuers.empty() && !contains(rules.issuers, iss->get_ref<const std::string&>()))
    return Reason::IssuerUnknown;

  // RFC 7519 §4.1.4: the token MUST NOT be accepted on or after exp; so exp == now (no leeway) is expired.
  auto exp = payload.find("exp");
  if (exp == payload.end()) return Reason::ExpirationMissing;
  if (!exp->is_number()) return Reason::ClaimTypeInvalid;
  if (exp->get<double>() <= now_seconds - rules.leeway_seconds) return Reason::Expired;

  // RFC 7519 §4.1.5: not accepted before nbf.
  if (auto nbf = payload.find("nbf"); nbf != payload.end()) {
    if (!nbf->is_number()) return Reason::ClaimTypeInvalid;
    if (nbf->get<double>() > now_seconds + rules.leeway_seconds) return Reason::NotYetValid;
  }

  // RFC 7519 §4.1.3, RFC 9068 §4, RFC 8707: the token must name this resource.
  auto aud = payload.find("aud");
  if (aud == payload.end()) return Reason::AudienceMissing;
  bool audience_matches = false;
  if (aud->is_string()) {
    audience_matches = contains(rules.audiences, aud->get_ref<const std::string&>());
  } else if (is_string_array(*aud)) {
    for (const auto& a : *aud)
      audience_matches = audience_matches || contains(rules.audiences, a.get<std::string>());
  } else {
    return Reason::ClaimTypeInvalid;
  }
  if (!audience_matches) return Reason::AudienceMismatch;

  // RFC 9068 §2.2: "sub" is REQUIRED. Without it every such token would be one shared anonymous principal
  // (one session owner, one rate-limit bucket); an empty string names no one either.
  auto sub = payload.find("sub");
  if (sub == payload.end()) return Reason::SubjectMissing;
  if (!sub->is_string()) return Reason::ClaimTypeInvalid;
  if (sub->get_ref<const std::string&>().empty()) return Reason::SubjectMissing;

  if (!optional_claims_well_typed(payload)) return Reason::ClaimTypeInvalid;
  return Reason::Ok;
}

namespace {
Principal principal_fields(const json& payload) {
  Principal p;
  p.source = PrincipalSource::Jwt;
  auto string_claim = [&](const char* name) -> std::string {
    auto it = payload.find(name);
    return it != payload.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  p.issuer = string_claim("iss");
  p.subject = string_claim("sub");
  // RFC 9068 §2.2: client_id; OIDC's azp is the fallback some issuers use instead.
  p.client_id = string_claim("client_id");
  if (p.client_id.empty()) p.client_id = string_claim("azp");
  p.jti = string_claim("jti");

  // RFC 6749 §3.3 / RFC 9068 §2.2.3: "scope" is space-separated; "scp" (an array) is the Azure/Okta spelling.
  if (auto scope = payload.find("scope"); scope != payload.end() && scope->is_string()) {
    const auto& text = scope->get_ref<const std::string&>();
    std::size_t i = 0;
    while (i < text.size()) {
      std::size_t end = text.find(' ', i);
      if (end == std::string::npos) end = text.size();
      add_scope(p.scopes, text.substr(i, end - i));
      i = end + 1;
    }
  } else if (auto scp = payload.find("scp"); scp != payload.end() && scp->is_array()) {
    for (const auto& s : *scp)
      if (s.is_string()) add_scope(p.scopes, s.get<std::string>());
  }

  if (auto org = payload.find(kStytchOrganizationClaim); org != payload.end() && org->is_object()) {
    auto id = org->find("organization_id");
    if (id != org->end() && id->is_string()) {
      Organization o;
      o.id = id->get<std::string>();
      if (auto slug = org->find("slug"); slug != org->end() && slug->is_string())
        o.slug = slug->get<std::string>();
      p.organization = std::move(o);
    }
  }

  if (auto exp = payload.find("exp"); exp != payload.end() && exp->is_number()) {
    // Clamp before converting: a float outside int64's range would make the cast undefined behaviour.
    const double seconds = std::floor(exp->get<double>());
    constexpr double kLimit = 9.2e18;
    p.expires_at = static_cast<std::int64_t>(std::clamp(seconds, -kLimit, kLimit));
  }
  return p;
}
}  // namespace

Principal principal_from_claims(const json& payload) {
  Principal p = principal_fields(payload);
  p.claims = payload;
  return p;
}

Principal principal_from_claims(json&& payload) {
  Principal p = principal_fields(payload);
  p.claims = std::move(payload);  // the verified payload is not needed by the caller any more: no deep copy
  return p;
}

}  // namespace mcpgate::jose
