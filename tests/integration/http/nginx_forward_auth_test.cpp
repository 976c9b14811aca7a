// Integration: the real nginx (Debian nginx-light) runs examples/nginx/nginx.conf — only its ports changed
// and its files moved into a temp prefix — with auth_request answered by the real `mcpgate serve` on
// 127.0.0.1 and a recording upstream behind it. What a client sees through nginx is what the example
// promises; the attacks are those a hostile review tried through this very example.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <thread>

#include "integration/http/forward_auth_harness.hpp"
#include "support/child_process.hpp"

namespace mcpgate {
namespace {

using testing::replace_once;

constexpr const char* kNginx = "/usr/sbin/nginx";
using testing::kForwardAuthReadToken;
using testing::kForwardAuthWriteToken;
constexpr const char* kReadToken = kForwardAuthReadToken;
constexpr const char* kWriteToken = kForwardAuthWriteToken;
const std::string& kMetadataUrl = testing::kForwardAuthMetadataUrl;

// A started httplib::Server on an ephemeral loopback port, stopped on destruction.
struct LoopbackServer {
  httplib::Server server;
  std::thread thread;
  int port = 0;
  void start() {
    server.set_tcp_nodelay(true);
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    for (int i = 0; i < 500 && !server.is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ~LoopbackServer() {
    server.stop();
    if (thread.joinable()) thread.join();
  }
};

class NginxForwardAuth : public ::testing::Test {
 protected:
  // A suite that runs the example another way changes mcpgate's [server] keys and the example here.
  virtual std::string extra_server_config() { return ""; }
  virtual void adapt_example(std::string&) {}

  void SetUp() override {
    ASSERT_TRUE(std::filesystem::exists(kNginx))
        << kNginx << " is missing: install nginx-light (listed in .ci/install-deps); this test never skips";
    dir_ = ::testing::TempDir() + "mcpgate-nginx-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_ + "/logs");

    gateway_.start(dir_, extra_server_config());
    if (HasFatalFailure()) return;

    // The backend answers every path (as many MCP servers do): only nginx + mcpgate stand in between.
    auto record = [this](const httplib::Request& req, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      upstream_headers_ = req.headers;
      upstream_paths_.push_back(req.target);
      ++upstream_hits_;
      res.set_content(R"({"jsonrpc":"2.0","id":1,"result":{}})", "application/json");
    };
    upstream_.server.Post(".*", record);
    upstream_.server.Get(".*", record);
    upstream_.start();
    ASSERT_GT(upstream_.port, 0);

    // nginx cannot bind port 0 and report it: pick a free port, and should another test take it first
    // (nginx then exits: "bind() failed"), try another. nginx writes its pid file only once it has bound.
    for (int attempt = 0; attempt < 3 && !nginx_listening(); ++attempt) {
      nginx_port_ = testing::free_loopback_port();
      ASSERT_GT(nginx_port_, 0);
      write_nginx_conf();
      std::filesystem::remove(dir_ + "/logs/nginx.pid");
      nginx_ = std::make_unique<testing::ChildProcess>(
          std::vector<std::string>{kNginx, "-p", dir_ + "/", "-c", dir_ + "/nginx.conf", "-g", "daemon off;"},
          dir_ + "/logs/stderr.log");
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
      while (nginx_->running() && !nginx_listening() && std::chrono::steady_clock::now() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    ASSERT_TRUE(nginx_listening()) << "nginx did not listen: " << nginx_->stderr_text();
  }

  bool nginx_listening() {
    return nginx_ && nginx_->running() && std::filesystem::exists(dir_ + "/logs/nginx.pid") &&
           testing::wait_for_port(nginx_port_, std::chrono::milliseconds(0));
  }

  void TearDown() override {
    if (nginx_) {
      EXPECT_EQ(nginx_->stop(SIGTERM, std::chrono::seconds(10)), 0) << nginx_->stderr_text();
    }
    gateway_.stop_and_check_no_token_logged();
    if (!HasFailure()) std::filesystem::remove_all(dir_);  // kept on failure: logs/error.log tells why
  }

  // The example, with its three addresses replaced and every file nginx writes kept under dir_.
  void write_nginx_conf() {
    std::string conf = testing::read_example("examples/nginx/nginx.conf");
    replace_once(conf, "server 127.0.0.1:8080;", "server 127.0.0.1:" + std::to_string(gateway_.port()) + ";");
    replace_once(conf, "server 127.0.0.1:9000;", "server 127.0.0.1:" + std::to_string(upstream_.port) + ";");
    replace_once(conf, "listen 8443;", "listen 127.0.0.1:" + std::to_string(nginx_port_) + ";");
    replace_once(conf, "http {",
                 "http {\n  access_log logs/access.log;\n  client_body_temp_path tmp/body;\n"
                 "  proxy_temp_path tmp/proxy;\n  fastcgi_temp_path tmp/fastcgi;\n"
                 "  uwsgi_temp_path tmp/uwsgi;\n  scgi_temp_path tmp/scgi;\n");
    std::string head = "pid logs/nginx.pid;\nerror_log logs/error.log info;\nworker_processes 1;\n";
    if (::geteuid() == 0) head = "user root;\n" + head;
    std::filesystem::create_directories(dir_ + "/tmp");
    adapt_example(conf);
    std::ofstream(dir_ + "/nginx.conf") << head << conf;
  }

  httplib::Client client() {
    httplib::Client c("127.0.0.1", nginx_port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    return c;
  }

  std::string dir_;
  // What the upstream handler records: declared before the servers, so it outlives their threads.
  std::mutex mutex_;
  httplib::Headers upstream_headers_;
  std::vector<std::string> upstream_paths_;
  int upstream_hits_ = 0;
  testing::ForwardAuthGateway gateway_;
  LoopbackServer upstream_;
  int nginx_port_ = 0;
  std::unique_ptr<testing::ChildProcess> nginx_;
};

TEST_F(NginxForwardAuth, ValidTokenReachesTheUpstreamWithIdentityAndWithoutTheClientToken) {
  auto r = client().Post("/mcp",
                         {{"Authorization", std::string("Bearer ") + kWriteToken},
                          {"X-Auth-Subject", "forged-by-client"},
                          {"X-Auth-Organization", "org-forged"},
                          {"X-Auth-Client-Id", "client-forged"},
                          {"X-Auth-Source", "jwt"},
                          {"X-Forwarded-User", "admin"},
                          {"Remote-User", "admin"},
                          {"X-Auth-Request-User", "admin"}},
                         R"({"jsonrpc":"2.0","id":1,"method":"ping"})", "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->body, R"({"jsonrpc":"2.0","id":1,"result":{}})");
  std::lock_guard lock(mutex_);
  ASSERT_EQ(upstream_hits_, 1);
  EXPECT_EQ(upstream_headers_.count("X-Auth-Subject"), 1u);
  auto subject = upstream_headers_.find("X-Auth-Subject");
  ASSERT_NE(subject, upstream_headers_.end());
  EXPECT_EQ(subject->second, "writer");
  auto scopes = upstream_headers_.find("X-Auth-Scopes");
  ASSERT_NE(scopes, upstream_headers_.end());
  EXPECT_EQ(scopes->second, "mcp:read mcp:write");
  auto source = upstream_headers_.find("X-Auth-Source");
  ASSERT_NE(source, upstream_headers_.end());
  EXPECT_EQ(source->second, "static");
  // Every other identity header mcpgate answers with, and other proxies' identity headers: the client's
  // copies never reach the backend (the token has no organization and no client id).
  for (const char* name :
       {"X-Auth-Organization", "X-Auth-Client-Id", "X-Forwarded-User", "Remote-User", "X-Auth-Request-User"})
    EXPECT_EQ(upstream_headers_.count(name), 0u) << name << " reached the backend";
  auto authorization = upstream_headers_.find("Authorization");
  EXPECT_TRUE(authorization == upstream_headers_.end() || authorization->second.empty())
      << "the client's token reached the upstream";
}

TEST_F(NginxForwardAuth, NoTokenGets401WithTheGuardChallengeAndNeverReachesTheUpstream) {
  auto r = client().Post("/mcp", R"({"jsonrpc":"2.0","id":1,"method":"ping"})", "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 401);
  EXPECT_EQ(r->get_header_value("WWW-Authenticate"),
            "Bearer realm=\"mcpgate\", resource_metadata=\"" + kMetadataUrl + "\", scope=\"mcp:write\"");
  std::lock_guard lock(mutex_);
  EXPECT_EQ(upstream_hits_, 0);
}

TEST_F(NginxForwardAuth, TokenLackingScopeGets403InsufficientScopeThroughNginx) {
  auto r = client().Post("/mcp", {{"Authorization", std::string("Bearer ") + kReadToken}}, "{}",
                         "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 403);
  std::string challenge = r->get_header_value("WWW-Authenticate");
  EXPECT_NE(challenge.find("error=\"insufficient_scope\""), std::string::npos) << challenge;
  EXPECT_NE(challenge.find("scope=\"mcp:write\""), std::string::npos) << challenge;
  std::lock_guard lock(mutex_);
  EXPECT_EQ(upstream_hits_, 0);
}

// nginx passes the client's own headers to the auth subrequest: none of them may name the request judged.
TEST_F(NginxForwardAuth, ClientForwardedHeadersNeverChooseTheRequestThatIsJudged) {
  for (const auto& [name, value] : {std::pair{"X-Forwarded-Uri", "/.well-known/oauth-protected-resource"},
                                    {"X-Forwarded-Uri", "/health"},
                                    {"X-Original-URI", "/health"},
                                    {"X-Original-Url", "/health"}}) {
    auto r = client().Post("/mcp", {{name, value}}, "{}", "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 401) << name << ": " << value;
  }
  // A read-only token on the POST-only write route stays 403 whatever method the client claims.
  for (const char* name : {"X-Forwarded-Method", "X-Original-Method"}) {
    auto r = client().Post("/mcp", {{"Authorization", std::string("Bearer ") + kReadToken}, {name, "GET"}},
                           "{}", "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_EQ(r->status, 403) << name;
  }
  std::lock_guard lock(mutex_);
  EXPECT_EQ(upstream_hits_, 0);
}

// The path mcpgate judges is the path the backend gets: never decoded twice, and refused where the backend
// could read it another way (nginx's auth_request turns mcpgate's 400 into a 500: still no backend).
TEST_F(NginxForwardAuth, EncodedPathsNeverReachTheBackendWithoutAToken) {
  for (const char* path :
       {"/mcp/%252e%252e/.well-known/oauth-protected-resource/x", "/mcp/%252e%252e/health",
        "/mcp%2f..%2fhealth", "/mcp/%2e%2e/health", "/mcp/..;/health", "/mcp%3F/../health"}) {
    auto r = client().Post(path, "{}", "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_GE(r->status, 400)
        << path;  // nginx's own 404 (it resolved the path elsewhere) or mcpgate's refusal
  }
  std::lock_guard lock(mutex_);
  EXPECT_EQ(upstream_hits_, 0) << (upstream_paths_.empty() ? "" : upstream_paths_.back());
}

// The same example with the URI in a header (as older nginx configurations pass it): cpp-httplib has then
// decoded the value once already, and mcpgate must never decode it a second time.
class NginxForwardAuthUriHeader : public NginxForwardAuth {
 protected:
  std::string extra_server_config() override { return "forward_auth_uri_header = \"X-Original-URI\"\n"; }
  void adapt_example(std::string& conf) override {
    replace_once(conf, "proxy_pass http://mcpgate/auth$request_uri;",
                 "proxy_pass http://mcpgate/auth; proxy_set_header X-Original-URI $request_uri;");
  }
};

TEST_F(NginxForwardAuthUriHeader, EncodedPathsNeverReachTheBackendWithoutAToken) {
  for (const char* path : {"/mcp/%252e%252e/.well-known/oauth-protected-resource/x", "/mcp/%252e%252e/health",
                           "/mcp/%2e%2e/health", "/mcp/..;/health"}) {
    auto r = client().Post(path, "{}", "application/json");
    ASSERT_TRUE(r) << httplib::to_string(r.error());
    EXPECT_GE(r->status, 400) << path;
  }
  std::lock_guard lock(mutex_);
  EXPECT_EQ(upstream_hits_, 0) << (upstream_paths_.empty() ? "" : upstream_paths_.back());
}

TEST_F(NginxForwardAuthUriHeader, ValidTokenStillReachesTheUpstream) {
  auto r = client().Post("/mcp", {{"Authorization", std::string("Bearer ") + kWriteToken}}, "{}",
                         "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200) << r->body;
}

TEST_F(NginxForwardAuth, DiscoveryIsServedByMcpgateWithoutAuth) {
  auto r = client().Get("/.well-known/oauth-protected-resource/mcp");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("\"resource\":\"https://mcp.example.com/mcp\""), std::string::npos) << r->body;
}

}  // namespace
}  // namespace mcpgate
