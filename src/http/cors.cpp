#include "http/cors.hpp"

#include <algorithm>

#include "core/ascii.hpp"

namespace mcpgate::http {
namespace {

std::string without_trailing_slash(std::string s) {
  while (!s.empty() && s.back() == '/') s.pop_back();
  return s;
}

}  // namespace

CorsPolicy::CorsPolicy(std::vector<std::string> allowed_origins, std::string own_origin) {
  for (auto& o : allowed_origins) {
    if (o == "*")
      any_ = true;
    else
      allowed_.push_back(ascii_lower(without_trailing_slash(o)));
  }
  if (!own_origin.empty()) allowed_.push_back(ascii_lower(own_origin));
}

bool CorsPolicy::allows(std::string_view origin) const noexcept {
  if (any_) return true;
  // Origins are serialized lower-case by browsers (RFC 6454 §6.2); compare case-insensitively anyway.
  std::string o = ascii_lower(origin);
  return std::find(allowed_.begin(), allowed_.end(), o) != allowed_.end();
}

bool CorsPolicy::is_preflight(std::string_view method, bool has_origin, bool has_request_method) noexcept {
  return method == "OPTIONS" && has_origin && has_request_method;
}

HeaderList CorsPolicy::preflight_headers(std::string_view origin) const {
  HeaderList h;
  add_response_headers(origin, h);
  h.emplace_back("Access-Control-Allow-Methods", "GET, POST, DELETE, OPTIONS");
  // MCP 2026-07-28 (SEP-2243): every POST carries Mcp-Method, and Mcp-Name for a named tool, prompt or
  // resource; a browser client whose preflight does not allow them fails before its first request.
  h.emplace_back(
      "Access-Control-Allow-Headers",
      "Authorization, Content-Type, Accept, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name, "
      "Last-Event-ID");
  h.emplace_back("Access-Control-Max-Age", "600");
  return h;
}

void CorsPolicy::add_response_headers(std::string_view origin, HeaderList& headers) const {
  headers.emplace_back("Access-Control-Allow-Origin", std::string(origin));
  headers.emplace_back("Vary", "Origin");
  headers.emplace_back("Access-Control-Expose-Headers",
                       "WWW-Authenticate, Mcp-Session-Id, MCP-Protocol-Version, Mcp-Method, Mcp-Name");
}

}  // namespace mcpgate::http
