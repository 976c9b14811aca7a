// Integration: the real Caddy (Debian caddy 2.6.2) runs examples/caddy/Caddyfile — only its addresses
// changed — with forward_auth answered by the real `mcpgate serve` (forward_auth_proxy = "caddy") on
// 127.0.0.1 and a recording upstream behind it. What a client sees through Caddy is what the example
// promises, including where Caddy 2.6 differs from nginx:
//   * copy_headers sets a header mcpgate's answer lacks (or has empty) to the placeholder's own text,
//     "{http.reverse_proxy.header.X-Auth-Organization}", and newer Caddy skips it, leaving the client's copy:
//     the example strips the client's copies first and removes such leftovers after forward_auth.
//   * forward_auth passes every non-2xx answer of mcpgate through to the client as it is: a refused request
//     target is mcpgate's own 400 with its JSON body (nginx's auth_request makes that a 500).
//   * forward_auth sets X-Forwarded-Method and X-Forwarded-Uri on the check, overwriting the client's copies.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "integration/http/forward_auth_harness.hpp"
#include "jose/test_signer.hpp"
#include "support/child_process.hpp"

namespace mcpgate {
namespace {

constexpr const char* kCaddy = "/usr/bin/caddy";
constexpr const char* kReadToken = testing::kForwardAuthReadToken;
constexpr const char* kWriteToken = testing::kForwardAuthWriteToken;
const std::string& kMetadataUrl = testing::kForwardAuthMetadataUrl;
using testing::replace_once;
const std::string kBackendBody = R"({"jsonrpc":"2.0","id":1,"result":{}})";
const std::string kPing = R"({"jsonrpc":"2.0","id":1,"method":"ping"})";

// The headers mcpgate answers with, and other proxies' identity headers the example clears.
constexpr const char* kIdentityHeaders[] = {"X-Auth-Subject", "X-Auth-Scopes", "X-Auth-Client-Id",
                                            "X-Auth-Organization", "X-Auth-Source"};
constexpr const char* kForeignIdentityHeaders[] = {
    "X-Forwarded-User",   "X-Forwarded-Email",   "X-Forwarded-Preferred-Username",
    "X-Forwarded-Groups", "X-Auth-Request-User", "X-Auth-Request-Email",
    "Remote-User",        "X-Remote-User"};

// A JWT from the configured issuer with a client id and an organization (which the static tokens lack).
std::string jwt_with_organization() {
  const auto now = static_cast<long long>(std::time(nullptr));
  return jose::testing::sign_token(jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048), "RS256",
                                   {{"alg", "RS256"}, {"typ", "JWT"}, {"kid", "kid-1"}},
                                   {{"iss", "https://as.example.org"},
                                    {"sub", "user-caddy-1"},
                                    {"aud", "https://mcp.example.com/mcp"},
                                    {"client_id", "client-real-1"},
                                    {"scope", "mcp:read mcp:write"},
                                    {"https://stytch.com/organization", {{"organization_id", "org-real-1"}}},
                                    {"iat", now},
                                    {"exp", now + 3600}});
}

// One request as the backend got it: every header line exactly as sent (an empty value too, which
// httplib::Server would drop), the body.
struct BackendRequest {
  std::string target;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::size_t count(std::string_view name) const {
    std::size_t n = 0;
    for (const auto& h : headers)
      n += h.first.size() == name.size() && ::strncasecmp(h.first.c_str(), name.data(), name.size()) == 0;
    return n;
  }
  std::string value(std::string_view name) const {
    for (const auto& h : headers)
      if (h.first.size() == name.size() && ::strncasecmp(h.first.c_str(), name.data(), name.size()) == 0)
        return h.second;
    return "";
  }
};

// The MCP server behind Caddy: a raw HTTP/1.1 listener on an ephemeral loopback port that answers every
// request (as many MCP servers do) with one JSON-RPC result and records what it got.
class RecordingBackend {
 public:
  RecordingBackend() {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    ::inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    socklen_t len = sizeof a;
    if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 16) != 0 ||
        ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
      return;
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~RecordingBackend() {
    if (fd_ >= 0) ::shutdown(fd_, SHUT_RDWR);  // wakes accept()
    if (thread_.joinable()) thread_.join();
    if (fd_ >= 0) ::close(fd_);
  }
  RecordingBackend(const RecordingBackend&) = delete;
  RecordingBackend& operator=(const RecordingBackend&) = delete;
  int port() const noexcept { return port_; }
  std::vector<BackendRequest> requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  void serve() {
    for (;;) {
      int c = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (c < 0) return;
      timeval tv{5, 0};
      ::setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      handle(c);
      ::close(c);
    }
  }
  // One request per connection (the answer says Connection: close); enough for Caddy's reverse_proxy.
  void handle(int c) {
    std::string in;
    char buf[4096];
    std::size_t end;
    while ((end = in.find("\r\n\r\n")) == std::string::npos) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) return;
      in.append(buf, static_cast<std::size_t>(n));
    }
    BackendRequest r;
    std::istringstream head(in.substr(0, end));
    std::string line;
    std::getline(head, line);
    auto sp = line.find(' ');
    r.target = line.substr(sp + 1, line.rfind(' ') - sp - 1);
    std::size_t length = 0;
    while (std::getline(head, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      auto colon = line.find(':');
      if (colon == std::string::npos) continue;
      std::string value = line.substr(colon + 1);
      value.erase(0, value.find_first_not_of(" \t"));
      value.erase(value.find_last_not_of(" \t") + 1);
      r.headers.emplace_back(line.substr(0, colon), value);
    }
    if (r.count("Content-Length")) length = std::stoul(r.value("Content-Length"));
    r.body = in.substr(end + 4);
    while (r.body.size() < length) {
      ssize_t n = ::recv(c, buf, sizeof buf, 0);
      if (n <= 0) break;
      r.body.append(buf, static_cast<std::size_t>(n));
    }
    {
      std::lock_guard lock(mutex_);
      requests_.push_back(std::move(r));
    }
    std::string out =
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\nContent-Length: " +
        std::to_string(kBackendBody.size()) + "\r\n\r\n" + kBackendBody;
    (void)::send(c, out.data(), out.size(), MSG_NOSIGNAL);
  }

