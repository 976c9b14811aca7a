#include "auth/route_rules.hpp"

#include <algorithm>
#include <cctype>

namespace mcpgate::auth {
namespace {

bool prefix_matches(std::string_view prefix, std::string_view path) noexcept {
  if (path.substr(0, prefix.size()) != prefix) return false;
  if (prefix.back() == '/' || path.size() == prefix.size()) return true;
  return path[prefix.size()] == '/';
}

bool has_dot_segment(std::string_view path) noexcept {
  std::size_t start = 0;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return true;
    start = end + 1;
  }
  return false;
}

bool method_equals(std::string_view configured, std::string_view method) noexcept {
  return configured.size() == method.size() &&
         std::equal(configured.begin(), configured.end(), method.begin(), [](char a, char b) {
           return a == static_cast<char>(std::toupper(static_cast<unsigned char>(b)));
         });
}

}  // namespace

RouteRules::RouteRules(const std::vector<RouteConfig>& routes) {
  for (std::size_t i = 0; i < routes.size(); ++i) {
    const RouteConfig& r = routes[i];
    const std::string name = "routes[" + std::to_string(i) + "]";
    rules_.push_back({r.prefix, r.methods, r.scopes, r.is_public, static_cast<int>(i), r.mcp,
                      r.step_up == "tool_result", CallRules(r.rules, name)});
  }
}

const RouteRule& RouteRules::match(std::string_view method, std::string_view path) const noexcept {
  const bool dotted = has_dot_segment(path);
  for (const auto& rule : rules_) {
    if (rule.prefix.empty() || !prefix_matches(rule.prefix, path)) continue;
    if (!rule.methods.empty() &&
        std::none_of(rule.methods.begin(), rule.methods.end(),
                     [&](const std::string& m) { return method_equals(m, method); })) {
      continue;
    }
    if (rule.is_public && dotted) continue;  // "/public/../admin" must not borrow the public rule
    return rule;
  }
  return default_;
}

Reason RouteRules::authorize(const RouteRule& rule, const Principal& principal) noexcept {
  if (rule.is_public) return Reason::Ok;
  for (const auto& scope : rule.scopes) {
    if (!principal.has_scope(scope)) return Reason::InsufficientScope;
  }
  return Reason::Ok;
}

}  // namespace mcpgate::auth
