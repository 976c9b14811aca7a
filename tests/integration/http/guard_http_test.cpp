// Integration: a real mcpgate::Guard installed on a real httplib::Server on 127.0.0.1, spoken to over real
// sockets (cpp-httplib's client, and raw sockets for the hardening regressions that a well-behaved client
// cannot send).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <fstream>
#include <mcpgate/guard.hpp>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "auth/token_digest.hpp"
#include "jose/test_signer.hpp"

namespace mcpgate {
namespace {

constexpr const char* kReadToken = "static-read-token-0123456789";
constexpr const char* kAdminToken = "static-admin-token-0123456789";

Config test_config() {
  Config c;
  c.server.public_url = "https://MCP.example.com/mcp";
  c.server.allowed_origins = {"https://inspector.example.org"};
  c.server.trusted_proxies = {"127.0.0.2"};
  c.server.threads = 4;
  IssuerConfig issuer;  // advertised as the AS; no token of ours is from it
  issuer.issuer = "https://as.example.org";
  // A real public key of an issuer whose tokens this suite never presents (the static tokens are the
  // credentials).
  issuer.jwks_file = ::testing::TempDir() + "guard_http_test_jwks_" + std::to_string(::getpid()) + ".json";
  std::ofstream(issuer.jwks_file) << jose::testing::jwks_json(
      {jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048).public_jwk("kid-1")});
  issuer.audiences = {"https://mcp.example.com/mcp"};
  c.issuers.push_back(issuer);
  StaticTokenConfig read;
  read.name = "reader";
  read.sha256 = auth::digest_hex(auth::digest_token(kReadToken));
  read.scopes = {"mcp:read"};
  StaticTokenConfig admin;
  admin.name = "admin";
  admin.sha256 = auth::digest_hex(auth::digest_token(kAdminToken));
  admin.scopes = {"mcp:read", "mcp:write"};
  c.static_tokens = {read, admin};
  RouteConfig health;
  health.prefix = "/health";
  health.is_public = true;
  RouteConfig mcp;
  mcp.prefix = "/mcp";
  mcp.scopes = {"mcp:read", "mcp:write"};
  c.routes = {health, mcp};
  return c;
}

class GuardOverHttp : public ::testing::Test {
 protected:
  // A suite that needs another configuration (another proxy's forward-auth headers) adjusts it here.
  virtual void adjust(Config&) {}
  void SetUp() override {
    Config config = test_config();
    adjust(config);
    auto created = Guard::create(config);
    ASSERT_TRUE(created.ok()) << created.message();
    guard_ = std::move(*created);
    guard_->install(server_);
    server_.Post("/mcp", [this](const httplib::Request& req, httplib::Response& res) {
      const Principal* who = guard_->principal(req);
      res.set_content(nlohmann::json{{"subject", who ? who->subject : "<none>"}}.dump(), "application/json");
    });
    server_.Get("/health", [this](const httplib::Request& req, httplib::Response& res) {
      res.set_content(guard_->principal(req) ? "principal" : "public", "text/plain");
    });
    server_.Get("/boom", [](const httplib::Request&, httplib::Response&) -> void {
      throw std::runtime_error("secret internal detail");
    });
    server_.Get("/echo-remote", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_header_value("REMOTE_ADDR"), "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    ASSERT_GT(port_, 0);
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    for (int i = 0; i < 500 && !server_.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  void TearDown() override {
    server_.stop();
    if (thread_.joinable()) thread_.join();
    for (const auto& issuer : test_config().issuers) std::remove(issuer.jwks_file.c_str());
  }
  httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    return c;
  }
  // Sends raw bytes from `source` and returns the whole response (the server closes: Connection: close).
  std::string raw(const std::string& request, const char* source = "127.0.0.1") {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in src{};
    src.sin_family = AF_INET;
    inet_pton(AF_INET, source, &src.sin_addr);
    EXPECT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&src), sizeof src), 0);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port_));
    inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst), 0);
    EXPECT_EQ(::send(fd, request.data(), request.size(), 0), static_cast<ssize_t>(request.size()));
    std::string out;
    char buf[4096];
    for (int i = 0; i < 1000; ++i) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  }

  httplib::Server server_;
  std::unique_ptr<Guard> guard_;
  std::thread thread_;
  int port_ = 0;
};