  int fd_ = -1;
  int port_ = 0;
  std::mutex mutex_;
  std::vector<BackendRequest> requests_;
  std::thread thread_;
};

class CaddyForwardAuth : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kCaddy))
        << kCaddy << " is missing: install caddy (listed in .ci/install-deps); this test never skips";
    dir_ = ::testing::TempDir() + "mcpgate-caddy-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/logs");

    gateway_.start(dir_, "forward_auth_proxy = \"caddy\"\n");
    ASSERT_FALSE(HasFatalFailure());

    backend_ = std::make_unique<RecordingBackend>();
    ASSERT_GT(backend_->port(), 0);

    // Caddy cannot bind port 0 and report it: pick a free port, and should another test take it first
    // (Caddy then exits: "address already in use"), try another. Caddy logs "serving initial configuration"
    // only once its listener is bound, so a port someone else listens on is never mistaken for Caddy's.
    for (int attempt = 0; attempt < 3 && !caddy_listening_; ++attempt) {
      caddy_port_ = testing::free_loopback_port();
      ASSERT_GT(caddy_port_, 0);
      write_caddyfile();
      // HOME and XDG_*: whatever Caddy would store (autosave, certificates, locks) stays under dir_.
      caddy_ = std::make_unique<testing::ChildProcess>(
          std::vector<std::string>{"/usr/bin/env", "HOME=" + dir_, "XDG_DATA_HOME=" + dir_ + "/data",
                                   "XDG_CONFIG_HOME=" + dir_ + "/config", kCaddy, "run", "--adapter",
                                   "caddyfile", "--config", dir_ + "/Caddyfile"},
          dir_ + "/logs/caddy.log");
      caddy_listening_ =
          testing::wait_for_log_event(*caddy_, "serving initial configuration", std::chrono::seconds(15)) &&
          caddy_->running() && testing::wait_for_port(caddy_port_, std::chrono::seconds(5));
    }
    ASSERT_TRUE(caddy_listening_) << "caddy did not listen: " << caddy_->stderr_text();
  }

  void TearDown() override {
    if (caddy_) {
      EXPECT_EQ(caddy_->stop(SIGTERM, std::chrono::seconds(10)), 0) << caddy_->stderr_text();
    }
    gateway_.stop_and_check_no_token_logged();
    if (!HasFailure()) std::filesystem::remove_all(dir_);  // kept on failure: logs/caddy.log tells why
  }

  // The example, with its three addresses replaced (Caddy bound to loopback only).
  void write_caddyfile() {
    std::string conf = testing::read_example("examples/caddy/Caddyfile");
    const std::string mcpgate = "127.0.0.1:" + std::to_string(gateway_.port());
    replace_once(conf, "reverse_proxy 127.0.0.1:8080\n", "reverse_proxy " + mcpgate + "\n");
    replace_once(conf, "forward_auth 127.0.0.1:8080 {", "forward_auth " + mcpgate + " {");
    replace_once(conf, "reverse_proxy 127.0.0.1:9000 {",
                 "reverse_proxy 127.0.0.1:" + std::to_string(backend_->port()) + " {");
    replace_once(conf, "http://:8443 {", "http://:" + std::to_string(caddy_port_) + " {\n\tbind 127.0.0.1");
    std::istringstream lines(conf);
    for (std::string line; std::getline(lines, line);)
      if (auto at = line.find_first_not_of(" \t"); at != std::string::npos && line[at] != '#') {
        EXPECT_TRUE(line.find(":8080") == std::string::npos && line.find(":9000") == std::string::npos)
            << "an address of the example was not replaced: " << line;
      }
    std::ofstream(dir_ + "/Caddyfile") << conf;
  }

  httplib::Client client() {
    httplib::Client c("127.0.0.1", caddy_port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    return c;
  }

  // The backend never reached: what it got otherwise, for the failure message.
  void expect_backend_not_reached() {
    auto got = backend_->requests();
    EXPECT_TRUE(got.empty()) << got.size()
                             << " request(s) reached the backend, the last: " << got.back().target;
  }

  std::string dir_;
  testing::ForwardAuthGateway gateway_;
  std::unique_ptr<RecordingBackend> backend_;
  int caddy_port_ = 0;
  bool caddy_listening_ = false;
  std::unique_ptr<testing::ChildProcess> caddy_;
};

