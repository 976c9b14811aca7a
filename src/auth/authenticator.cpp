#include "auth/authenticator.hpp"

#include <algorithm>

#include "jose/base64url.hpp"
#include "jose/claims.hpp"
#include "jose/jws.hpp"

namespace mcpgate::auth {
namespace {

// The "iss" of a bearer value that is shaped like a compact JWS, without any verification: it only routes the
// token to the right path (the JWT path re-decodes strictly). std::nullopt = not JWT-shaped or no string
// "iss".
std::optional<std::string> peek_issuer(std::string_view token, bool& jwt_shaped) {
  jwt_shaped = false;
  if (token.size() > jose::kMaxTokenBytes || std::count(token.begin(), token.end(), '.') != 2)
    return std::nullopt;
  std::size_t first = token.find('.');
  std::size_t second = token.find('.', first + 1);
  auto payload_text = jose::base64url_decode(token.substr(first + 1, second - first - 1));
  if (!payload_text) return std::nullopt;
  nlohmann::json payload = nlohmann::json::parse(*payload_text, nullptr, false);
  if (!payload.is_object()) return std::nullopt;
  jwt_shaped = true;
  auto iss = payload.find("iss");
  if (iss == payload.end() || !iss->is_string()) return std::nullopt;
  return iss->get<std::string>();
}

}  // namespace

Result<std::unique_ptr<Authenticator>> Authenticator::create(const Config& config,
                                                             std::shared_ptr<const Clock> clock,
                                                             std::shared_ptr<JwksFetcher> fetcher,
                                                             std::function<void(std::string_view)> warn) {
  std::unique_ptr<Authenticator> auth(new Authenticator());
  auth->clock_ = clock;
  auth->leeway_ = config.auth.leeway_seconds;
  auth->profiles_ = derive_issuer_profiles(config);
  auth->static_tokens_.store(std::make_shared<const StaticTokens>(config.static_tokens, clock));
  auth->token_cache_ = std::make_unique<VerifiedTokenCache>(config.token_cache.max_entries,
                                                            config.token_cache.ttl_seconds, clock);
  const JwksConfig& j = config.jwks;
  for (const auto& profile : auth->profiles_) {
    if (!profile.jwks_file.empty()) {
      KeySetFetch loaded = load_key_set_file(profile.jwks_file);
      if (!loaded.keys)
        return Status{Reason::KeySetInvalid, "issuer " + profile.name + ": jwks_file " + loaded.error};
      auth->caches_.push_back(JwksCache::fixed(profile.name, loaded.keys));
      continue;
    }
    auto issuer_fetcher = fetcher;
    if (!issuer_fetcher) {
      issuer_fetcher = JwksFetcher::create({.connect_timeout = j.connect_timeout,
                                            .total_timeout = j.total_timeout,
                                            .max_body_bytes = j.max_body_bytes,
                                            .allow_insecure = profile.allow_insecure});
    }
    JwksCacheOptions options{.name = profile.name,
                             .default_max_age = j.default_max_age,
                             .min_max_age = j.min_max_age,
                             .max_max_age = j.max_max_age,
                             .unknown_kid_cooldown = j.unknown_kid_cooldown,
                             .max_stale = j.max_stale,
                             .refresh_ahead = j.refresh_ahead,
                             .retry_interval = std::min(10.0, j.min_max_age),
                             .unknown_kid_wait = std::chrono::milliseconds(
                                 static_cast<long long>((j.connect_timeout + j.total_timeout) * 1000) + 500),
                             .warn = warn};
    auth->caches_.push_back(
        JwksCache::create(std::move(options), make_key_set_loader(profile, issuer_fetcher), clock));
  }
  for (const auto& profile : auth->profiles_) {
    auth->verify_options_.push_back({.issuers = profile.issuers,
                                     .audiences = profile.audiences,
                                     .leeway_seconds = auth->leeway_,
                                     .algorithms = profile.algorithms,
                                     .allowed_organizations = profile.allowed_organizations,
                                     .clock = clock,
                                     .signature_checks = &auth->signature_checks_});
  }
  return auth;
}

Result<Authenticated> Authenticator::authenticate(std::string_view token) {
  if (token.empty()) return Status{Reason::MalformedToken, "empty bearer token"};
  if (token.size() > jose::kMaxTokenBytes) return Status{Reason::TokenTooLarge};
  const TokenDigest digest = digest_token(token);

  if (auto hit = token_cache_->get(digest)) {
    // Still served by the issuer's current key set? (A key dropped by a refresh stops working; past
    // max_stale, 503.)
    Result<jose::KeyChoice> still = caches_[hit->issuer_index]->peek(hit->kid);
    if (still.ok()) return Authenticated{hit->principal};
    if (still.reason == Reason::KeysStale)
      return Status{Reason::KeysStale, "issuer " + profiles_[hit->issuer_index].name, still.retry_after};
    token_cache_->erase(digest);  // re-verify from scratch below
  }

  bool jwt_shaped = false;
  if (auto iss = peek_issuer(token, jwt_shaped)) {
    for (std::size_t i = 0; i < profiles_.size(); ++i) {
      const auto& accepted = profiles_[i].issuers;
      if (std::find(accepted.begin(), accepted.end(), *iss) != accepted.end()) {
        return authenticate_jwt(token, i, digest);
      }
    }
  }
  return authenticate_static(digest, jwt_shaped);
}

Result<Authenticated> Authenticator::authenticate_jwt(std::string_view token, std::size_t issuer_index,
                                                      const TokenDigest& digest) {
  JwksCache& keys = *caches_[issuer_index];
  Result<jose::VerifiedJwt> verified = jose::verify_jwt(
      token, [&keys](std::string_view kid) { return keys.find(kid); }, verify_options_[issuer_index]);
  if (!verified.ok()) {
    Status refused = verified.status();
    const std::string issuer = "issuer " + profiles_[issuer_index].name;
    refused.detail = refused.detail.empty() ? issuer : issuer + ": " + refused.detail;
    return refused;
  }
  auto shared = std::make_shared<const Principal>(std::move(verified->principal));
  token_cache_->put(digest, shared, issuer_index, verified->kid);
  return Authenticated{std::move(shared)};
}

Result<Authenticated> Authenticator::authenticate_static(const TokenDigest& digest, bool looked_like_jwt) {
  Result<Authenticated> r = static_tokens_.load()->authenticate(digest);
  // A JWT from an issuer we do not trust says more than "unknown token".
  if (r.reason == Reason::StaticTokenUnknown && looked_like_jwt)
    return Status{Reason::IssuerUnknown, "not a configured issuer, not a static token"};
  return r;
}

void Authenticator::replace_static_tokens(const std::vector<StaticTokenConfig>& tokens) {
  static_tokens_.store(std::make_shared<const StaticTokens>(tokens, clock_));
}

bool Authenticator::wait_for_keys(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  bool all = true;
  for (auto& cache : caches_) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    all = cache->wait_for_keys(std::max(left, std::chrono::milliseconds(0))) && all;
  }
  return all;
}

AuthenticatorStats Authenticator::stats() const {
  return {token_cache_->hits(), token_cache_->misses(), signature_checks_.load(), token_cache_->size()};
}

}  // namespace mcpgate::auth