const std::string kMetadataUrl = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

TEST_F(GuardOverHttp, NoCredentialsGets401BareChallengeWithResourceMetadataAndScope) {
  auto r = client().Post("/mcp", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"), "Bearer realm=\"mcpgate\", resource_metadata=\"" +
                                                         kMetadataUrl + "\", scope=\"mcp:read mcp:write\"");
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "missing_credentials");
}

TEST_F(GuardOverHttp, UnknownTokenGets401InvalidToken) {
  auto r = client().Post("/mcp", {{"Authorization", "Bearer nope-not-a-token"}}, "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->get_header_value("WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos);
}

TEST_F(GuardOverHttp, TokenLackingScopeGets403InsufficientScopeWithAllRouteScopes) {
  auto r = client().Post("/mcp", {{"Authorization", std::string("Bearer ") + kReadToken}}, "{}",
                         "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"),
            "Bearer realm=\"mcpgate\", error=\"insufficient_scope\", error_description=\"The token lacks a "
            "scope this "
            "route requires.\", resource_metadata=\"" +
                kMetadataUrl + "\", scope=\"mcp:read mcp:write\"");
}

TEST_F(GuardOverHttp, ValidTokenReachesTheHandlerWithItsPrincipal) {
  auto r = client().Post("/mcp", {{"Authorization", std::string("Bearer ") + kAdminToken}}, "{}",
                         "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(nlohmann::json::parse(r->body)["subject"], "admin");
}

TEST_F(GuardOverHttp, PublicRouteHasNoPrincipalEvenAfterAnAuthenticatedRequestOnTheSameConnection) {
  auto c = client();
  c.set_keep_alive(true);
  auto a =
      c.Post("/mcp", {{"Authorization", std::string("Bearer ") + kAdminToken}}, "{}", "application/json");
  ASSERT_TRUE(a);
  auto b = c.Get("/health");
  ASSERT_TRUE(b);
  EXPECT_EQ(b->body, "public");
}

TEST_F(GuardOverHttp, QueryTokenIs400InvalidRequest) {
  auto r = client().Post(std::string("/mcp?access_token=") + kAdminToken, "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_NE(r->get_header_value("WWW-Authenticate").find("error=\"invalid_request\""), std::string::npos);
}

TEST_F(GuardOverHttp, BothWellKnownPrmPathsServeTheCanonicalResource) {
  for (const char* path :
       {"/.well-known/oauth-protected-resource/mcp", "/.well-known/oauth-protected-resource"}) {
    auto r = client().Get(path);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
    EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "*");
    EXPECT_EQ(r->get_header_value("Cache-Control"), "public, max-age=3600");
    auto j = nlohmann::json::parse(r->body);
    EXPECT_EQ(j["resource"], "https://mcp.example.com/mcp");
    EXPECT_EQ(j["authorization_servers"], nlohmann::json::array({"https://as.example.org"}));
  }
}

TEST_F(GuardOverHttp, PrmAnswers405WithAllowForPost) {
  auto r = client().Post("/.well-known/oauth-protected-resource/mcp", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 405);
  EXPECT_EQ(r->get_header_value("Allow"), "GET, HEAD, OPTIONS");
}

TEST_F(GuardOverHttp, UnknownWellKnownIsJson404NeverAChallenge) {
  auto r = client().Get("/.well-known/openid-configuration");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_FALSE(r->has_header("WWW-Authenticate"));
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "not_found");
}

