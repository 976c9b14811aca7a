// The gateway's pure parts: upstream URL mapping, header hygiene, session binding, the worker pool.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mcpgate/clock.hpp>
#include <thread>

#include "gateway/headers.hpp"
#include "gateway/session_seal.hpp"
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
                                           .injected = {{"X-Service-Token", "svc"}},
                                           .session_id = "upstream-1"});
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
  // The client's (sealed) session id never goes upstream; the upstream's own id does, once.
  EXPECT_EQ(value("Mcp-Session-Id"), "upstream-1");
  EXPECT_EQ(count("Mcp-Session-Id"), 1);
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

TEST(SessionSeal, OpensOnlyForTheOwnerAndTheRouteItWasSealedFor) {
  auto seal = SessionSeal::create("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  ASSERT_TRUE(seal.ok());
  const std::string id = seal.value->seal("jwt\nhttps://as\nalice", "upstream-7", "/mcp");
  EXPECT_EQ(id.rfind("ms1.", 0), 0u);
  EXPECT_EQ(id.find("upstream-7"), std::string::npos)
      << "the upstream's id is not readable from the sealed one";
  EXPECT_EQ(seal.value->open(id, "jwt\nhttps://as\nalice", "/mcp"), "upstream-7");
  EXPECT_EQ(seal.value->open(id, "jwt\nhttps://as\nbob", "/mcp"), std::nullopt);
  EXPECT_EQ(seal.value->open(id, "jwt\nhttps://as\nalice", "/other"), std::nullopt);
  EXPECT_FALSE(seal.value->ephemeral());
}

TEST(SessionSeal, AnyAlteredByteOrForeignFormIsRefused) {
  auto seal = SessionSeal::create("k1:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=");
  ASSERT_TRUE(seal.ok());
  const std::string id = seal.value->seal("static\nalice", "s-1", "/mcp");
  for (std::size_t i = 4; i < id.size(); ++i) {
    std::string altered = id;
    altered[i] = altered[i] == 'A' ? 'B' : 'A';
    EXPECT_EQ(seal.value->open(altered, "static\nalice", "/mcp"), std::nullopt) << i;
  }
  for (const std::string& bad :
       {std::string(), std::string("s-1"), std::string("ms1."), std::string("ms1.!!"), std::string("ms1.AA"),
        id.substr(0, id.size() - 1), std::string(5000, 'A')})
    EXPECT_EQ(seal.value->open(bad, "static\nalice", "/mcp"), std::nullopt) << bad;
}

TEST(SessionSeal, RotatedRingOpensOldIdsAndSealsWithTheNewKey) {
  const std::string old_key = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
  const std::string new_key = "new:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";
  auto before = SessionSeal::create(old_key);
  auto after = SessionSeal::create(new_key + "," + old_key);
  auto new_only = SessionSeal::create(new_key);
  ASSERT_TRUE(before.ok() && after.ok() && new_only.ok());
  const std::string old_id = before.value->seal("o", "u", "/r");
  EXPECT_EQ(after.value->open(old_id, "o", "/r"), "u");
  EXPECT_EQ(new_only.value->open(old_id, "o", "/r"), std::nullopt) << "a retired key opens nothing";
  const std::string new_id = after.value->seal("o", "u2", "/r");
  EXPECT_EQ(before.value->open(new_id, "o", "/r"), std::nullopt);
  EXPECT_EQ(new_only.value->open(new_id, "o", "/r"), "u2");
}

TEST(SessionSeal, WithoutKeysAProcessKeyIsMadeAndBadKeysAreRefused) {
  auto a = SessionSeal::create("");
  auto b = SessionSeal::create("");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_TRUE(a.value->ephemeral());
  EXPECT_EQ(b.value->open(a.value->seal("o", "u", "/r"), "o", "/r"), std::nullopt);
  EXPECT_FALSE(SessionSeal::create("k1:short").ok());
  EXPECT_FALSE(SessionSeal::create("no-colon").ok());
}

}  // namespace
}  // namespace mcpgate::gateway
