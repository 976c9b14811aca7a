// upstream.hpp — where a gateway route sends its requests, and how a request path maps onto it.
//
//   auto up = mcpgate::gateway::parse_upstream("http://127.0.0.1:3000/mcp");   // std::nullopt when not a URL
//   up->origin;                          // "http://127.0.0.1:3000" (the connection pool key)
//   up->map_path("/coda", "/coda/x");    // "/mcp/x": with a base path the prefix is replaced (nginx
//   proxy_pass) parse_upstream("http://up:3000")->map_path("/mcp", "/mcp/x");   // "/mcp/x": no base path,
//   path unchanged
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mcpgate::gateway {

struct Upstream {
  std::string origin;     // scheme://host[:port]
  std::string authority;  // host[:port], for X-Forwarded-Host checks and logs
  std::string host;       // for the connection and TLS (SNI, certificate name); IPv6 without brackets
  std::string port;       // explicit, or 80 / 443 by scheme
  std::string base_path;  // "" or "/base" (no trailing slash unless it is "/")
  bool tls = false;

  std::string map_path(std::string_view route_prefix, std::string_view path) const;
};

std::optional<Upstream> parse_upstream(std::string_view url);

}  // namespace mcpgate::gateway
