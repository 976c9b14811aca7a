// route_rules.hpp — which requests need a token, and which scopes (the authorize stage).
//
//   mcpgate::auth::RouteRules rules(config.routes);
//   const mcpgate::auth::RouteRule& rule = rules.match("POST", "/mcp");   // first matching [[routes]] entry
//   if (rule.is_public) return serve();                                  // no token needed
//   auto auth = authenticator.authenticate(token);                       // see authenticator.hpp
//   if (auth.reason == mcpgate::Reason::Ok)
//     auth.reason = mcpgate::auth::RouteRules::authorize(rule, *auth.principal);  // Ok or InsufficientScope
//   // 403 challenges carry scope="<rule.scopes joined by spaces>" (MCP authorization, RFC 6750 §3.1)
//
// Matching: rules in file order, first match wins. A prefix ending in '/' matches every path under it; any
// other prefix matches the path itself and paths continuing with '/' ("/mcp" matches /mcp and /mcp/x, never
// /mcpx). `methods` (upper case) narrows a rule; empty means any method. Unmatched requests fall to the
// default rule: a valid token, no scopes. `path` must be the decoded, normalized path without query; as a
// guard against a caller that did not normalize, a path with dot segments never matches a public rule.
#pragma once

#include <mcpgate/config.hpp>
#include <mcpgate/principal.hpp>
#include <mcpgate/status.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "auth/call_rules.hpp"

namespace mcpgate::auth {

struct RouteRule {
  std::string prefix;                // empty for the default rule
  std::vector<std::string> methods;  // empty = any
  std::vector<std::string> scopes;   // all required
  bool is_public = false;
  int index = -1;                // position in [[routes]]; -1 = the default rule
  bool mcp = false;              // POST bodies are inspected and judged by `calls` (RouteConfig::mcp)
  bool step_up_in_band = false;  // step_up = "tool_result"
  CallRules calls;               // [[routes.rules]]
};

class RouteRules {
 public:
  explicit RouteRules(const std::vector<RouteConfig>& routes);

  const RouteRule& match(std::string_view method, std::string_view path) const noexcept;
  // Ok when the principal holds every scope the rule requires (public rules: always Ok).
  static Reason authorize(const RouteRule& rule, const Principal& principal) noexcept;

  const std::vector<RouteRule>& rules() const noexcept { return rules_; }
  const RouteRule& default_rule() const noexcept { return default_; }

 private:
  std::vector<RouteRule> rules_;
  RouteRule default_;
};

}  // namespace mcpgate::auth
