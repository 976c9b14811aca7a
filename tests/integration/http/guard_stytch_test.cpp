// Integration: a real Guard on a real httplib::Server judging RS256 JWTs signed for a fake Stytch project
// (a real HTTP server on 127.0.0.1 serving the JWKS and the RFC 8414 metadata), and mirroring that metadata.
#include <gtest/gtest.h>
#include <httplib.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <mcpgate/guard.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>
#include <vector>

#include "jose/test_signer.hpp"
#include "support/fake_stytch.hpp"

namespace mcpgate {
namespace {

using jose::testing::KeyKind;
using jose::testing::TestKey;
using testing::FakeStytch;

const std::string kMetadataUrl = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

long long now_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class GuardWithStytch : public ::testing::Test {
 protected:
  void SetUp() override { stytch_.set_keys({key_.public_jwk("kid-1")}); }

  // Builds the Guard against the fake and starts serving; call after choosing the fake's mode.
  void start() {
    Config c;
    c.server.public_url = "https://mcp.example.com/mcp";
    c.server.threads = 4;
    c.stytch = StytchConfig{stytch_.project_id(), stytch_.base_url(), {"https://mcp.example.com/mcp"}, {}};
    c.jwks.connect_timeout = 1;
    c.jwks.total_timeout = 3;
    RouteConfig mcp;
    mcp.prefix = "/mcp";
    mcp.scopes = {"mcp:read", "mcp:write"};
    c.routes = {mcp};
    auto created = Guard::create(c);
    ASSERT_TRUE(created.ok()) << created.message();
    guard_ = std::move(*created);
    guard_->install(server_);
    server_.set_tcp_nodelay(true);
    // What the access log and the refusal metric are fed: the Guard's outcome, read on the request's thread.
    server_.set_logger([this](const httplib::Request& req, const httplib::Response&) {
      std::lock_guard lock(logged_mutex_);
      logged_reasons_.emplace_back(reason_name(guard_->outcome(req).reason));
      logged_cv_.notify_all();
    });
    server_.Post("/mcp", [this](const httplib::Request& req, httplib::Response& res) {
      const Principal* who = guard_->principal(req);
      nlohmann::json j = {{"subject", who ? who->subject : "<none>"},
                          {"client_id", who ? who->client_id : ""},
                          {"scopes", who ? who->scopes : std::vector<std::string>{}}};
      res.set_content(j.dump(), "application/json");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void TearDown() override {
    stytch_.release();
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }

  nlohmann::json claims() {
    long long now = now_seconds();
    return {{"iss", stytch_.base_url()},
            {"sub", "user-test-7"},
            {"aud", {stytch_.project_id()}},
            {"client_id", "connected-app-test-7"},
            {"scope", "openid mcp:read mcp:write"},
            {"iat", now},
            {"nbf", now},
            {"exp", now + 3600},
            {"jti", "jti-" + std::to_string(++jti_)}};
  }
  std::string sign(const nlohmann::json& claims) {
    return jose::testing::sign_token(key_, "RS256", {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}},
                                     claims);
  }
  std::string token(const nlohmann::json& extra = nlohmann::json::object()) {
    nlohmann::json c = claims();
    for (auto& [k, v] : extra.items()) c[k] = v;
    return sign(c);
  }
  std::string token_without(const char* claim) {
    nlohmann::json c = claims();
    c.erase(claim);
    return sign(c);
  }
  // True once the access log has seen a request refused for `reason` (cpp-httplib logs after the response is
  // written, so wait, bounded).
  bool logged(std::string_view reason) {
    std::unique_lock lock(logged_mutex_);
    return logged_cv_.wait_for(lock, std::chrono::seconds(5), [&] {
      return std::find(logged_reasons_.begin(), logged_reasons_.end(), reason) != logged_reasons_.end();
    });
  }

  httplib::Client client(int port) {
    httplib::Client c("127.0.0.1", port);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(10);
    return c;
  }
  httplib::Result post_mcp(const std::string& bearer) {
    return client(port_).Post("/mcp", {{"Authorization", "Bearer " + bearer}}, "{}", "application/json");
  }
  // The Guard fetches keys in the background: poll (bounded) until it stops answering 503.
  httplib::Result post_mcp_once_keys_are_in(const std::string& bearer) {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    for (;;) {
      auto r = post_mcp(bearer);
      if (!r || r->status != 503 || std::chrono::steady_clock::now() > deadline) return r;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  FakeStytch stytch_;
  const TestKey& key_ = TestKey::shared(KeyKind::Rsa2048);
  httplib::Server server_;
  std::unique_ptr<Guard> guard_;
  std::thread thread_;
  int port_ = 0;
  int jti_ = 0;
  std::mutex logged_mutex_;
  std::condition_variable logged_cv_;
  std::vector<std::string> logged_reasons_;
};

TEST_F(GuardWithStytch, StytchSignedJwtReachesTheHandlerWithItsSubjectAndScopes) {
  start();
  auto r = post_mcp_once_keys_are_in(token());
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  auto j = nlohmann::json::parse(r->body);
  EXPECT_EQ(j["subject"], "user-test-7");
  EXPECT_EQ(j["client_id"], "connected-app-test-7");
  EXPECT_EQ(j["scopes"], nlohmann::json::array({"openid", "mcp:read", "mcp:write"}));
}

TEST_F(GuardWithStytch, NotReadyWhileTheIssuerHasNoKeys) {
  stytch_.set_mode(FakeStytch::Mode::Error500);  // the key set never arrives
  start();
  const Status ready = guard_->ready();
  EXPECT_EQ(ready.reason, Reason::KeysUnavailable);
  EXPECT_NE(ready.detail.find("has no keys yet"), std::string::npos) << ready.detail;
  EXPECT_FALSE(guard_->stats().issuers.at(0).has_keys);
}

TEST_F(GuardWithStytch, ReadyOnceTheIssuerHasKeysAndStatsCountTheWork) {
  start();
  const std::string jwt = token();
  auto r = post_mcp_once_keys_are_in(jwt);
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_TRUE(guard_->ready().ok()) << guard_->ready().message();
  ASSERT_EQ(post_mcp(jwt)->status, 200);  // the same token again: a verified-token cache hit
  const GuardStats stats = guard_->stats();
  ASSERT_EQ(stats.issuers.size(), 1u);
  EXPECT_TRUE(stats.issuers[0].has_keys);
  EXPECT_GE(stats.issuers[0].fetches, 1u);
  EXPECT_EQ(stats.signature_checks, 1u);
  EXPECT_GE(stats.cache_hits, 1u);
}

TEST_F(GuardWithStytch, ExpiredJwtGets401InvalidTokenWithTheExactChallenge) {
  start();
  ASSERT_EQ(post_mcp_once_keys_are_in(token())->status, 200);  // keys are in: the verdict is about exp
  long long past = now_seconds() - 7200;
  auto r = post_mcp(token({{"iat", past}, {"nbf", past}, {"exp", past + 600}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(
      r->get_header_value("WWW-Authenticate"),
      "Bearer realm=\"mcpgate\", error=\"invalid_token\", error_description=\"The token has expired.\", "
      "resource_metadata=\"" +
          kMetadataUrl + "\", scope=\"mcp:read mcp:write\"");
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "invalid_token");
}

// RFC 9068 §2.2 requires "sub": without it every such token would be one shared anonymous principal (and
// one session owner in the gateway).
TEST_F(GuardWithStytch, TokenWithoutSubjectIsRefused) {
  start();
  ASSERT_EQ(post_mcp_once_keys_are_in(token())->status, 200);  // keys are in: the verdict is about sub
  auto r = post_mcp(token_without("sub"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401) << r->body;
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "invalid_token");
  EXPECT_NE(r->get_header_value("WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos);
  EXPECT_TRUE(logged("sub_missing"));
}

TEST_F(GuardWithStytch, TokenWithEmptySubjectIsRefused) {
  start();
  ASSERT_EQ(post_mcp_once_keys_are_in(token())->status, 200);
  auto r = post_mcp(token({{"sub", ""}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401) << r->body;
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "invalid_token");
  EXPECT_TRUE(logged("sub_missing"));
}

TEST_F(GuardWithStytch, JwtLackingScopeGets403InsufficientScopeNamingTheRouteScopes) {
  start();
  auto r = post_mcp_once_keys_are_in(token({{"scope", "openid mcp:read"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"),
            "Bearer realm=\"mcpgate\", error=\"insufficient_scope\", error_description=\"The token lacks a "
            "scope this route requires.\", resource_metadata=\"" +
                kMetadataUrl + "\", scope=\"mcp:read mcp:write\"");
}

TEST_F(GuardWithStytch, ValidJwtBeforeAnyKeySetIsServedGets503WithRetryAfterWhileStytchHangs) {
  stytch_.set_mode(FakeStytch::Mode::Hang);
  start();
  ASSERT_TRUE(stytch_.wait_for_blocked_request(std::chrono::seconds(5)));
  auto r = post_mcp(token());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_TRUE(r->has_header("Retry-After"));
  EXPECT_GE(std::atoi(r->get_header_value("Retry-After").c_str()), 1);
  EXPECT_FALSE(r->has_header("WWW-Authenticate"));  // not the client's fault: no Bearer challenge
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "keys_unavailable");
}

TEST_F(GuardWithStytch, ValidJwtGets503WithRetryAfterWhenStytchIsDownFromTheStart) {
  // The fake answers once first, so stop() finds its listener running (a stop before listen() would be lost).
  const std::string base = stytch_.base_url();
  ASSERT_TRUE(client(std::stoi(base.substr(base.rfind(':') + 1))).Get("/.well-known/jwks.json"));
  stytch_.stop();
  start();
  auto r = post_mcp(token());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503) << r->body;
  EXPECT_GE(std::atoi(r->get_header_value("Retry-After").c_str()), 1);
}

TEST_F(GuardWithStytch, AsMetadataMirrorServesExactlyWhatStytchServesAndKeepsItWhenStytchGoesDown) {
  start();
  const std::string base = stytch_.base_url();
  auto original =
      client(std::stoi(base.substr(base.rfind(':') + 1))).Get("/.well-known/oauth-authorization-server");
  ASSERT_TRUE(original);
  ASSERT_EQ(original->status, 200);
  for (const char* path :
       {"/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/mcp"}) {
    auto r = client(port_).Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->body, original->body) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json") << path;
  }
  stytch_.stop();
  for (const char* path :
       {"/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/mcp"}) {
    auto r = client(port_).Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->body, original->body) << path;
  }
}

// A hanging authorization server must not serialize the mirror: the request that starts the fetch waits for
// it (bounded by jwks.total_timeout, 3 s here), the others meanwhile get the failure at once, and the AS sees
// one fetch, not one per request.
TEST_F(GuardWithStytch, MirrorFetchIsWaitedOnByOneRequestOnly) {
  stytch_.set_metadata_mode(FakeStytch::Mode::Hang);
  start();
  constexpr int kRequests = 8;
  std::vector<int> statuses(kRequests, 0);
  std::vector<std::thread> clients;
  const auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back([this, i, &statuses] {
      auto r = client(port_).Get("/.well-known/oauth-authorization-server");
      statuses[i] = r ? r->status : -1;
    });
  }
  for (auto& t : clients) t.join();
  const auto took = std::chrono::steady_clock::now() - began;
  for (int i = 0; i < kRequests; ++i) EXPECT_EQ(statuses[i], 502) << "request " << i;
  EXPECT_EQ(stytch_.metadata_hits(), 1);
  // One fetch is at most 3 s (the total timeout); serialized, the eight would take 24 s.
  EXPECT_LT(took, std::chrono::seconds(12));
}

// After a failed fetch the next caller is answered at once from the cached failure: a down AS is not asked
// again on every request.
TEST_F(GuardWithStytch, MirrorFailureIsCachedBriefly) {
  stytch_.set_metadata_mode(FakeStytch::Mode::Error500);
  start();
  auto first = client(port_).Get("/.well-known/oauth-authorization-server");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 502);
  EXPECT_EQ(nlohmann::json::parse(first->body)["error"], "upstream_unavailable");
  ASSERT_EQ(stytch_.metadata_hits(), 1);
  stytch_.set_metadata_mode(FakeStytch::Mode::Normal);  // recovered, but the failure is still cached
  for (const char* path :
       {"/.well-known/oauth-authorization-server", "/.well-known/oauth-authorization-server/mcp"}) {
    auto r = client(port_).Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 502) << path;
  }
  EXPECT_EQ(stytch_.metadata_hits(), 1);
}

}  // namespace
}  // namespace mcpgate
