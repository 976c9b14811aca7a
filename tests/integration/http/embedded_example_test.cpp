// The embedded example (examples/embedded) run as its own process with a config file, spoken to over
// loopback.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "auth/token_digest.hpp"
#include "jose/test_signer.hpp"

namespace {

TEST(EmbeddedExample, ProtectsItsJsonRpcEndpointAndHandsThePrincipalToTheHandler) {
  std::string dir = ::testing::TempDir();
  std::string jwks = dir + "embedded_example_jwks.json";
  std::ofstream(jwks) << mcpgate::jose::testing::jwks_json(
      {mcpgate::jose::testing::TestKey::shared(mcpgate::jose::testing::KeyKind::Rsa2048).public_jwk("k")});
  // A free port: bind, read it, release (the example binds it right after; bounded retries below).
  int port = 0;
  {
    httplib::Server probe;
    port = probe.bind_to_any_port("127.0.0.1");
  }
  ASSERT_GT(port, 0);
  std::string conf = dir + "embedded_example.toml";
  std::ofstream(conf)
      << "[server]\npublic_url = \"https://mcp.example.com/mcp\"\nport = " << port
      << "\n[[issuers]]\nissuer = \"https://as.example.org\"\njwks_file = \"" << jwks
      << "\"\naudiences = [\"x\"]\n[[static_tokens]]\nname = \"ci\"\nsha256 = \""
      << mcpgate::auth::digest_hex(mcpgate::auth::digest_token("embedded-token-123"))
      << "\"\nscopes = [\"mcp:read\"]\n[[routes]]\nprefix = \"/mcp\"\nscopes = [\"mcp:read\"]\n";
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    execl(MCPGATE_EMBEDDED_EXAMPLE, MCPGATE_EMBEDDED_EXAMPLE, conf.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  httplib::Client client("127.0.0.1", port);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(1);
  auto unauth = client.Post("/mcp", R"({"jsonrpc":"2.0","id":1,"method":"whoami"})", "application/json");
  for (int i = 0; i < 100 && !unauth; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    unauth = client.Post("/mcp", R"({"jsonrpc":"2.0","id":1,"method":"whoami"})", "application/json");
  }
  ASSERT_TRUE(unauth);
  EXPECT_EQ(unauth->status, 401);
  EXPECT_NE(unauth->get_header_value("WWW-Authenticate").find("resource_metadata="), std::string::npos);
  auto ok = client.Post("/mcp", {{"Authorization", "Bearer embedded-token-123"}},
                        R"({"jsonrpc":"2.0","id":1,"method":"whoami"})", "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(nlohmann::json::parse(ok->body)["result"]["subject"], "ci");
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
}

}  // namespace
