// static_tokens.hpp — long-lived bearer tokens for scripts and Claude Code, configured by digest only.
//
//   mcpgate::auth::StaticTokens tokens(config.static_tokens, clock);
//   mcpgate::Result<mcpgate::auth::Authenticated> r = tokens.authenticate(mcpgate::auth::digest_token(bearer));
//   if (r.ok()) use(*r->principal);                                  // source Static, token_name = the name
//   else if (r.reason == mcpgate::Reason::StaticTokenExpired) ...    // r.detail says which one
//
// The configuration holds SHA-256 digests, never tokens. Lookup compares the presented digest with EVERY
// configured digest using CRYPTO_memcmp and no early exit, so response timing reveals neither whether nor
// which token matched.
#pragma once

#include <mcpgate/clock.hpp>
#include <mcpgate/config.hpp>
#include <mcpgate/principal.hpp>
#include <mcpgate/status.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/token_digest.hpp"

namespace mcpgate::auth {

// Who a bearer token turned out to be (a static token here, or a JWT through Authenticator).
struct Authenticated {
  std::shared_ptr<const Principal> principal;  // never null; shared: nothing is copied per request
};

class StaticTokens {
 public:
  // `tokens` must already be validated (config loader): digests are 64 hex characters.
  StaticTokens(const std::vector<StaticTokenConfig>& tokens, std::shared_ptr<const Clock> clock);

  // StaticTokenUnknown, StaticTokenExpired (detail: "static token NAME") or the token's principal.
  Result<Authenticated> authenticate(const TokenDigest& digest) const;
  std::size_t size() const noexcept { return entries_.size(); }

 private:
  struct Entry {
    TokenDigest digest;
    std::shared_ptr<const Principal> principal;
  };
  std::vector<Entry> entries_;
  std::shared_ptr<const Clock> clock_;
};

}  // namespace mcpgate::auth