TEST_F(GuardOverHttp, PreflightIsNeverChallengedAndExposesTheChallengeHeader) {
  auto r = client().Options(
      "/mcp", {{"Origin", "https://inspector.example.org"}, {"Access-Control-Request-Method", "POST"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 204);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "https://inspector.example.org");
  EXPECT_EQ(r->get_header_value("Access-Control-Expose-Headers"),
            "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name");
}

TEST_F(GuardOverHttp, DisallowedOriginGets403EvenWithAValidToken) {
  auto r = client().Post(
      "/mcp", {{"Origin", "https://evil.example"}, {"Authorization", std::string("Bearer ") + kAdminToken}},
      "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_EQ(nlohmann::json::parse(r->body)["error"], "origin_not_allowed");
}

TEST_F(GuardOverHttp, AllowedOriginSeesTheChallengeThroughCors) {
  auto r = client().Post("/mcp", {{"Origin", "https://inspector.example.org"}}, "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("Access-Control-Allow-Origin"), "https://inspector.example.org");
  EXPECT_EQ(r->get_header_value("Access-Control-Expose-Headers"),
            "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name");
}

// --- cpp-httplib 0.11.4 hardening regressions (raw sockets) ---

TEST_F(GuardOverHttp, PercentEncodedCrLfInAHeaderValueIs400) {
  std::string resp =
      raw("GET /health HTTP/1.1\r\nHost: x\r\nX-A: a%0D%0AInjected: 1\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 400", 0), 0u) << resp;
  EXPECT_EQ(resp.find("Injected"), std::string::npos);
}

TEST_F(GuardOverHttp, PercentEncodedNulInAuthorizationIs400) {
  std::string resp = raw(std::string("POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
                         kAdminToken + "%00x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 400", 0), 0u) << resp;
}

TEST_F(GuardOverHttp, ClientSentRemoteAddrIsReplacedBySocketAddress) {
  std::string resp =
      raw("GET /echo-remote HTTP/1.1\r\nHost: x\r\nREMOTE_ADDR: 10.9.9.9\r\nAuthorization: Bearer " +
          std::string(kReadToken) + "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 200", 0), 0u) << resp;
  EXPECT_EQ(resp.find("10.9.9.9"), std::string::npos) << resp;
  EXPECT_NE(resp.find("127.0.0.1"), std::string::npos) << resp;
}

TEST_F(GuardOverHttp, ExceptionGetsGenericJson500WithoutExceptionWhat) {
  std::string resp = raw("GET /boom HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kReadToken) +
                         "\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 500", 0), 0u) << resp;
  EXPECT_EQ(resp.find("EXCEPTION_WHAT"), std::string::npos) << resp;
  EXPECT_EQ(resp.find("secret internal detail"), std::string::npos) << resp;
  EXPECT_NE(resp.find("internal_error"), std::string::npos) << resp;
}

TEST_F(GuardOverHttp, TooManyHeadersIs431) {
  std::string req = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 80; ++i) req += "X-H" + std::to_string(i) + ": v\r\n";
  std::string resp = raw(req + "Connection: close\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 431", 0), 0u) << resp;
}

TEST_F(GuardOverHttp, OversizedBodyNeverReachesTheHandler) {
  std::string resp =
      raw("POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kAdminToken) +
          "\r\nContent-Length: 99999999\r\nConnection: close\r\n\r\n");
  // cpp-httplib 0.11.4 refuses the declared length (set_payload_max_length) before reading it; the handler
  // never runs.
  EXPECT_EQ(resp.find("HTTP/1.1 200"), std::string::npos) << resp;
  EXPECT_EQ(resp.find("subject"), std::string::npos) << resp;
}

// --- forward-auth ---

TEST_F(GuardOverHttp, ForwardAuthFromTrustedProxyJudgesTheOriginalRequestAndNamesTheIdentity) {
  std::string resp =
      raw("GET /auth/mcp HTTP/1.1\r\nHost: x\r\nX-Original-Method: POST\r\n"
          "Authorization: Bearer " +
              std::string(kAdminToken) + "\r\nConnection: close\r\n\r\n",
          "127.0.0.2");
  EXPECT_EQ(resp.rfind("HTTP/1.1 200", 0), 0u) << resp;
  EXPECT_NE(resp.find("X-Auth-Subject: admin"), std::string::npos) << resp;
  EXPECT_NE(resp.find("X-Auth-Scopes: mcp:read mcp:write"), std::string::npos) << resp;
  EXPECT_NE(resp.find("X-Auth-Source: static"), std::string::npos) << resp;
}

