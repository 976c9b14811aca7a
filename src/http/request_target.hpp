// request_target.hpp — the path a route rule is matched against, made from a raw request target.
//
//   mcpgate::http::RequestTarget t = mcpgate::http::parse_request_target("/a/../mcp?x=1&access_token=abc");
//   t.ok;                    // false when the target cannot be decoded safely (NUL, bad %-escape, %2F)
//   t.path;                  // "/mcp": percent-decoded, dot segments removed, repeated slashes merged
//   t.query_has_access_token;  // true: RFC 6750 §2.3 query tokens are refused, never used
//
// Why normalise: a forward-auth check sees the client's raw URI (nginx's $request_uri) while the upstream
// sees the normalised one; matching "/x/../mcp" against the rules verbatim would let it dodge the scopes of
// "/mcp" (RFC 3986 §5.2.4 remove_dot_segments; nginx merges slashes by default, so "//mcp" is "/mcp" there
// too).
#pragma once

#include <string>
#include <string_view>

namespace mcpgate::http {

struct RequestTarget {
  bool ok = false;
  std::string path;
  bool query_has_access_token = false;
};

RequestTarget parse_request_target(std::string_view target);
// An already-decoded path (cpp-httplib's Request::path): dot segments removed, slashes merged.
std::string normalize_path(std::string_view decoded_path);
// True when a query string (without '?') has a parameter named access_token (the name percent-decoded).
bool query_has_access_token(std::string_view query);

}  // namespace mcpgate::http
