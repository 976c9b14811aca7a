#include "http/as_metadata_mirror.hpp"

#include <algorithm>

#include "http/resource_metadata.hpp"

namespace mcpgate::http {
namespace {

std::chrono::steady_clock::duration seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

}  // namespace

AsMetadataMirror::AsMetadataMirror(const Config& config, std::shared_ptr<auth::JwksFetcher> fetcher)
    : limits_(config.jwks), fetcher_(std::move(fetcher)) {
  auto servers = authorization_servers(config);
  if (config.stytch && !servers.empty()) url_ = servers.front() + "/.well-known/oauth-authorization-server";
}

// Stale-if-error: the last good copy while it is within max_stale, else the failure.
MirroredDocument AsMetadataMirror::answer_without_fetching(std::chrono::steady_clock::time_point now) const {
  if (!body_.empty() && now < stale_until_) return {true, body_};
  return {false, {}};
}

MirroredDocument AsMetadataMirror::get() {
  std::unique_lock lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  if (!body_.empty() && now < fresh_until_) return {true, body_};
  if (url_.empty() || !fetcher_) return {false, {}};
  // Someone else is fetching, or the last attempt failed a moment ago: answer now rather than queue behind
  // the network (a hanging AS would otherwise serve one caller per fetch timeout).
  if (fetching_ || now < next_attempt_) return answer_without_fetching(now);

  fetching_ = true;
  lock.unlock();
  auth::FetchResponse r = fetcher_->get(url_);  // bounded by the fetcher's connect and total timeouts
  lock.lock();
  fetching_ = false;
  now = std::chrono::steady_clock::now();
  if (r.ok) {
    double age =
        std::clamp(r.max_age.value_or(limits_.default_max_age), limits_.min_max_age, limits_.max_max_age);
    body_ = std::move(r.body);
    fresh_until_ = now + seconds(age);
    stale_until_ = fresh_until_ + seconds(limits_.max_stale);
    return {true, body_};
  }
  // The key sets' retry interval (JwksCache's retry_interval, as the Authenticator sets it): a down AS is
  // asked at most this often, and callers meanwhile get the cached outcome at once.
  next_attempt_ = now + seconds(std::min(10.0, limits_.min_max_age));
  return answer_without_fetching(now);
}

}  // namespace mcpgate::http