TEST_F(GuardOverHttp, ForwardAuthAnswersTheExactScopeChallengeForTheOriginalRoute) {
  std::string resp =
      raw("GET /auth/mcp?x=1 HTTP/1.1\r\nHost: x\r\nX-Original-Method: POST\r\n"
          "Authorization: Bearer " +
              std::string(kReadToken) + "\r\nConnection: close\r\n\r\n",
          "127.0.0.2");
  EXPECT_EQ(resp.rfind("HTTP/1.1 403", 0), 0u) << resp;
  EXPECT_NE(resp.find("scope=\"mcp:read mcp:write\""), std::string::npos) << resp;
}

TEST_F(GuardOverHttp, ForwardAuthIgnoresForwardedHeadersFromUntrustedPeersEvenWithFakeRemoteAddr) {
  // From 127.0.0.1 (not trusted) claiming REMOTE_ADDR 127.0.0.2 and a public original URI: judged as /auth
  // itself.
  std::string resp =
      raw("GET /auth/health HTTP/1.1\r\nHost: x\r\nREMOTE_ADDR: 127.0.0.2\r\nX-Original-Method: GET\r\n"
          "Connection: close\r\n\r\n");
  EXPECT_EQ(resp.rfind("HTTP/1.1 401", 0), 0u) << resp;
}

TEST_F(GuardOverHttp, ForwardAuthWithoutTokenAnswers401Challenge) {
  std::string resp =
      raw("GET /auth/mcp HTTP/1.1\r\nHost: x\r\nX-Original-Method: POST\r\n"
          "Connection: close\r\n\r\n",
          "127.0.0.2");
  EXPECT_EQ(resp.rfind("HTTP/1.1 401", 0), 0u) << resp;
  EXPECT_NE(resp.find("WWW-Authenticate: Bearer realm=\"mcpgate\", resource_metadata="), std::string::npos)
      << resp;
}

// The client's own X-Forwarded-Uri / X-Forwarded-Method reach the auth subrequest (nginx passes the
// client's headers): only the configured source counts, never a fallback to another spelling.
TEST_F(GuardOverHttp, ForwardAuthReadsOnlyTheConfiguredSourceNeverAnotherSpelling) {
  std::string resp =
      raw("GET /auth/mcp HTTP/1.1\r\nHost: x\r\nX-Original-Method: POST\r\n"
          "X-Forwarded-Uri: /.well-known/oauth-protected-resource\r\nX-Original-URI: /health\r\n"
          "X-Forwarded-Method: GET\r\nConnection: close\r\n\r\n",
          "127.0.0.2");
  EXPECT_EQ(resp.rfind("HTTP/1.1 401", 0), 0u) << resp;
  resp =
      raw("GET /auth/mcp HTTP/1.1\r\nHost: x\r\nX-Original-Method: POST\r\nX-Forwarded-Method: GET\r\n"
          "Authorization: Bearer " +
              std::string(kReadToken) + "\r\nConnection: close\r\n\r\n",
          "127.0.0.2");
  EXPECT_EQ(resp.rfind("HTTP/1.1 403", 0), 0u) << resp;  // judged as the POST it is
}

