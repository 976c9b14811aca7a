#include "auth/verified_token_cache.hpp"

#include <algorithm>

namespace mcpgate::auth {

VerifiedTokenCache::VerifiedTokenCache(std::size_t max_entries, double ttl_seconds,
                                       std::shared_ptr<const Clock> clock)
    : per_shard_(max_entries == 0 ? 0 : std::max<std::size_t>(1, (max_entries + kShards - 1) / kShards)),
      ttl_seconds_(ttl_seconds),
      clock_(std::move(clock)) {}

std::optional<CachedToken> VerifiedTokenCache::get(const TokenDigest& digest) {
  if (per_shard_ == 0) return std::nullopt;
  Shard& shard = shard_for(digest);
  const double now = clock_->now_seconds();
  std::lock_guard lock(shard.mutex);
  auto it = shard.index.find(digest);
  if (it == shard.index.end()) {
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  if (it->second->second.valid_until <= now) {
    shard.lru.erase(it->second);
    shard.index.erase(it);
    misses_.fetch_add(1, std::memory_order_relaxed);
    return std::nullopt;
  }
  shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
  hits_.fetch_add(1, std::memory_order_relaxed);
  return it->second->second;
}

void VerifiedTokenCache::put(const TokenDigest& digest, std::shared_ptr<const Principal> principal,
                             std::size_t issuer_index, std::string kid) {
  if (per_shard_ == 0 || !principal) return;
  const double now = clock_->now_seconds();
  double valid_until = now + ttl_seconds_;
  if (principal->expires_at) valid_until = std::min(valid_until, static_cast<double>(*principal->expires_at));
  if (valid_until <= now) return;
  CachedToken entry{std::move(principal), issuer_index, std::move(kid), valid_until};
  Shard& shard = shard_for(digest);
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.index.find(digest); it != shard.index.end()) {
    it->second->second = std::move(entry);
    shard.lru.splice(shard.lru.begin(), shard.lru, it->second);
    return;
  }
  shard.lru.emplace_front(digest, std::move(entry));
  shard.index.emplace(digest, shard.lru.begin());
  while (shard.lru.size() > per_shard_) {
    shard.index.erase(shard.lru.back().first);
    shard.lru.pop_back();
  }
}

void VerifiedTokenCache::erase(const TokenDigest& digest) {
  Shard& shard = shard_for(digest);
  std::lock_guard lock(shard.mutex);
  if (auto it = shard.index.find(digest); it != shard.index.end()) {
    shard.lru.erase(it->second);
    shard.index.erase(it);
  }
}

std::size_t VerifiedTokenCache::size() const {
  std::size_t total = 0;
  for (auto& shard : shards_) {
    std::lock_guard lock(shard.mutex);
    total += shard.lru.size();
  }
  return total;
}

}  // namespace mcpgate::auth
