#include "auth/call_rules.hpp"

#include <algorithm>

namespace mcpgate::auth {

bool glob_match(std::string_view pattern, std::string_view text) noexcept {
  // Iterative with one backtrack point: linear in practice, never exponential (a pattern of many '*').
  std::size_t p = 0, t = 0, star = std::string_view::npos, resume = 0;
  while (t < text.size()) {
    if (p < pattern.size() && (pattern[p] == '?' || (pattern[p] != '*' && pattern[p] == text[t]))) {
      ++p;
      ++t;
    } else if (p < pattern.size() && pattern[p] == '*') {
      star = p++;
      resume = t;
    } else if (star != std::string_view::npos) {
      p = star + 1;
      t = ++resume;
    } else {
      return false;
    }
  }
  while (p < pattern.size() && pattern[p] == '*') ++p;
  return p == pattern.size();
}

bool claim_meets(const nlohmann::json& claims, std::string_view name, std::string_view required) {
  if (!claims.is_object()) return false;
  const auto it = claims.find(name);
  if (it == claims.end()) return false;
  auto one = [&](const nlohmann::json& v) {
    if (v.is_string()) return v.get_ref<const std::string&>() == required;
    if (v.is_boolean() || v.is_number()) return v.dump() == required;
    return false;
  };
  if (it->is_array()) return std::any_of(it->begin(), it->end(), one);
  return one(*it);
}

CallRules::CallRules(const std::vector<CallRuleConfig>& rules, const std::string& route_name) {
  rules_.reserve(rules.size());
  for (std::size_t i = 0; i < rules.size(); ++i) {
    const CallRuleConfig& r = rules[i];
    CallRule rule;
    rule.name = r.name.empty() ? route_name + ".rules[" + std::to_string(i) + "]" : r.name;
    rule.method = r.method;
    if (!r.target.empty()) rule.target = r.target;
    rule.scopes = r.scopes;
    rule.any_scopes = r.any_scopes;
    rule.organizations = r.organizations;
    rule.claims = r.claims;
    rule.deny = r.deny;
    rules_.push_back(std::move(rule));
  }
}

const CallRule* CallRules::match(std::string_view method,
                                 std::optional<std::string_view> target) const noexcept {
  for (const auto& rule : rules_) {
    if (!glob_match(rule.method, method)) continue;
    if (rule.target && (!target || !glob_match(*rule.target, *target))) continue;
    return &rule;
  }
  return nullptr;
}

CallVerdict CallRules::judge(std::string_view method, std::optional<std::string_view> target,
                             const Principal* who) const {
  CallVerdict v;
  v.rule = match(method, target);
  if (!v.rule) return v;
  const CallRule& rule = *v.rule;
  if (rule.deny) {
    v.kind = CallVerdict::Kind::Forbidden;
    return v;
  }
  const bool conditional = !rule.organizations.empty() || !rule.claims.empty();
  const bool scoped = !rule.scopes.empty() || !rule.any_scopes.empty();
  if (!who) {  // a public route: a rule that asks anything of the caller cannot be met without a token
    if (conditional || scoped) v.kind = CallVerdict::Kind::Forbidden;
    return v;
  }
  if (!rule.organizations.empty() &&
      (!who->organization || std::find(rule.organizations.begin(), rule.organizations.end(),
                                       who->organization->id) == rule.organizations.end())) {
    v.kind = CallVerdict::Kind::Forbidden;
    return v;
  }
  for (const auto& [claim, value] : rule.claims) {
    if (!claim_meets(who->claims, claim, value)) {
      v.kind = CallVerdict::Kind::Forbidden;
      return v;
    }
  }
  for (const auto& s : rule.scopes)
    if (!who->has_scope(s)) v.missing.push_back(s);
  if (!rule.any_scopes.empty() && std::none_of(rule.any_scopes.begin(), rule.any_scopes.end(),
                                               [&](const std::string& s) { return who->has_scope(s); }))
    v.missing.push_back(rule.any_scopes.front());
  if (!v.missing.empty()) v.kind = CallVerdict::Kind::NeedsScope;
  return v;
}

}  // namespace mcpgate::auth
