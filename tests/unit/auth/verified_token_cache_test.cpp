// The verified-token cache: keyed by digest, bounded, never outlives exp or ttl, safe under concurrency.
#include "auth/verified_token_cache.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "auth/jwks_fetcher.hpp"

namespace mcpgate::auth {
namespace {

std::shared_ptr<const Principal> principal(std::optional<std::int64_t> exp, std::string sub = "u") {
  auto p = std::make_shared<Principal>();
  p->subject = std::move(sub);
  p->expires_at = exp;
  return p;
}

TEST(VerifiedTokenCache, HitReturnsTheStoredPrincipal) {
  auto clock = std::make_shared<ManualClock>(1000);
  VerifiedTokenCache cache(100, 300, clock);
  cache.put(digest_token("a"), principal(5000, "alice"), 2, "kid-1");
  auto hit = cache.get(digest_token("a"));
  ASSERT_TRUE(hit);
  EXPECT_EQ(hit->principal->subject, "alice");
  EXPECT_EQ(hit->issuer_index, 2u);
  EXPECT_EQ(hit->kid, "kid-1");
  EXPECT_FALSE(cache.get(digest_token("b")));
  EXPECT_EQ(cache.hits(), 1u);
  EXPECT_EQ(cache.misses(), 1u);
}

TEST(VerifiedTokenCache, EntryEndsAtTtl) {
  auto clock = std::make_shared<ManualClock>(1000);
  VerifiedTokenCache cache(100, 300, clock);
  cache.put(digest_token("a"), principal(100000), 0, "");
  clock->advance(std::chrono::seconds(299));
  EXPECT_TRUE(cache.get(digest_token("a")));
  clock->advance(std::chrono::seconds(1));
  EXPECT_FALSE(cache.get(digest_token("a")));
}

TEST(VerifiedTokenCache, EntryNeverOutlivesTokenExp) {
  auto clock = std::make_shared<ManualClock>(1000);
  VerifiedTokenCache cache(100, 300, clock);
  cache.put(digest_token("a"), principal(1010), 0, "");
  clock->advance(std::chrono::seconds(10));
  EXPECT_FALSE(cache.get(digest_token("a")));
  cache.put(digest_token("late"), principal(999), 0, "");  // accepted only thanks to leeway: not cached
  EXPECT_EQ(cache.size(), 0u);
}

TEST(VerifiedTokenCache, BoundedByMaxEntries) {
  auto clock = std::make_shared<ManualClock>(1000);
  VerifiedTokenCache cache(160, 300, clock);
  for (int i = 0; i < 5000; ++i) cache.put(digest_token(std::to_string(i)), principal(9999), 0, "");
  EXPECT_LE(cache.size(), 160u);
  EXPECT_TRUE(cache.get(digest_token("4999")));  // most recent survives
}

TEST(VerifiedTokenCache, ZeroEntriesDisablesCaching) {
  VerifiedTokenCache cache(0, 300, std::make_shared<ManualClock>(1000));
  cache.put(digest_token("a"), principal(9999), 0, "");
  EXPECT_FALSE(cache.get(digest_token("a")));
}

TEST(VerifiedTokenCache, ConcurrentPutsAndGetsStayConsistent) {
  auto clock = std::make_shared<ManualClock>(1000);
  VerifiedTokenCache cache(1000, 300, clock);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        auto d = digest_token(std::to_string(t * 100000 + i % 300));
        if (auto hit = cache.get(d)) {
          EXPECT_EQ(hit->principal->subject, std::to_string(t));
        } else {
          cache.put(d, principal(9999, std::to_string(t)), 0, "");
        }
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_LE(cache.size(), 1000u + 16u);
}

TEST(CacheControl, ReadsMaxAgeAndTreatsNoStoreAsZero) {
  EXPECT_EQ(parse_cache_control_max_age("public, max-age=300"), 300);
  EXPECT_EQ(parse_cache_control_max_age("max-age=\"60\", must-revalidate"), 60);
  EXPECT_EQ(parse_cache_control_max_age("no-store"), 0);
  EXPECT_EQ(parse_cache_control_max_age("private"), std::nullopt);
  EXPECT_EQ(parse_cache_control_max_age("max-age=-5"), std::nullopt);
  EXPECT_EQ(parse_cache_control_max_age("max-age=abc"), std::nullopt);
}

}  // namespace
}  // namespace mcpgate::auth