TEST_F(GuardOverHttp, ForwardAuthFromATrustedProxyWithoutItsConfiguredSourceIs400) {
  for (const char* request :
       {"GET /auth HTTP/1.1\r\nHost: x\r\nX-Original-Method: POST\r\nX-Original-URI: /mcp\r\n",
        "GET /auth/mcp HTTP/1.1\r\nHost: x\r\n",                              // no method header
        "GET /auth/mcp HTTP/1.1\r\nHost: x\r\nX-Original-Method: P OST\r\n",  // not a method
        "GET /auth/mcp HTTP/1.1\r\nHost: x\r\nX-Original-Method: POST\r\nx-original-method: GET\r\n"}) {
    std::string resp =
        raw(std::string(request) + "Authorization: Bearer " + kAdminToken + "\r\nConnection: close\r\n\r\n",
            "127.0.0.2");
    EXPECT_EQ(resp.rfind("HTTP/1.1 400", 0), 0u) << request << "\n" << resp;
  }
}

// What is judged must be what the backend routes on: decoded once, and refused where two programs could
// read it differently.
TEST_F(GuardOverHttp, ForwardAuthRefusesOriginalTargetsThatDecodeOrNormaliseTwoWays) {
  for (const char* target : {"/mcp%2f..%2fhealth", "/mcp/%252e%252e/health", "/health/..;/admin",
                             "/mcp/%252e%252e/.well-known/oauth-protected-resource/x", "/mcp/../health",
                             "/%2568ealth", "//health", "/health%3F/../mcp"}) {
    std::string resp = raw(std::string("GET /auth") + target +
                               " HTTP/1.1\r\nHost: x\r\nX-Original-Method: POST\r\nConnection: close\r\n\r\n",
                           "127.0.0.2");
    EXPECT_EQ(resp.rfind("HTTP/1.1 400", 0), 0u) << target << "\n" << resp;
  }
}

