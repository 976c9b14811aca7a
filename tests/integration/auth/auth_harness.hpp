// auth_harness.hpp — a fake Stytch project, real keys and an Authenticator on a ManualClock, for the auth
// scenarios.
//
//   AuthHarness h;                                  // fake Stytch serving kid-1, Authenticator started, keys
//   fetched auto r = h.auth->authenticate(h.token({{"scope", "mcp:read"}}));
//   h.clock->advance(std::chrono::hours(10));       // time moves only when the test says so
#pragma once

#include <gtest/gtest.h>

#include <atomic>
#include <mcpgate/config.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "auth/authenticator.hpp"
#include "jose/test_signer.hpp"
#include "support/fake_stytch.hpp"

namespace mcpgate::testing {

inline constexpr double kStart = 1'900'000'000;

struct AuthHarness {
  FakeStytch stytch;
  std::shared_ptr<ManualClock> clock = std::make_shared<ManualClock>(kStart);
  const jose::testing::TestKey& key1 = jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048);
  Config config;
  // Before `auth`: members are destroyed in reverse order, and the Authenticator's background fetcher may log
  // into these until the Authenticator is gone (it joins that thread).
  std::mutex warn_mutex;
  std::vector<std::string> warnings;
  std::unique_ptr<auth::Authenticator> auth;
  std::atomic<int> jti{0};  // tokens are minted from several threads in the flood tests

  AuthHarness() {
    stytch.set_keys({key1.public_jwk("kid-1")});
    config.stytch = StytchConfig{stytch.project_id(), stytch.base_url(), {"https://mcp.example.com/mcp"}, {}};
    config.jwks.connect_timeout = 1;
    config.jwks.total_timeout = 3;
  }

  // Creates the Authenticator; `wait` blocks (bounded) for the first key set.
  void start(bool wait = true) {
    auto created = auth::Authenticator::create(config, clock, nullptr, [this](std::string_view line) {
      std::lock_guard lock(warn_mutex);
      warnings.emplace_back(line);
    });
    ASSERT_TRUE(created.ok()) << created.message();
    auth = std::move(*created);
    if (wait) {
      ASSERT_TRUE(auth->wait_for_keys(std::chrono::seconds(10)));
    }
  }

  nlohmann::json claims(const nlohmann::json& extra = nlohmann::json::object()) {
    nlohmann::json c = {{"iss", stytch.base_url()},
                        {"sub", "user-test-1"},
                        {"aud", {stytch.project_id()}},
                        {"client_id", "connected-app-test-1"},
                        {"scope", "openid mcp:read"},
                        {"iat", clock->now_seconds()},
                        {"nbf", clock->now_seconds()},
                        {"exp", clock->now_seconds() + 3600},
                        {"jti", "jti-" + std::to_string(++jti)}};
    for (auto& [k, v] : extra.items()) c[k] = v;
    return c;
  }

  std::string token(const nlohmann::json& extra = nlohmann::json::object(), const std::string& kid = "kid-1",
                    const jose::testing::TestKey* key = nullptr) {
    return jose::testing::sign_token(key ? *key : key1, "RS256",
                                     {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", kid}}, claims(extra));
  }

  auth::JwksCache& cache() { return auth->key_cache(0); }

  // Bounded poll (real time) for something the background thread does.
  template <class Predicate>
  static bool eventually(Predicate p, std::chrono::milliseconds limit = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (p()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return p();
  }
};

}  // namespace mcpgate::testing
