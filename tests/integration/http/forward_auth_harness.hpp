// forward_auth_harness.hpp — what the proxy forward-auth suites (nginx, Caddy) share: the real `mcpgate serve`
// with one forward-auth configuration, and the shipped example a test rewrites for its ports.
//
//   testing::ForwardAuthGateway gateway;
//   gateway.start(dir, "forward_auth_proxy = \"caddy\"\n");     // extra [server] keys; ASSERT_* inside
//   gateway.port();                                             // from serve's "listening" line
//   std::string conf = testing::read_example("examples/nginx/nginx.conf");
//   testing::replace_once(conf, "server 127.0.0.1:8080;", ...);  // fails the test if the example changed
//   gateway.stop_and_check_no_token_logged();                    // in TearDown
//
// The configuration: static tokens reader (mcp:read) and writer (mcp:read mcp:write); routes /health and
// /mcp/public public, POST /mcp needs mcp:write, the rest of /mcp mcp:read; trusted proxy 127.0.0.1.
#pragma once

#include <memory>
#include <string>

#include "support/child_process.hpp"

namespace mcpgate::testing {

inline constexpr const char* kForwardAuthReadToken = "forward-auth-read-token-0123456789";
inline constexpr const char* kForwardAuthWriteToken = "forward-auth-write-token-0123456789";
inline const std::string kForwardAuthMetadataUrl =
    "https://mcp.example.com/.well-known/oauth-protected-resource/mcp";

class ForwardAuthGateway {
 public:
  // Writes dir/mcpgate.toml (+ dir/jwks.json) and starts `mcpgate serve`, logging to dir/logs/mcpgate.log.
  void start(const std::string& dir, const std::string& extra_server_keys = "");
  int port() const { return port_; }
  ChildProcess* process() { return child_.get(); }
  // SIGTERM → exit 0, and neither token anywhere in what it logged.
  void stop_and_check_no_token_logged();

 private:
  std::unique_ptr<ChildProcess> child_;
  int port_ = 0;
};

// The text of a file of the source tree (MCPGATE_SOURCE_DIR-relative).
std::string read_example(const std::string& relative_path);
// Replaces the first `from`; a test failure naming the example text when it is not there.
void replace_once(std::string& text, const std::string& from, const std::string& to);

}  // namespace mcpgate::testing
