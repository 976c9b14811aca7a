#include "http/cors.hpp"

#include <gtest/gtest.h>

namespace mcpgate::http {
namespace {

TEST(Cors, ConfiguredAndOwnOriginsAreAllowedOthersNot) {
  CorsPolicy cors({"https://inspector.example.org/"}, "https://mcp.example.com");
  EXPECT_TRUE(cors.allows("https://inspector.example.org"));
  EXPECT_TRUE(cors.allows("https://mcp.example.com"));
  EXPECT_TRUE(cors.allows("HTTPS://MCP.EXAMPLE.COM"));
  EXPECT_FALSE(cors.allows("https://evil.example"));
  EXPECT_FALSE(cors.allows("null"));
}

TEST(Cors, StarAllowsEveryOrigin) {
  CorsPolicy cors({"*"}, "https://mcp.example.com");
  EXPECT_TRUE(cors.allows("https://anything.example"));
}

TEST(Cors, PreflightNeedsOptionsOriginAndRequestMethod) {
  EXPECT_TRUE(CorsPolicy::is_preflight("OPTIONS", true, true));
  EXPECT_FALSE(CorsPolicy::is_preflight("OPTIONS", true, false));
  EXPECT_FALSE(CorsPolicy::is_preflight("POST", true, true));
}

// MCP 2026-07-28 (SEP-2243): a browser client sends Mcp-Method on every POST and Mcp-Name on named calls.
TEST(Cors, PreflightAllowsTheStatelessRevisionsStandardHeaders) {
  CorsPolicy cors({}, "https://mcp.example.com");
  std::string allowed;
  for (const auto& [k, v] : cors.preflight_headers("https://mcp.example.com"))
    if (k == "Access-Control-Allow-Headers") allowed = v;
  for (const char* name :
       {"Mcp-Method", "Mcp-Name", "MCP-Protocol-Version", "Mcp-Session-Id", "Authorization"})
    EXPECT_NE(allowed.find(name), std::string::npos) << name << " missing from: " << allowed;
}

TEST(Cors, ResponsesExposeTheChallengeAndSessionHeaders) {
  CorsPolicy cors({}, "https://mcp.example.com");
  HeaderList h;
  cors.add_response_headers("https://mcp.example.com", h);
  bool exposed = false;
  for (const auto& [k, v] : h)
    exposed |= k == "Access-Control-Expose-Headers" &&
               v == "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name";
  EXPECT_TRUE(exposed);
}

}  // namespace
}  // namespace mcpgate::http
