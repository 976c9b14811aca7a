// Integration: the real `mcpgate serve --config` binary on a free loopback port — discovery, a challenge,
// forward-auth with a static token — and a clean exit 0 on SIGTERM within a bounded time.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "auth/token_digest.hpp"
#include "integration/http/child_process.hpp"
#include "jose/test_signer.hpp"

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
    port_ = testing::free_loopback_port();
    admin_port_ = testing::free_loopback_port();
    ASSERT_GT(port_, 0);
    std::ofstream(dir_ + "/mcpgate.toml")
        << "[server]\npublic_url = \"https://mcp.example.com/mcp\"\nlisten_address = \"127.0.0.1\"\nport = "
        << port_ << "\nthreads = 4\nforward_auth_path = \"/auth\"\ntrusted_proxies = [\"127.0.0.1\"]\n\n"
        << "[[issuers]]\nissuer = \"https://as.example.org\"\naudiences = [\"https://mcp.example.com/mcp\"]\n"
        << "jwks_file = \"" << dir_ << "/jwks.json\"\n\n"
        << "[[static_tokens]]\nname = \"smoke\"\nsha256 = \"" << auth::digest_hex(auth::digest_token(kToken))
        << "\"\nscopes = [\"mcp:read\", \"mcp:write\"]\n\n"
        << "[[routes]]\nprefix = \"/mcp\"\nscopes = [\"mcp:read\", \"mcp:write\"]\n\n"
        << "[admin]\nport = " << admin_port_ << "\n";  // never the default 9090: tests run side by side
    serve_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{MCPGATE_BINARY, "serve", "--config", dir_ + "/mcpgate.toml"},
        dir_ + "/stderr.log");
    ASSERT_TRUE(testing::wait_for_port(port_, std::chrono::seconds(10)))
        << "mcpgate serve did not listen: " << serve_->stderr_text();
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
  int admin_port_ = 0;
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

  auto allowed = client().Get("/auth", {{"Authorization", std::string("Bearer ") + kToken},
                                        {"X-Original-Method", "POST"},
                                        {"X-Original-URI", "/mcp"}});
  ASSERT_TRUE(allowed);
  EXPECT_EQ(allowed->status, 200);
  EXPECT_EQ(allowed->get_header_value("X-Auth-Subject"), "smoke");
  EXPECT_EQ(allowed->get_header_value("X-Auth-Source"), "static");
  EXPECT_EQ(allowed->body.find(kToken), std::string::npos);

  EXPECT_EQ(serve_->stop(SIGTERM, std::chrono::seconds(10)), 0) << serve_->stderr_text();
  EXPECT_EQ(serve_->stderr_text().find(kToken), std::string::npos);  // the secret is never logged
}

}  // namespace
}  // namespace mcpgate
