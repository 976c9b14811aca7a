// as_metadata_mirror.hpp — the Stytch project's RFC 8414 metadata, served on our own origin for older
// clients.
//
//   mcpgate::http::AsMetadataMirror mirror(config, fetcher);    // fetcher: auth::JwksFetcher (same hygiene)
//   mcpgate::http::MirroredDocument d = mirror.get();            // {ok, body, max_age}; fetched on first use
//
// MCP 2025-03-26 clients and ChatGPT probe /.well-known/oauth-authorization-server on the MCP host itself.
// The document is served as fetched (clients verify its "issuer" against the AS), cached with the JWKS
// cache's rules: the server's Cache-Control max-age clamped to [jwks.min_max_age, jwks.max_max_age],
// jwks.default_max_age without one, and the last good copy kept for jwks.max_stale while the AS fails.
//
// A slow or hanging AS must not stall discovery: the mutex is never held across the network. One fetch at a
// time, and only the request that starts it waits for it (bounded by jwks.connect_timeout + total_timeout);
// requests arriving meanwhile get the stale copy if there is one, else a failure at once. A failed fetch is
// not retried for the key sets' retry interval (min(10 s, jwks.min_max_age), as JwksCache), so a down AS is
// not asked once per request and callers get the cached failure immediately.
#pragma once

#include <chrono>
#include <mcpgate/config.hpp>
#include <memory>
#include <mutex>
#include <string>

#include "auth/jwks_fetcher.hpp"

namespace mcpgate::http {

struct MirroredDocument {
  bool ok = false;
  std::string body;
};

class AsMetadataMirror {
 public:
  AsMetadataMirror(const Config& config, std::shared_ptr<auth::JwksFetcher> fetcher);
  MirroredDocument get();
  const std::string& source_url() const noexcept { return url_; }

 private:
  MirroredDocument answer_without_fetching(std::chrono::steady_clock::time_point now) const;

  std::string url_;
  JwksConfig limits_;
  std::shared_ptr<auth::JwksFetcher> fetcher_;
  std::mutex mutex_;  // guards the members below; never held across a fetch
  std::string body_;  // the last good document ("" before the first success)
  std::chrono::steady_clock::time_point fresh_until_{}, stale_until_{};
  std::chrono::steady_clock::time_point next_attempt_{};  // no fetch before this (after a failure)
  bool fetching_ = false;                                 // a request is fetching right now
};

}  // namespace mcpgate::http
