// mcpgate/principal.hpp — who a verified request acts as.
//
//   const mcpgate::Principal& who = *decision.principal;  // handed to handlers, the gateway and forward-auth
//   if (who.has_scope("mcp:write")) log("writer", who.subject);
//   log("subject", who.subject, "source", mcpgate::source_name(who.source));
//
// A Principal only ever comes out of a successful verification (a JWT whose signature and claims checked out, or a
// static token whose digest matched). It holds no token material.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate {

enum class PrincipalSource { Jwt, Static };

inline std::string_view source_name(PrincipalSource s) noexcept {
  return s == PrincipalSource::Jwt ? "jwt" : "static";
}

// Stytch B2B puts {"organization_id", "slug"} under the "https://stytch.com/organization" claim.
struct Organization {
  std::string id;
  std::string slug;
};

struct Principal {
  PrincipalSource source = PrincipalSource::Jwt;
  std::string issuer;               // jwt: the token's "iss"; static: empty
  std::string token_name;           // static: the configured token name; jwt: empty
  std::string subject;              // "sub", or a static token's configured subject (defaults to its name)
  std::string client_id;            // "client_id" (RFC 9068), falling back to "azp"
  std::vector<std::string> scopes;  // from "scope" (space-separated) or "scp" (array); static: configured
  std::optional<Organization> organization;
  std::optional<std::int64_t>
      expires_at;  // Unix seconds ("exp" rounded down); none for a non-expiring static token
  std::string jti;
  nlohmann::json claims = nlohmann::json::object();  // the whole verified payload (jwt only)

  bool has_scope(std::string_view scope) const noexcept {
    for (const auto& s : scopes)
      if (s == scope) return true;
    return false;
  }
};

}  // namespace mcpgate
