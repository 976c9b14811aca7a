// jwks_cache.hpp — one issuer's signing keys: fetched in the background, served without waiting, kept through
// outages.
//
//   auto cache = mcpgate::auth::JwksCache::create(options, loader, clock);   // starts fetching at once
//   mcpgate::Result<mcpgate::jose::KeyChoice> found = cache->find(kid);       // jose::verify_jwt's key lookup
//   switch (found.reason) {
//     case Reason::Ok:              ...  // found->key (found->keys keeps it alive); no kid: the whole set
//     case Reason::KeyNotFound:     ...  // refetched at most once per cooldown, shared by every caller
//     case Reason::KeysUnavailable: ...  // never had keys yet: 503 + Retry-After found.retry_after
//     case Reason::KeysStale:       ...  // refreshes failed for longer than max_stale: 503
//   }
//   cache->stats();                      // fetches, failures, key-set age: for /metrics
//
// The rules (docs/configuration.md [jwks], jose's model made stricter):
// - Freshness is Cache-Control max-age clamped to [min_max_age, max_max_age] (default when absent). A refresh
//   starts in the background once refresh_ahead of it has elapsed, so a request never waits for a set the
//   cache already has.
// - An unknown kid triggers at most ONE refetch per unknown_kid_cooldown; concurrent callers share the fetch
//   in flight and wait for it at most `unknown_kid_wait`. Fetch results carry sequence numbers: an older one
//   never replaces a newer set.
// - Stale-if-error: a failed refresh (timeout, 5xx, 3xx, oversized or not a key set) keeps the last good set
//   in service up to max_stale past its expiry (each failure counted and logged), then KeysStale. A
//   successful refresh replaces the set: keys it drops stop working.
// - Every timing decision reads the injected Clock; the background thread waits on a condition variable, so
//   the destructor stops it promptly (after at most one fetch already in progress, itself bounded by its
//   timeouts).
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mcpgate/clock.hpp>
#include <mcpgate/status.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "core/shared_slot.hpp"
#include "jose/jwk.hpp"
#include "jose/verifier.hpp"

namespace mcpgate::auth {

// What one load of the key set produced: the parsed set, or why not.
struct KeySetFetch {
  std::shared_ptr<const jose::JwkSet> keys;  // null on failure; never an empty or invalid set
  std::optional<double> max_age;             // from Cache-Control
  std::string error;
};
using KeySetLoader = std::function<KeySetFetch()>;

struct JwksCacheOptions {
  std::string name;  // for logs: the issuer
  double default_max_age = 600;
  double min_max_age = 60;
  double max_max_age = 86400;
  double unknown_kid_cooldown = 30;
  double max_stale = 86400;
  double refresh_ahead = 0.8;
  double retry_interval = 10;  // after a failed fetch, the next attempt waits this long (clock seconds)
  std::chrono::milliseconds unknown_kid_wait{6000};  // real time a caller waits for a shared refetch
  std::function<void(std::string_view)> warn;        // default: one line on stderr
};

struct JwksStats {
  std::uint64_t fetches = 0;  // attempts
  std::uint64_t fetch_failures = 0;
  std::uint64_t unknown_kid_refetches = 0;  // refetches triggered by an unknown kid
  std::uint64_t stale_serves = 0;           // lookups answered from an expired (stale-if-error) set
  bool has_keys = false;
  std::size_t key_count = 0;
  double key_set_age = -1;  // seconds since the set in service was fetched; -1 before the first
  double expires_in = 0;    // seconds until the set in service expires (negative: serving stale)
  std::string last_error;
};

class JwksCache {
 public:
  // Starts the background thread, which fetches immediately.
  static std::shared_ptr<JwksCache> create(JwksCacheOptions options, KeySetLoader loader,
                                           std::shared_ptr<const Clock> clock);
  // A fixed set (jwks_file): never fetched, never expires.
  static std::shared_ptr<JwksCache> fixed(std::string name, std::shared_ptr<const jose::JwkSet> keys);

  ~JwksCache();
  JwksCache(const JwksCache&) = delete;
  JwksCache& operator=(const JwksCache&) = delete;

  // The key for `kid` (empty kid: Ok with key == nullptr and the whole set, the caller tries each key).
  // May wait (bounded) for the shared unknown-kid refetch; never waits for anything else.
  Result<jose::KeyChoice> find(std::string_view kid);
  // Like find() but never triggers a refetch nor waits: is this kid still served? (verified-token cache hits)
  Result<jose::KeyChoice> peek(std::string_view kid);

  // Blocks (real time) until the first key set arrived or the timeout passed. For the CLI and startup probes.
  bool wait_for_keys(std::chrono::milliseconds timeout);
  // Asks for a refresh now (respecting nothing but an in-flight fetch) and waits for it, bounded. For tests
  // and ops.
  bool refresh_now(std::chrono::milliseconds timeout);

  JwksStats stats() const;
  const std::string& name() const noexcept { return options_.name; }

 private:
  struct Snapshot {
    std::shared_ptr<const jose::JwkSet> keys;
    double fetched_at = 0;
    double refresh_at = 0;
    double expires_at = 0;
    std::uint64_t sequence = 0;
  };

  JwksCache(JwksCacheOptions options, KeySetLoader loader, std::shared_ptr<const Clock> clock);
  void run();
  void request_refresh_locked(double now);
  Result<jose::KeyChoice> lookup(const std::shared_ptr<const Snapshot>& snapshot, std::string_view kid,
                                 double now);
  double retry_after_locked(double now) const;

  JwksCacheOptions options_;
  KeySetLoader loader_;
  std::shared_ptr<const Clock> clock_;
  bool fixed_ = false;

  SharedSlot<Snapshot> snapshot_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;  // the background thread waits here
  std::condition_variable done_;  // callers waiting for a fetch to complete wait here
  bool stop_ = false;
  bool requested_ = false;
  bool in_flight_ = false;
  std::uint64_t next_sequence_ = 0;
  std::uint64_t completed_ = 0;
  double next_attempt_at_ = 0;
  double last_unknown_kid_refetch_ = -1e300;
  std::string last_error_;

  std::atomic<std::uint64_t> fetches_{0}, failures_{0}, unknown_kid_refetches_{0}, stale_serves_{0};
  std::thread thread_;
};

}  // namespace mcpgate::auth