httplib::Headers forged_identity(const std::string& token) {
  httplib::Headers h;
  if (!token.empty()) h.emplace("Authorization", "Bearer " + token);
  for (const char* name : kIdentityHeaders) h.emplace(name, "forged-by-client");
  for (const char* name : kForeignIdentityHeaders) h.emplace(name, "admin");
  return h;
}

// Other proxies' identity headers, the client's token and any placeholder text never reach the backend.
void expect_no_foreign_identity(const BackendRequest& got) {
  for (const char* name : kForeignIdentityHeaders)
    EXPECT_EQ(got.count(name), 0u) << name << " reached the backend";
  EXPECT_EQ(got.count("Authorization"), 0u) << "the client's token reached the backend";
  for (const auto& [name, value] : got.headers)
    EXPECT_EQ(value.find("{http."), std::string::npos) << name << ": " << value;
}

// A static token has no organization and no client id: mcpgate answers those two with empty values, which
// Caddy 2.6's copy_headers would pass on as empty headers; neither they nor the client's copies may reach
// the backend.
TEST_F(CaddyForwardAuth, ValidTokenReachesTheBackendWithIdentityAndWithoutTheClientTokenOrIdentityHeaders) {
  auto r = client().Post("/mcp", forged_identity(kWriteToken), kPing, "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, kBackendBody);
  auto got = backend_->requests();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].body, kPing) << "the check must not consume the request body";
  EXPECT_EQ(got[0].count("X-Auth-Subject"), 1u);
  EXPECT_EQ(got[0].value("X-Auth-Subject"), "writer");
  EXPECT_EQ(got[0].count("X-Auth-Scopes"), 1u);
  EXPECT_EQ(got[0].value("X-Auth-Scopes"), "mcp:read mcp:write");
  EXPECT_EQ(got[0].count("X-Auth-Source"), 1u);
  EXPECT_EQ(got[0].value("X-Auth-Source"), "static");
  for (const char* name : {"X-Auth-Organization", "X-Auth-Client-Id"})
    EXPECT_EQ(got[0].count(name), 0u) << name << " reached the backend: \"" << got[0].value(name) << "\"";
  expect_no_foreign_identity(got[0]);
}

// When mcpgate does answer every identity header, each overwrites the client's copy.
TEST_F(CaddyForwardAuth, JwtIdentityWithOrganizationAndClientIdOverwritesTheClientsCopies) {
  auto r = client().Get("/mcp", forged_identity(jwt_with_organization()));
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  auto got = backend_->requests();
  ASSERT_EQ(got.size(), 1u);
  for (auto [name, value] : {std::pair{"X-Auth-Subject", "user-caddy-1"},
                             {"X-Auth-Scopes", "mcp:read mcp:write"},
                             {"X-Auth-Client-Id", "client-real-1"},
                             {"X-Auth-Organization", "org-real-1"},
                             {"X-Auth-Source", "jwt"}}) {
    EXPECT_EQ(got[0].count(name), 1u) << name;
    EXPECT_EQ(got[0].value(name), value) << name;
  }
  expect_no_foreign_identity(got[0]);
}

// A public route: mcpgate's 200 carries no identity header at all, and Caddy 2.6's copy_headers sets each
// to its placeholder's text ("{http.reverse_proxy.header.X-Auth-Subject}"). The backend gets none of them,
// and none of the client's copies.
TEST_F(CaddyForwardAuth, PublicRouteReachesTheBackendWithNoIdentityHeaderAtAll) {
  auto r = client().Get("/mcp/public", forged_identity(""));
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  auto got = backend_->requests();
  ASSERT_EQ(got.size(), 1u);
  for (const char* name : kIdentityHeaders)
    EXPECT_EQ(got[0].count(name), 0u) << name << " reached the backend: \"" << got[0].value(name) << "\"";
  expect_no_foreign_identity(got[0]);
}

