// verified_token_cache.hpp — remembers tokens that passed every check, so repeat requests skip the signature
// work.
//
//   mcpgate::auth::VerifiedTokenCache cache(10000, 300, clock);       // max entries, ttl seconds
//   mcpgate::auth::TokenDigest d = mcpgate::auth::digest_token(bearer);
//   if (auto hit = cache.get(d)) use(*hit->principal);               // no JSON, no RSA: a hash lookup
//   else { ...verify...; cache.put(d, principal, {.issuer_index = i, .kid = kid}); }
//
// Keyed by the token's SHA-256 (the token itself is never stored). An entry lives until min(exp, now + ttl)
// by the injected clock, so the cache can never extend a token's life; only verified tokens are ever put, so
// an invalid token is never answered from here. Bounded: 16 shards, each an LRU list under its own mutex
// (max_entries / 16 per shard), so concurrent requests rarely contend. max_entries 0 disables caching.
#pragma once

#include <array>
#include <atomic>
#include <list>
#include <mcpgate/clock.hpp>
#include <mcpgate/principal.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "auth/token_digest.hpp"

namespace mcpgate::auth {

struct CachedToken {
  std::shared_ptr<const Principal> principal;
  std::size_t issuer_index =
      0;  // which issuer's key set verified it (re-checked on each hit: dropped keys stop)
  std::string kid;
  double valid_until = 0;
};

class VerifiedTokenCache {
 public:
  VerifiedTokenCache(std::size_t max_entries, double ttl_seconds, std::shared_ptr<const Clock> clock);

  std::optional<CachedToken> get(const TokenDigest& digest);
  // Stores a verified principal until min(principal.expires_at, now + ttl); does nothing when that is already
  // past.
  void put(const TokenDigest& digest, std::shared_ptr<const Principal> principal, std::size_t issuer_index,
           std::string kid);
  void erase(const TokenDigest& digest);

  std::size_t size() const;
  std::uint64_t hits() const noexcept { return hits_.load(std::memory_order_relaxed); }
  std::uint64_t misses() const noexcept { return misses_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kShards = 16;
  struct DigestHash {
    std::size_t operator()(const TokenDigest& d) const noexcept {
      std::size_t h = 0;
      for (int i = 0; i < 8; ++i) h = (h << 8) | d[static_cast<std::size_t>(8 + i)];  // already uniform
      return h;
    }
  };
  struct Shard {
    mutable std::mutex mutex;
    std::list<std::pair<TokenDigest, CachedToken>> lru;  // front = most recently used
    std::unordered_map<TokenDigest, std::list<std::pair<TokenDigest, CachedToken>>::iterator, DigestHash>
        index;
  };
  Shard& shard_for(const TokenDigest& d) noexcept { return shards_[d[0] % kShards]; }

  std::size_t per_shard_;
  double ttl_seconds_;
  std::shared_ptr<const Clock> clock_;
  std::array<Shard, kShards> shards_;
  std::atomic<std::uint64_t> hits_{0}, misses_{0};
};

}  // namespace mcpgate::auth
