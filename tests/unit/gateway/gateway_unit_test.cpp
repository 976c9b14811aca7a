// The gateway's pure parts: upstream URL mapping, header hygiene, session binding, the worker pool.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mcpgate/clock.hpp>
#include <thread>

#include "gateway/headers.hpp"
#include "gateway/session_registry.hpp"
#include "gateway/upstream.hpp"

namespace mcpgate::gateway {
namespace {

using namespace std::chrono_literals;

TEST(Upstream, BasePathReplacesThePrefixAndNoBasePathKeepsThePath) {
  auto with_base = parse_upstream("http://127.0.0.1:3000/mcp/");
  ASSERT_TRUE(with_base);
  EXPECT_EQ(with_base->origin, "http://127.0.0.1:3000");
  EXPECT_EQ(with_base->map_path("/coda", "/coda"), "/mcp");
  EXPECT_EQ(with_base->map_path("/coda", "/coda/x/y"), "/mcp/x/y");
  auto bare = parse_upstream("https://up.example.com");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->tls);
  EXPECT_EQ(bare->map_path("/mcp", "/mcp/x"), "/mcp/x");
  EXPECT_FALSE(parse_upstream("ftp://x"));
  EXPECT_FALSE(parse_upstream("http://user@host/"));
  EXPECT_FALSE(parse_upstream("http:///nohost"));
}

TEST(Headers, CanonicalNameFoldsCaseAndUnderscore) {
  EXPECT_EQ(canonical_header_name("X_Auth-SUBJECT"), "x-auth-subject");
  EXPECT_EQ(canonical_header_name("authorization"), "authorization");
}

TEST(Headers, RequestHeadersDropClientCopiesOfEverythingWeSetAndKeepTheRest) {
  Config config;
  config.gateway.claim_to_headers = {{"email", "X-Auth-Email"}};
  RouteConfig route;
  route.prefix = "/mcp";
  route.inject_headers = {{"X-Service-Token", "svc"}};
  UpstreamHeaderPlan plan(config, route);
  HeaderList client = {{"Authorization", "Bearer client"},
                             {"x_auth_subject", "mallory"},
                             {"X-AUTH-EMAIL", "evil@example.com"},
                             {"x-service-token", "forged"},
                             {"Connection", "keep-alive, X-Hop"},
                             {"X-Hop", "1"},
                             {"TE", "trailers"},
                             {"Accept", "application/json"},
                             {"Mcp-Session-Id", "s-1"}};
  Principal who;
  who.source = PrincipalSource::Jwt;
  who.subject = "user-1";
  who.scopes = {"a", "b"};
  who.claims = {{"email", "user@example.com"}};
  auto out = plan.request_headers(client, {.principal = &who,
                                           .remote_addr = "10.0.0.9",
                                           .remote_trusted = false,
                                           .request_id = "rid-1",
                                           .scheme = "https",
                                           .injected = {{"X-Service-Token", "svc"}}});
  auto count = [&](const std::string& name) {
    int n = 0;
    for (const auto& [k, v] : out)
      if (canonical_header_name(k) == canonical_header_name(name)) ++n;
    return n;
  };
  EXPECT_EQ(count("Authorization"), 0);
  EXPECT_EQ(count("X-Hop"), 0);
  EXPECT_EQ(count("TE"), 0);
  EXPECT_EQ(count("Connection"), 0);
  EXPECT_EQ(count("X-Auth-Subject"), 1);
  auto value = [&](const std::string& name) {
    for (const auto& [k, v] : out)
      if (canonical_header_name(k) == canonical_header_name(name)) return v;
    return std::string("<absent>");
  };
  EXPECT_EQ(value("X-Auth-Subject"), "user-1");
  EXPECT_EQ(value("X-Auth-Scopes"), "a b");
  EXPECT_EQ(count("X-Auth-Email"), 1);
  EXPECT_EQ(value("X-Auth-Email"), "user@example.com");
  EXPECT_EQ(count("X-Service-Token"), 1);
  EXPECT_EQ(value("X-Service-Token"), "svc");
  EXPECT_EQ(value("X-Forwarded-For"), "10.0.0.9");
  EXPECT_EQ(value("X-Forwarded-Proto"), "https");
  EXPECT_EQ(value("X-Request-Id"), "rid-1");
  EXPECT_EQ(value("Accept"), "application/json");
  EXPECT_EQ(value("Mcp-Session-Id"), "s-1");
}

TEST(Headers, TrustedProxyExtendsForwardedForAndAClaimWithCrLfNeverBecomesAHeader) {
  Config config;
  config.gateway.claim_to_headers = {{"note", "X-Note"}};
  RouteConfig route;
  UpstreamHeaderPlan plan(config, route);
  Principal who;
  who.subject = "u";
  who.claims = {{"note", "line1\r\nX-Evil: 1"}};
  HeaderList client = {{"X-Forwarded-For", "1.2.3.4"}, {"X-Forwarded-Proto", "https"}};
  auto out = plan.request_headers(client, {.principal = &who,
                                           .remote_addr = "127.0.0.1",
                                           .remote_trusted = true,
                                           .request_id = "r",
                                           .scheme = "http",
                                           .injected = {}});
  auto value = [&](const std::string& name) {
    for (const auto& [k, v] : out)
      if (k == name) return v;
    return std::string("<absent>");
  };
  EXPECT_EQ(value("X-Forwarded-For"), "1.2.3.4, 127.0.0.1");
  EXPECT_EQ(value("X-Forwarded-Proto"), "https");
  EXPECT_EQ(value("X-Note"), "<absent>");
}

TEST(Headers, ResponseHeadersDropHopByHopAndFramingKeepTheEncodingAndOurs) {
  HeaderList res = {{"Access-Control-Allow-Origin", "https://ours.example"}};
  HeaderList upstream = {{"Connection", "close, X-Up-Hop"},
                         {"X-Up-Hop", "1"},
                         {"Content-Length", "10"},
                         {"Transfer-Encoding", "chunked"},
                         {"Content-Encoding", "gzip"},
                         {"Access-Control-Allow-Origin", "*"},
                         {"Set-Cookie", "a=1"},
                         {"Set-Cookie", "b=2"},
                         {"Mcp-Session-Id", "s-9"}};
  copy_response_headers(upstream, res);
  auto count = [&](const std::string& name) {
    int n = 0;
    for (const auto& [k, v] : res) n += k == name;
    return n;
  };
  auto value = [&](const std::string& name) {
    for (const auto& [k, v] : res)
      if (k == name) return v;
    return std::string("<absent>");
  };
  EXPECT_EQ(count("X-Up-Hop"), 0);
  EXPECT_EQ(count("Content-Length"), 0);
  EXPECT_EQ(count("Transfer-Encoding"), 0);
  EXPECT_EQ(value("Content-Encoding"), "gzip") << "the body is relayed as it is, so its label stays";
  EXPECT_EQ(value("Access-Control-Allow-Origin"), "https://ours.example");
  EXPECT_EQ(count("Access-Control-Allow-Origin"), 1);
  EXPECT_EQ(count("Set-Cookie"), 2);
  EXPECT_EQ(value("Mcp-Session-Id"), "s-9");
}

TEST(SessionRegistry, TheFirstOwnerKeepsTheSessionOthersAreForeign) {
  auto clock = std::make_shared<ManualClock>(1000);
  SessionRegistry sessions(10, 10, 60, clock);
  EXPECT_EQ(sessions.check("s", "alice"), SessionCheck::Unknown);
  sessions.bind("s", "alice");
  sessions.bind("s", "bob");  // never rebinds
  EXPECT_EQ(sessions.check("s", "alice"), SessionCheck::Owner);
  EXPECT_EQ(sessions.check("s", "bob"), SessionCheck::Foreign);
  sessions.forget("s");
  EXPECT_EQ(sessions.check("s", "bob"), SessionCheck::Unknown);
}

TEST(SessionRegistry, IsBoundedAndForgetsIdleBindings) {
  auto clock = std::make_shared<ManualClock>(1000);
  SessionRegistry sessions(3, 3, 60, clock);
  for (const char* s : {"a", "b", "c"}) sessions.bind(s, "o");
  EXPECT_EQ(sessions.check("a", "o"), SessionCheck::Owner);  // a is now the most recently used
  sessions.bind("d", "o");                                   // evicts the least recently used: b
  EXPECT_EQ(sessions.size(), 3u);
  EXPECT_EQ(sessions.check("b", "x"), SessionCheck::Unknown);
  EXPECT_EQ(sessions.check("a", "x"), SessionCheck::Foreign);
  clock->advance(std::chrono::seconds(61));
  EXPECT_EQ(sessions.check("a", "x"), SessionCheck::Unknown);
  EXPECT_EQ(sessions.size(), 0u);
}

TEST(SessionRegistry, OnePrincipalOpeningSessionsInALoopForgetsOnlyItsOwn) {
  auto clock = std::make_shared<ManualClock>(1000);
  SessionRegistry sessions(100, 3, 60, clock);
  sessions.bind("alice-1", "alice");
  for (int i = 0; i < 50; ++i) sessions.bind("m-" + std::to_string(i), "mallory");
  EXPECT_EQ(sessions.check("alice-1", "alice"), SessionCheck::Owner);
  EXPECT_EQ(sessions.size(), 4u);  // alice's one and mallory's three newest
  EXPECT_EQ(sessions.check("m-49", "mallory"), SessionCheck::Owner);
  EXPECT_EQ(sessions.check("m-46", "mallory"), SessionCheck::Unknown);
  sessions.forget("alice-1");
  sessions.bind("alice-2", "alice");
  EXPECT_EQ(sessions.check("alice-2", "alice"), SessionCheck::Owner);
}

}  // namespace
}  // namespace mcpgate::gateway
