// cors.hpp — which browser origins may call the protected resource, and the CORS headers they get.
//
//   mcpgate::http::CorsPolicy cors(config.server.allowed_origins, "https://mcp.example.com");
//   if (origin && !cors.allows(*origin)) refuse(mcpgate::Reason::OriginNotAllowed);   // 403, MCP transport
//   rule if (mcpgate::http::CorsPolicy::is_preflight(method, has_origin, has_acrm)) return
//   cors.preflight(origin); cors.add_response_headers(origin, headers);   // Allow-Origin, Vary,
//   Expose-Headers: WWW-Authenticate, ...
//
// MCP Streamable HTTP: a request whose Origin is not allowed MUST get 403 (DNS-rebinding defence); requests
// without Origin (non-browser clients) are unaffected. Preflights are answered before any credential check (a
// browser never sends Authorization on a preflight, Fetch §4.8), and WWW-Authenticate / Mcp-Session-Id are
// exposed so browser clients (MCP Inspector) can read the challenge. "*" in allowed_origins allows every
// origin.
#pragma once

#include <mcpgate/guard.hpp>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate::http {

class CorsPolicy {
 public:
  CorsPolicy(std::vector<std::string> allowed_origins, std::string own_origin);

  bool allows(std::string_view origin) const noexcept;
  static bool is_preflight(std::string_view method, bool has_origin, bool has_request_method) noexcept;
  // Headers of the 204 answer to an allowed preflight.
  HeaderList preflight_headers(std::string_view origin) const;
  // Headers every response to an allowed cross-origin request carries.
  void add_response_headers(std::string_view origin, HeaderList& headers) const;

 private:
  std::vector<std::string> allowed_;
  bool any_ = false;
};

}  // namespace mcpgate::http
