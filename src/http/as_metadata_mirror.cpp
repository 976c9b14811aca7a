#include "http/as_metadata_mirror.hpp"

#include <algorithm>

#include "http/resource_metadata.hpp"

namespace mcpgate::http {

AsMetadataMirror::AsMetadataMirror(const Config& config, std::shared_ptr<auth::JwksFetcher> fetcher)
    : limits_(config.jwks), fetcher_(std::move(fetcher)) {
  auto servers = authorization_servers(config);
  if (config.stytch && !servers.empty()) url_ = servers.front() + "/.well-known/oauth-authorization-server";
}

MirroredDocument AsMetadataMirror::get() {
  std::lock_guard lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (!body_.empty() && now < fresh_until_) return {true, body_};
  if (url_.empty() || !fetcher_) return {false, {}};
  auth::FetchResponse r = fetcher_->get(url_);
  if (r.ok) {
    double age =
        std::clamp(r.max_age.value_or(limits_.default_max_age), limits_.min_max_age, limits_.max_max_age);
    body_ = r.body;
    fresh_until_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(age));
    stale_until_ = fresh_until_ + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                      std::chrono::duration<double>(limits_.max_stale));
    return {true, body_};
  }
  if (!body_.empty() && now < stale_until_) {
    // Stale-if-error; retry at most once per unknown_kid_cooldown so a down AS is not hammered.
    fresh_until_ = now + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(limits_.unknown_kid_cooldown));
    return {true, body_};
  }
  return {false, {}};
}

}  // namespace mcpgate::http