TEST_F(GuardOverHttp, RequestTargetsThatDecodeOrNormaliseTwoWaysAreRefused) {
  for (const char* target : {"/health/../mcp", "/health/..;/mcp", "/health%2F..%2Fmcp", "/%2568ealth",
                             "/health\\..\\mcp", "/%u0068ealth"}) {
    std::string resp =
        raw(std::string("GET ") + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(resp.rfind("HTTP/1.1 400", 0), 0u) << target << "\n" << resp;
    EXPECT_EQ(resp.find("public"), std::string::npos) << target;  // the /health handler never ran
  }
}

// Traefik and Caddy send the URI in a header, which cpp-httplib 0.11.4 has already percent-decoded once.
class GuardOverHttpTraefik : public GuardOverHttp {
  void adjust(Config& c) override {
    c.server.forward_auth_proxy = "traefik";
    c.server.forward_auth_method_header = "X-Forwarded-Method";
    c.server.forward_auth_uri_header = "X-Forwarded-Uri";
  }
};

TEST_F(GuardOverHttpTraefik, ForwardedUriHeaderIsNeverDecodedASecondTime) {
  for (const char* uri : {"/mcp%2f..%2fhealth", "/mcp/%252e%252e/health", "/%2568ealth"}) {
    std::string resp = raw(std::string("GET /auth HTTP/1.1\r\nHost: x\r\nX-Forwarded-Method: GET\r\n"
                                       "X-Forwarded-Uri: ") +
                               uri + "\r\nConnection: close\r\n\r\n",
                           "127.0.0.2");
    EXPECT_EQ(resp.rfind("HTTP/1.1 400", 0), 0u) << uri << "\n" << resp;
  }
  std::string ok =
      raw("GET /auth HTTP/1.1\r\nHost: x\r\nX-Forwarded-Method: POST\r\nX-Forwarded-Uri: /m%63p\r\n"
          "X-Original-URI: /health\r\nAuthorization: Bearer " +
              std::string(kAdminToken) + "\r\nConnection: close\r\n\r\n",
          "127.0.0.2");
  EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
  EXPECT_NE(ok.find("X-Auth-Subject: admin"), std::string::npos) << ok;
}

// --- answers given before the body is read (the "CL.0" desync) ---

// A body the Guard never read must not be parsed as the connection's next request.
TEST_F(GuardOverHttp, AnswerBeforeTheBodyClosesTheConnectionSoTheBodyIsNeverARequest) {
  const std::string smuggled = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string body = std::string(5000, ' ') + smuggled;
  std::string resp = raw("POST /mcp HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(body.size()) +
                         "\r\n\r\n" + body);
  EXPECT_EQ(resp.rfind("HTTP/1.1 401", 0), 0u) << resp;
  EXPECT_NE(resp.find("Connection: close"), std::string::npos) << resp;
  EXPECT_EQ(resp.find("HTTP/1.1", 1), std::string::npos) << "a second response: " << resp;
  EXPECT_EQ(resp.find("public"), std::string::npos) << resp;
}

TEST_F(GuardOverHttp, BodyOnAMethodTheServerNeverReadsIsRefusedAndTheConnectionClosed) {
  // Padded past cpp-httplib's 4 KiB read buffer, so that the smuggled request would really be parsed.
  const std::string smuggled = std::string(5000, ' ') +
                               "POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                               std::string(kAdminToken) + "\r\nContent-Length: 0\r\n\r\n";
  std::string resp =
      raw("GET /health HTTP/1.1\r\nHost: x\r\nContent-Length: " + std::to_string(smuggled.size()) +
          "\r\n\r\n" + smuggled);
  EXPECT_EQ(resp.rfind("HTTP/1.1 400", 0), 0u) << resp;
  EXPECT_EQ(resp.find("HTTP/1.1", 1), std::string::npos) << "a second response: " << resp;
  EXPECT_EQ(resp.find("subject"), std::string::npos) << resp;
}

// --- header syntax (RFC 9112 §5) ---

TEST_F(GuardOverHttp, MalformedHeaderSyntaxIsRefusedNotForwarded) {
  for (const char* line :
       {"X-Auth-Subject : evil\r\n", "X-Auth-Scopes\t: admin\r\n", "X-A: 1\r\n X-Auth-Subject: x\r\n",
        "Mcp-Session-Id: a\r\nMcp_Session_Id: b\r\n"}) {
    std::string resp = raw(std::string("POST /mcp HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ") +
                           kAdminToken + "\r\n" + line + "Content-Length: 0\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(resp.rfind("HTTP/1.1 400", 0), 0u) << line << "\n" << resp;
    EXPECT_EQ(resp.find("subject"), std::string::npos) << line;  // the handler never ran
  }
}

// A gateway with static tokens only (Claude Code's --header, scripts): no authorization server to name, so no
// RFC 9728 document (an invalid one would send OAuth clients nowhere) and no resource_metadata in challenges.
TEST(GuardStaticTokensOnly, ServesNoMetadataAndChallengesWithoutResourceMetadata) {
  Config c;
  c.server.public_url = "http://127.0.0.1:8080/mcp";
  StaticTokenConfig t;
  t.name = "cli";
  t.sha256 = auth::digest_hex(auth::digest_token("static-only-token-0123456789"));
  t.scopes = {"mcp:read"};
  c.static_tokens.push_back(t);
  auto created = Guard::create(c);
  ASSERT_TRUE(created.ok()) << created.message();
  Guard& guard = **created;
  Decision doc = guard.check("GET", "/.well-known/oauth-protected-resource/mcp", {});
  EXPECT_EQ(doc.status, 404);
  Decision challenge = guard.check("POST", "/mcp", {});
  EXPECT_EQ(challenge.status, 401);
  std::string www;
  for (const auto& [k, v] : challenge.headers)
    if (k == "WWW-Authenticate") www = v;
  EXPECT_EQ(www, "Bearer realm=\"mcpgate\"");
  Decision ok = guard.check("POST", "/mcp", {{"Authorization", "Bearer static-only-token-0123456789"}});
  EXPECT_TRUE(ok.allow);
  ASSERT_TRUE(ok.principal);
  EXPECT_EQ(ok.principal->subject, "cli");

  Config none;
  none.server.public_url = "http://127.0.0.1:8080/mcp";
  EXPECT_EQ(Guard::create(none).reason,
            Reason::ConfigInvalid);  // nothing could ever be allowed: refuse to start
}

}  // namespace
}  // namespace mcpgate
