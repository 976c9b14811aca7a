// The JWKS cache against a fake Stytch over real HTTP, time driven by a ManualClock: rotation, unknown-kid
// floods, a ten-hour outage, a hanging issuer, garbage answers, and the wait for the very first keys.
#include <atomic>
#include <random>
#include <thread>

#include "auth_harness.hpp"

namespace mcpgate::testing {
namespace {

using std::chrono::hours;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST(JwksCache, NewKidAcceptedAfterExactlyOneRefetch) {
  AuthHarness h;
  h.start();
  auto key2 = jose::testing::TestKey::generate(jose::testing::KeyKind::Rsa2048);
  h.stytch.set_keys(
      {h.key1.public_jwk("kid-1"), key2.public_jwk("kid-2")});  // the issuer rotates in a new key
  const int hits = h.stytch.jwks_hits();
  Result<auth::Authenticated> r = h.auth->authenticate(h.token({}, "kid-2", &key2));
  ASSERT_EQ(r.reason, Reason::Ok) << r.detail;
  EXPECT_EQ(h.stytch.jwks_hits(), hits + 1);
  EXPECT_EQ(h.cache().stats().unknown_kid_refetches, 1u);
}

TEST(JwksCache, RetiredKeyRefusedAfterRefreshEvenWhenTokenWasCached) {
  AuthHarness h;
  h.start();
  std::string old_token = h.token();
  ASSERT_EQ(h.auth->authenticate(old_token).reason, Reason::Ok);  // now in the verified-token cache
  auto key2 = jose::testing::TestKey::generate(jose::testing::KeyKind::Rsa2048);
  h.stytch.set_keys({key2.public_jwk("kid-2")});  // kid-1 retired
  ASSERT_TRUE(h.cache().refresh_now(seconds(10)));
  EXPECT_EQ(h.auth->authenticate(old_token).reason, Reason::KeyNotFound);
  EXPECT_EQ(h.auth->authenticate(h.token({}, "kid-2", &key2)).reason, Reason::Ok);
}

TEST(JwksCache, UnknownKidFloodFetchesAtMostOncePerCooldown) {
  AuthHarness h;
  h.start();
  const int hits = h.stytch.jwks_hits();
  // Every request carries a fresh random kid and a valid-looking payload, from several threads at once.
  auto flood = [&](int seed) {
    std::mt19937 rng(static_cast<unsigned>(seed));
    for (int i = 0; i < 500; ++i) {
      std::string kid = "attacker-" + std::to_string(rng());
      Result<auth::Authenticated> r = h.auth->authenticate(h.token({{"jti", kid}}, kid));
      if (r.reason != Reason::KeyNotFound) ADD_FAILURE() << reason_name(r.reason);
    }
  };
  // Tokens are signed up front per thread inside flood(); signing is the slow part, not the cache.
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) threads.emplace_back(flood, t);
  for (auto& t : threads) t.join();
  EXPECT_LE(h.stytch.jwks_hits(), hits + 1);
  EXPECT_LE(h.cache().stats().unknown_kid_refetches, 1u);

