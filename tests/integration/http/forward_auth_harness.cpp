#include "integration/http/forward_auth_harness.hpp"

#include <gtest/gtest.h>
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "auth/token_digest.hpp"
#include "jose/test_signer.hpp"

namespace mcpgate::testing {
namespace {

std::string config_text(const std::string& dir, const std::string& extra_server_keys) {
  std::ofstream(dir + "/jwks.json") << jose::testing::jwks_json(
      {jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048).public_jwk("kid-1")});
  std::ostringstream c;
  c << "[server]\npublic_url = \"https://mcp.example.com/mcp\"\nlisten_address = \"127.0.0.1\"\nport = 0\n"
    << "threads = 8\nforward_auth_path = \"/auth\"\ntrusted_proxies = [\"127.0.0.1\"]\n"
    << extra_server_keys << "\n[admin]\nport = 0\n\n"
    << "[[issuers]]\nissuer = \"https://as.example.org\"\naudiences = [\"https://mcp.example.com/mcp\"]\n"
    << "jwks_file = \"" << dir << "/jwks.json\"\n\n";
  for (auto [name, token, scopes] : {std::tuple{"reader", kForwardAuthReadToken, "\"mcp:read\""},
                                     {"writer", kForwardAuthWriteToken, "\"mcp:read\", \"mcp:write\""}})
    c << "[[static_tokens]]\nname = \"" << name << "\"\nsha256 = \""
      << auth::digest_hex(auth::digest_token(token)) << "\"\nscopes = [" << scopes << "]\n\n";
  c << "[[routes]]\nprefix = \"/health\"\npublic = true\n\n"
    << "[[routes]]\nprefix = \"/mcp/public\"\npublic = true\n\n"
    << "[[routes]]\nprefix = \"/mcp\"\nmethods = [\"POST\"]\nscopes = [\"mcp:write\"]\n\n"
    << "[[routes]]\nprefix = \"/mcp\"\nscopes = [\"mcp:read\"]\n";
  return c.str();
}

}  // namespace

void ForwardAuthGateway::start(const std::string& dir, const std::string& extra_server_keys) {
  std::filesystem::create_directories(dir + "/logs");
  std::ofstream(dir + "/mcpgate.toml") << config_text(dir, extra_server_keys);
  child_ = std::make_unique<ChildProcess>(
      std::vector<std::string>{MCPGATE_BINARY, "serve", "--config", dir + "/mcpgate.toml"},
      dir + "/logs/mcpgate.log");
  const auto listening = wait_for_log_event(*child_, "listening", std::chrono::seconds(20));
  ASSERT_TRUE(listening) << "mcpgate serve did not listen: " << child_->stderr_text();
  port_ = listening->value("port", 0);
  ASSERT_GT(port_, 0);
}

void ForwardAuthGateway::stop_and_check_no_token_logged() {
  if (!child_) return;
  EXPECT_EQ(child_->stop(SIGTERM, std::chrono::seconds(10)), 0) << child_->stderr_text();
  for (const char* token : {kForwardAuthReadToken, kForwardAuthWriteToken})
    EXPECT_EQ(child_->stderr_text().find(token), std::string::npos) << "a token was logged";
}

std::string read_example(const std::string& relative_path) {
  std::ifstream in(std::string(MCPGATE_SOURCE_DIR) + "/" + relative_path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void replace_once(std::string& text, const std::string& from, const std::string& to) {
  auto at = text.find(from);
  ASSERT_NE(at, std::string::npos) << "the example no longer contains: " << from;
  text.replace(at, from.size(), to);
}

}  // namespace mcpgate::testing
