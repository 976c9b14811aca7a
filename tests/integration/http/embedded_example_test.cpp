// The embedded example (examples/embedded) run as its own process with a config file, spoken to over
// loopback.
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "auth/token_digest.hpp"
#include "jose/test_signer.hpp"
#include "support/child_process.hpp"

namespace {

// Writes the example's config (and its issuer's key set) next to `dir`, listening on `port` (0: any).
std::string write_config(const std::string& dir, int port) {
  std::string jwks = dir + "embedded_example_jwks.json";
  std::ofstream(jwks) << mcpgate::jose::testing::jwks_json(
      {mcpgate::jose::testing::TestKey::shared(mcpgate::jose::testing::KeyKind::Rsa2048).public_jwk("k")});
  std::string conf = dir + "embedded_example_" + std::to_string(port) + ".toml";
  std::ofstream(conf)
      << "[server]\npublic_url = \"https://mcp.example.com/mcp\"\nlisten_address = \"127.0.0.1\"\nport = "
      << port << "\n[[issuers]]\nissuer = \"https://as.example.org\"\njwks_file = \"" << jwks
      << "\"\naudiences = [\"x\"]\n[[static_tokens]]\nname = \"ci\"\nsha256 = \""
      << mcpgate::auth::digest_hex(mcpgate::auth::digest_token("embedded-token-123"))
      << "\"\nscopes = [\"mcp:read\"]\n[[routes]]\nprefix = \"/mcp\"\nscopes = [\"mcp:read\"]\n";
  return conf;
}

std::string temp_prefix() {
  return ::testing::TempDir() + "mcpgate_embedded_" + std::to_string(::getpid()) + "_";
}

TEST(EmbeddedExample, ProtectsItsJsonRpcEndpointAndHandsThePrincipalToTheHandler) {
  const std::string dir = temp_prefix();
  const std::string conf = write_config(dir, 0);
  // The child is always stopped (destructor), so a failed assertion never leaves the example running.
  mcpgate::testing::ChildProcess example({MCPGATE_EMBEDDED_EXAMPLE, conf}, dir + "embedded_example.stderr");
  const int port = mcpgate::testing::wait_for_listening_line(example, std::chrono::seconds(20));
  ASSERT_GT(port, 0) << "the example did not listen: " << example.stderr_text();

  httplib::Client client("127.0.0.1", port);
  client.set_tcp_nodelay(true);
  client.set_connection_timeout(2);
  client.set_read_timeout(10);
  auto unauth = client.Post("/mcp", R"({"jsonrpc":"2.0","id":1,"method":"whoami"})", "application/json");
  ASSERT_TRUE(unauth) << httplib::to_string(unauth.error()) << "; " << example.stderr_text();
  EXPECT_EQ(unauth->status, 401);
  EXPECT_NE(unauth->get_header_value("WWW-Authenticate").find("resource_metadata="), std::string::npos);
  auto ok = client.Post("/mcp", {{"Authorization", "Bearer embedded-token-123"}},
                        R"({"jsonrpc":"2.0","id":1,"method":"whoami"})", "application/json");
  ASSERT_TRUE(ok) << httplib::to_string(ok.error()) << "; " << example.stderr_text();
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(nlohmann::json::parse(ok->body)["result"]["subject"], "ci");
  EXPECT_EQ(example.stop(SIGTERM, std::chrono::seconds(10)), 128 + SIGTERM);
}

// The example is what embedders copy: a second copy on a port the first holds exits 1, never shares it.
TEST(EmbeddedExample, SecondCopyOnABusyPortExitsOne) {
  const std::string dir = temp_prefix();
  mcpgate::testing::ChildProcess first({MCPGATE_EMBEDDED_EXAMPLE, write_config(dir, 0)},
                                       dir + "first.stderr");
  const int port = mcpgate::testing::wait_for_listening_line(first, std::chrono::seconds(20));
  ASSERT_GT(port, 0) << first.stderr_text();
  mcpgate::testing::ChildProcess second({MCPGATE_EMBEDDED_EXAMPLE, write_config(dir, port)},
                                        dir + "second.stderr");
  // Signal 0 sends nothing: stop() only waits for the exit.
  EXPECT_EQ(second.stop(0, std::chrono::seconds(20)), 1) << second.stderr_text();
  EXPECT_NE(second.stderr_text().find("cannot listen on 127.0.0.1:" + std::to_string(port)),
            std::string::npos)
      << second.stderr_text();
  EXPECT_TRUE(first.running());
}

}  // namespace
