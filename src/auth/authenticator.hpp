// authenticator.hpp — the authenticate stage: one bearer token in, a Principal or a precise Reason out.
//
//   auto created = mcpgate::auth::Authenticator::create(config);  // starts fetching every issuer's JWKS
//   if (!created.ok()) die(created.message());                      // e.g. an unreadable jwks_file
//   mcpgate::auth::Authenticator& auth = **created;
//   mcpgate::Result<mcpgate::auth::Authenticated> r = auth.authenticate(bearer);  // thread-safe
//   if (r.ok()) {
//     const mcpgate::auth::RouteRule& rule = routes.match(method, path);
//     mcpgate::Reason z = mcpgate::auth::RouteRules::authorize(rule, *r->principal);  // Ok, InsufficientScope
//   } else {
//     int status = mcpgate::http_status(r.reason);  // 401, or 503 with Retry-After: r.retry_after
//   }
//
// The chain (docs/configuration.md, "Chain"): a bearer value that parses as a JWT whose payload's "iss" is a configured
// issuer goes to that issuer's JWT path ONLY; anything else goes to the static tokens. The JWT path is
// jose::verify_jwt with the issuer's JwksCache as key lookup: the cheap checks first, then the key (which may
// trigger the single-flight unknown-kid refetch) and exactly one signature.
// Verified tokens are remembered by digest (VerifiedTokenCache); a hit re-checks only that the verifying key
// is still served and not stale. A Principal always says its source: Jwt (issuer = "iss") or Static
// (token_name).
#pragma once

#include <atomic>
#include <chrono>
#include <mcpgate/clock.hpp>
#include <mcpgate/config.hpp>
#include <mcpgate/principal.hpp>
#include <mcpgate/status.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/issuer.hpp"
#include "auth/jwks_cache.hpp"
#include "auth/jwks_fetcher.hpp"
#include "auth/static_tokens.hpp"
#include "auth/verified_token_cache.hpp"
#include "core/shared_slot.hpp"
#include "jose/verifier.hpp"

namespace mcpgate::auth {

struct AuthenticatorStats {
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t signature_checks = 0;  // EVP verifications actually performed
  std::size_t cached_tokens = 0;
};

class Authenticator {
 public:
  // `fetcher` defaults to JwksFetcher::create with the [jwks] timeouts; `warn` to stderr lines.
  // Refused (KeySetInvalid) when an issuer's jwks_file cannot be read.
  static Result<std::unique_ptr<Authenticator>> create(const Config& config,
                                                       std::shared_ptr<const Clock> clock = Clock::system(),
                                                       std::shared_ptr<JwksFetcher> fetcher = nullptr,
                                                       std::function<void(std::string_view)> warn = nullptr);

  // Thread-safe. A refusal's detail starts with the issuer or the static token's name; retry_after is set for
  // the 503 reasons (KeysUnavailable, KeysStale).
  Result<Authenticated> authenticate(std::string_view token);

  const std::vector<IssuerProfile>& issuers() const noexcept { return profiles_; }
  JwksCache& key_cache(std::size_t issuer_index) { return *caches_.at(issuer_index); }
  // Waits (real time, bounded) until every issuer has had keys once. False on timeout.
  bool wait_for_keys(std::chrono::milliseconds timeout);
  AuthenticatorStats stats() const;
  // SIGHUP: the new [[static_tokens]] take over at once (removed tokens stop working with the next request).
  void replace_static_tokens(const std::vector<StaticTokenConfig>& tokens);

 private:
  Authenticator() = default;
  Result<Authenticated> authenticate_jwt(std::string_view token, std::size_t issuer_index,
                                         const TokenDigest& digest);
  Result<Authenticated> authenticate_static(const TokenDigest& digest, bool looked_like_jwt);

  std::shared_ptr<const Clock> clock_;
  double leeway_ = 60;
  std::vector<IssuerProfile> profiles_;
  std::vector<jose::VerifyOptions> verify_options_;  // one per issuer, index-aligned with profiles_
  std::vector<std::shared_ptr<JwksCache>> caches_;
  SharedSlot<StaticTokens> static_tokens_;
  std::unique_ptr<VerifiedTokenCache> token_cache_;
  std::atomic<std::uint64_t> signature_checks_{0};
};

}  // namespace mcpgate::auth