  h.clock->advance(seconds(31));  // one cooldown later: one more refetch allowed, no more
  const int after_first = h.stytch.jwks_hits();
  std::vector<std::thread> again;
  for (int t = 0; t < 4; ++t) again.emplace_back(flood, 100 + t);
  for (auto& t : again) t.join();
  EXPECT_LE(h.stytch.jwks_hits(), after_first + 1);
  EXPECT_GE(h.stytch.jwks_hits(), after_first);
}

TEST(JwksCache, TenHourOutageKeepsKnownKeysThenKeysStaleAfterMaxStale) {
  AuthHarness h;
  h.start();
  ASSERT_EQ(h.auth->authenticate(h.token()).reason, Reason::Ok);
  h.stytch.stop();  // the issuer goes away
  h.clock->advance(hours(10));
  Result<auth::Authenticated> during =
      h.auth->authenticate(h.token({{"exp", h.clock->now_seconds() + 3600}}));
  EXPECT_EQ(during.reason, Reason::Ok) << during.detail;
  ASSERT_TRUE(AuthHarness::eventually([&] { return h.cache().stats().fetch_failures >= 1; }));
  EXPECT_GE(h.cache().stats().stale_serves, 1u);
  {
    std::lock_guard lock(h.warn_mutex);
    ASSERT_FALSE(h.warnings.empty());
    EXPECT_NE(h.warnings.back().find("keeping the key set"), std::string::npos) << h.warnings.back();
  }
  h.clock->advance(hours(15));  // 25 h without a successful refresh: past expiry + max_stale (24 h)
  Result<auth::Authenticated> after = h.auth->authenticate(h.token({{"exp", h.clock->now_seconds() + 3600}}));
  EXPECT_EQ(after.reason, Reason::KeysStale);
  EXPECT_EQ(http_status(after.reason), 503);
  EXPECT_GT(after.retry_after, 0);
}

TEST(JwksCache, CachedTokenAlsoRefusedOnceKeysAreTooStale) {
  AuthHarness h;
  h.config.token_cache.ttl_seconds = 86400;
  h.start();
  std::string token = h.token({{"exp", kStart + 3 * 86400}});
  ASSERT_EQ(h.auth->authenticate(token).reason, Reason::Ok);
  h.stytch.stop();
  h.clock->advance(hours(25));
  EXPECT_EQ(h.auth->authenticate(token).reason, Reason::KeysStale);
}

TEST(JwksCache, SlowIssuerNeverDelaysRequestsForCachedKeys) {
  AuthHarness h;
  h.stytch.set_cache_control("max-age=60");
  h.start();
  h.stytch.set_mode(FakeStytch::Mode::Hang);
  h.clock->advance(
      seconds(55));  // past refresh_ahead (80% of 60 s): the next request starts a background refresh
  ASSERT_EQ(h.auth->authenticate(h.token()).reason, Reason::Ok);
  ASSERT_TRUE(h.stytch.wait_for_blocked_request(seconds(10)));  // the refresh is now stuck inside the issuer
  for (int i = 0; i < 50; ++i) ASSERT_EQ(h.auth->authenticate(h.token()).reason, Reason::Ok);
  // All 50 completed while the issuer was still holding the refresh: nobody waited on it.
  EXPECT_TRUE(h.stytch.wait_for_blocked_request(milliseconds(0)));
  h.stytch.release();
}

TEST(JwksCache, FailedRefreshesKeepTheOldKeys) {
  const FakeStytch::Mode modes[] = {FakeStytch::Mode::Garbage, FakeStytch::Mode::Error500,
                                    FakeStytch::Mode::Redirect, FakeStytch::Mode::Huge};
  for (auto mode : modes) {
    AuthHarness h;
    h.start();
    h.stytch.set_mode(mode);
    ASSERT_TRUE(h.cache().refresh_now(seconds(10)));
    auto stats = h.cache().stats();
    EXPECT_EQ(stats.fetch_failures, 1u) << static_cast<int>(mode);
    EXPECT_FALSE(stats.last_error.empty());
    EXPECT_EQ(h.auth->authenticate(h.token()).reason, Reason::Ok) << static_cast<int>(mode);
  }
}

TEST(JwksCache, KeysUnavailableUntilTheFirstKeySetArrives) {
  AuthHarness h;
  h.stytch.set_mode(FakeStytch::Mode::Hang);
  h.start(/*wait=*/false);
  ASSERT_TRUE(h.stytch.wait_for_blocked_request(seconds(10)));
  Result<auth::Authenticated> r = h.auth->authenticate(h.token());
  EXPECT_EQ(r.reason, Reason::KeysUnavailable);
  EXPECT_EQ(http_status(r.reason), 503);
  EXPECT_GE(r.retry_after, 1);
  h.stytch.release();
  ASSERT_TRUE(h.auth->wait_for_keys(seconds(10)));
  EXPECT_EQ(h.auth->authenticate(h.token()).reason, Reason::Ok);
}

TEST(JwksCache, HonoursCacheControlMaxAgeWithinBounds) {
  AuthHarness h;
  h.stytch.set_cache_control("public, max-age=1");  // clamped up to min_max_age (60 s)
  h.start();
  const int hits = h.stytch.jwks_hits();
  h.clock->advance(seconds(30));
  ASSERT_EQ(h.auth->authenticate(h.token()).reason, Reason::Ok);
  EXPECT_FALSE(AuthHarness::eventually([&] { return h.stytch.jwks_hits() > hits; }, milliseconds(300)));
  h.clock->advance(seconds(20));  // 50 s > 80% of 60 s: refresh in the background
  ASSERT_EQ(h.auth->authenticate(h.token()).reason, Reason::Ok);
  EXPECT_TRUE(AuthHarness::eventually([&] { return h.stytch.jwks_hits() > hits; }));
}

TEST(JwksCache, DestructionStopsPromptlyWhileIdle) {
  AuthHarness h;
  h.start();
  h.auth.reset();  // must not hang: the background thread waits on a condition variable
  SUCCEED();
}

}  // namespace
}  // namespace mcpgate::testing
