// Integration: the real `mcpgate serve --config` binary on a free loopback port — discovery, a challenge,
// forward-auth with a static token — and a clean exit 0 on SIGTERM within a bounded time.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "auth/token_digest.hpp"
#include "jose/test_signer.hpp"
#include "support/child_process.hpp"

namespace mcpgate {
namespace {

constexpr const char* kToken = "serve-smoke-token-0123456789";

class ServeSmoke : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "mcpgate-serve-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/jwks.json") << jose::testing::jwks_json(
        {jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048).public_jwk("kid-1")});
    std::ofstream(dir_ + "/mcpgate.toml")
        << "[server]\npublic_url = \"https://mcp.example.com/mcp\"\nlisten_address = \"127.0.0.1\"\nport = 0"
        << "\nthreads = 4\nforward_auth_path = \"/auth\"\ntrusted_proxies = [\"127.0.0.1\"]\n\n"
        << "[[issuers]]\nissuer = \"https://as.example.org\"\naudiences = [\"https://mcp.example.com/mcp\"]\n"
        << "jwks_file = \"" << dir_ << "/jwks.json\"\n\n"
        << "[[static_tokens]]\nname = \"smoke\"\nsha256 = \"" << auth::digest_hex(auth::digest_token(kToken))
        << "\"\nscopes = [\"mcp:read\", \"mcp:write\"]\n\n"
        << "[[routes]]\nprefix = \"/mcp\"\nscopes = [\"mcp:read\", \"mcp:write\"]\n\n"
        << "[admin]\nport = 0\n";  // never the default 9090: tests run side by side
    serve_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{MCPGATE_BINARY, "serve", "--config", dir_ + "/mcpgate.toml"},
        dir_ + "/stderr.log");
    const auto listening = testing::wait_for_log_event(*serve_, "listening", std::chrono::seconds(10));
    ASSERT_TRUE(listening) << "mcpgate serve did not listen: " << serve_->stderr_text();
    port_ = listening->value("port", 0);
    ASSERT_GT(port_, 0) << listening->dump();
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }
  httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    return c;
  }

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<testing::ChildProcess> serve_;
};

TEST_F(ServeSmoke, AnswersPrmChallengeAndForwardAuthThenExitsZeroOnSigterm) {
  auto prm = client().Get("/.well-known/oauth-protected-resource/mcp");
  ASSERT_TRUE(prm);
  EXPECT_EQ(prm->status, 200);
  auto doc = nlohmann::json::parse(prm->body);
  EXPECT_EQ(doc["resource"], "https://mcp.example.com/mcp");
  EXPECT_EQ(doc["authorization_servers"], nlohmann::json::array({"https://as.example.org"}));

  auto challenge = client().Post("/mcp", "{}", "application/json");
  ASSERT_TRUE(challenge);
  EXPECT_EQ(challenge->status, 401);
  EXPECT_EQ(challenge->get_header_value("WWW-Authenticate"),
            "Bearer realm=\"mcpgate\", resource_metadata=\"https://mcp.example.com/.well-known/"
            "oauth-protected-resource/mcp\", scope=\"mcp:read mcp:write\"");

  auto allowed = client().Get(
      "/auth/mcp", {{"Authorization", std::string("Bearer ") + kToken}, {"X-Original-Method", "POST"}});
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->get_header_value("X-Auth-Subject"), "smoke");
  EXPECT_EQ(allowed->get_header_value("X-Auth-Source"), "static");
  EXPECT_EQ(allowed->body.find(kToken), std::string::npos);

  EXPECT_EQ(serve_->stop(SIGTERM, std::chrono::seconds(10)), 0) << serve_->stderr_text();
  EXPECT_EQ(serve_->stderr_text().find(kToken), std::string::npos);  // the secret is never logged
}

// A second gateway configured for a port the first one holds must fail loudly, never share the port (which
// cpp-httplib's default SO_REUSEPORT would allow, silently splitting the traffic between two configs).
TEST_F(ServeSmoke, SecondInstanceOnABusyPortExitsNonZeroNamingThePort) {
  std::ifstream in(dir_ + "/mcpgate.toml");
  std::stringstream conf;
  conf << in.rdbuf();
  std::string text = conf.str();
  const std::string any = "\nport = 0\n";
  const std::size_t at = text.find(any);
  ASSERT_NE(at, std::string::npos) << text;
  text.replace(at, any.size(), "\nport = " + std::to_string(port_) + "\n");
  std::ofstream(dir_ + "/second.toml") << text;
  testing::ChildProcess second({MCPGATE_BINARY, "serve", "--config", dir_ + "/second.toml"},
                               dir_ + "/second.log");
  // Signal 0 sends nothing: stop() then only waits for the exit.
  EXPECT_EQ(second.stop(0, std::chrono::seconds(20)), 1) << second.stderr_text();
  EXPECT_NE(second.stderr_text().find("cannot listen on 127.0.0.1:" + std::to_string(port_)),
            std::string::npos)
      << second.stderr_text();
  // The first instance still answers every request.
  for (int i = 0; i < 20; ++i) {
    auto r = client().Get("/.well-known/oauth-protected-resource/mcp");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 200);
  }
}

}  // namespace
}  // namespace mcpgate
