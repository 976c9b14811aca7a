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

Reason check_organization(const nlohmann::json& payload, const std::vector<std::string>& allowed,
                          std::string& detail) {
  if (allowed.empty()) return Reason::Ok;
  auto org = payload.find(jose::kStytchOrganizationClaim);
  if (org == payload.end() || !org->is_object() || !org->contains("organization_id") ||
      !(*org)["organization_id"].is_string()) {
    detail = "the token carries no organization";
    return Reason::OrganizationNotAllowed;
  }
  const std::string id = (*org)["organization_id"].get<std::string>();
  if (std::find(allowed.begin(), allowed.end(), id) == allowed.end()) {
    detail = "organization " + id + " is not in stytch.allowed_organizations";
    return Reason::OrganizationNotAllowed;
  }
  return Reason::Ok;
}

}  // namespace

std::unique_ptr<Authenticator> Authenticator::create(const Config& config, std::string* error,
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
      if (!loaded.keys) {
        if (error) *error = "issuer " + profile.name + ": jwks_file " + loaded.error;
        return nullptr;
      }
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
  return auth;
}

AuthResult Authenticator::authenticate(std::string_view token) {
  if (token.empty()) return {Reason::MalformedToken, "empty bearer token", nullptr, 0};
  if (token.size() > jose::kMaxTokenBytes) return {Reason::TokenTooLarge, "", nullptr, 0};
  const TokenDigest digest = digest_token(token);

  if (auto hit = token_cache_->get(digest)) {
    // Still served by the issuer's current key set? (A key dropped by a refresh stops working; past
    // max_stale, 503.)
    KeyLookup still = caches_[hit->issuer_index]->peek(hit->kid);
    if (still.reason == Reason::Ok) return {Reason::Ok, "", hit->principal, 0};
    if (still.reason == Reason::KeysStale) {
      return {Reason::KeysStale, "issuer " + profiles_[hit->issuer_index].name, nullptr, still.retry_after};
    }
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

AuthResult Authenticator::authenticate_jwt(std::string_view token, std::size_t issuer_index,
                                           const TokenDigest& digest) {
  const IssuerProfile& profile = profiles_[issuer_index];
  AuthResult out;
  out.detail = "issuer " + profile.name;
  jose::DecodedJws jws;
  out.reason = jose::decode_compact(token, profile.algorithms, jws);
  if (out.reason != Reason::Ok) return out;
  jose::ClaimRules rules{profile.issuers, profile.audiences, leeway_};
  out.reason = jose::check_claims(jws.payload, rules, clock_->now_seconds());
  if (out.reason != Reason::Ok) return out;
  std::string org_detail;
  out.reason = check_organization(jws.payload, profile.allowed_organizations, org_detail);
  if (out.reason != Reason::Ok) {
    out.detail += "; " + org_detail;
    return out;
  }

  // Only now: the key (maybe a shared, rate-limited refetch) and one signature.
  KeyLookup found = caches_[issuer_index]->find(jws.has_kid ? std::string_view(jws.kid) : std::string_view());
  if (found.reason != Reason::Ok) {
    out.reason = found.reason;
    out.retry_after = found.retry_after;
    return out;
  }
  if (found.key) {
    signature_checks_.fetch_add(1, std::memory_order_relaxed);
    out.reason = jose::verify_signature(jws, *found.key);
  } else {
    // No kid: try each key that allows the algorithm (RFC 7515 §4.1.4 makes kid optional).
    out.reason = Reason::KeyNotFound;
    for (const auto& key : found.keys->keys()) {
      if (!key.allows(jws.alg)) continue;
      signature_checks_.fetch_add(1, std::memory_order_relaxed);
      out.reason = jose::verify_signature(jws, key);
      if (out.reason == Reason::Ok) break;
    }
  }
  if (out.reason != Reason::Ok) return out;

  Principal principal = jose::principal_from_claims(jws.payload);
  principal.source = PrincipalSource::Jwt;
  auto shared = std::make_shared<const Principal>(std::move(principal));
  token_cache_->put(digest, shared, issuer_index, jws.kid);
  out.principal = std::move(shared);
  return out;
}

AuthResult Authenticator::authenticate_static(const TokenDigest& digest, bool looked_like_jwt) {
  StaticTokenResult r = static_tokens_.load()->authenticate(digest);
  AuthResult out;
  out.reason = r.reason;
  if (r.reason == Reason::Ok) {
    out.detail = "static token " + r.name;
    out.principal = std::move(r.principal);
  } else if (r.reason == Reason::StaticTokenExpired) {
    out.detail = "static token " + r.name;
  } else if (looked_like_jwt) {
    out.reason =
        Reason::IssuerUnknown;  // a JWT from an issuer we do not trust says more than "unknown token"
    out.detail = "not a configured issuer, not a static token";
  }
  return out;
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