TEST_F(CaddyForwardAuth, NoTokenGets401WithTheExactChallengePassedThroughAndNeverReachesTheBackend) {
  auto r = client().Post("/mcp", kPing, "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"),
            "Bearer realm=\"mcpgate\", resource_metadata=\"" + kMetadataUrl + "\", scope=\"mcp:write\"");
  expect_backend_not_reached();
}

TEST_F(CaddyForwardAuth, ReadOnlyTokenOnThePostOnlyRouteGets403InsufficientScope) {
  auto r = client().Post("/mcp", {{"Authorization", std::string("Bearer ") + kReadToken}}, kPing,
                         "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 403);
  std::string challenge = r->get_header_value("WWW-Authenticate");
  EXPECT_NE(challenge.find("error=\"insufficient_scope\""), std::string::npos) << challenge;
  EXPECT_NE(challenge.find("scope=\"mcp:write\""), std::string::npos) << challenge;
  expect_backend_not_reached();
}

// Caddy overwrites X-Forwarded-Uri / X-Forwarded-Method on the check; mcpgate ignores the other spellings.
TEST_F(CaddyForwardAuth, ClientForwardedHeadersNeverChooseTheRequestThatIsJudged) {
  for (const auto& [name, value] : {std::pair{"X-Forwarded-Uri", "/health"},
                                    {"X-Forwarded-Uri", "/mcp/public"},
                                    {"X-Forwarded-Uri", "/.well-known/oauth-protected-resource"},
                                    {"X-Original-URI", "/health"},
                                    {"X-Original-Url", "/health"}}) {
    auto r = client().Post("/mcp", {{name, value}}, kPing, "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 401) << name << ": " << value;
  }
  // A read-only token on the POST-only write route stays 403 whatever method the client claims.
  for (const char* name : {"X-Forwarded-Method", "X-Original-Method"}) {
    auto r = client().Post("/mcp", {{"Authorization", std::string("Bearer ") + kReadToken}, {name, "GET"}},
                           kPing, "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 403) << name;
  }
  expect_backend_not_reached();
}

// The path mcpgate judges is the path the backend gets. Paths Caddy itself resolves outside /mcp* (it
// matches on the decoded, cleaned path: /mcp%2f..%2fhealth is /health) end at the example's 404; the rest
// reach mcpgate, whose 400 Caddy passes through.
TEST_F(CaddyForwardAuth, EncodedPathsNeverReachTheBackendWithoutAToken) {
  for (const char* path : {"/mcp/%252e%252e/.well-known/oauth-protected-resource/x", "/mcp/%252e%252e/health",
                           "/mcp%2f..%2fhealth", "/mcp/%2e%2e/health", "/mcp/..;/health", "/mcp%3F/../health",
                           "/mcp/public/%2e%2e/x", "/mcp/public%2f..%2f"}) {
    auto r = client().Post(path, kPing, "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_TRUE(r->status == 400 || r->status == 404) << path << ": " << r->status << " " << r->body;
  }
  expect_backend_not_reached();
}

// Unlike nginx's auth_request (which makes it a 500), Caddy's forward_auth gives the client mcpgate's own
// 400: the status, the WWW-Authenticate challenge and the JSON body mcpgate answers the check with directly.
TEST_F(CaddyForwardAuth, McpgateRefusalsReachTheClientAsMcpgates400) {
  httplib::Client direct("127.0.0.1", gateway_.port());
  for (const char* path : {"/mcp/%252e%252e/health", "/mcp/..;/health", "/mcp?access_token=x"}) {
    auto r = client().Post(path, {{"Authorization", std::string("Bearer ") + kWriteToken}}, kPing,
                           "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 400) << path << ": " << r->body;
    auto d = direct.Get("/auth", {{"Authorization", std::string("Bearer ") + kWriteToken},
                                  {"X-Forwarded-Method", "POST"},
                                  {"X-Forwarded-Uri", path}});
    ASSERT_TRUE(d) << httplib::to_string(d.error());
    EXPECT_EQ(d->status, 400) << path;
    EXPECT_FALSE(d->body.empty()) << path;
    EXPECT_EQ(r->body, d->body) << path;
    for (const char* name : {"Content-Type", "WWW-Authenticate"})
      EXPECT_EQ(r->get_header_value(name), d->get_header_value(name)) << path << ": " << name;
  }
  expect_backend_not_reached();
}

TEST_F(CaddyForwardAuth, DiscoveryIsServedByMcpgateWithoutAuth) {
  auto r = client().Get("/.well-known/oauth-protected-resource/mcp");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"resource\":\"https://mcp.example.com/mcp\""), std::string::npos) << r->body;
  expect_backend_not_reached();
}

}  // namespace
}  // namespace mcpgate
