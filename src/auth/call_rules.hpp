// call_rules.hpp — what one MCP request needs beyond its route's scopes: the [[routes.rules]] of a route,
// judged per JSON-RPC message (method and target), first match wins.
//
//   mcpgate::auth::CallRules rules(route_config.rules, "routes[0]");
//   mcpgate::auth::CallVerdict v = rules.judge("tools/call", "delete_page", principal);   // nullptr: no token
//   switch (v.kind) {
//     case CallVerdict::Kind::Allow: forward(); break;
//     case CallVerdict::Kind::NeedsScope: step_up(v.missing); break;   // 403 insufficient_scope, or in band
//     case CallVerdict::Kind::Forbidden: refuse(v.rule->name); break;  // deny, or a condition not met
//   }
//
// A rule matches on `method` (a glob) and, when it names one, `target` (a glob on params.name of tools/call
// and prompts/get, params.uri of resources/read and resources/(un)subscribe; a message without a target never
// matches a rule with one). Globs: '*' is any run of bytes (also '/'), '?' one byte, everything else itself;
// matching is byte-exact, case-sensitive. The matched rule then decides, in this order:
//   deny                      → Forbidden (nobody, whatever the token holds)
//   organizations / claims    → Forbidden when not met (more scopes would not help: no challenge)
//   scopes / any_scopes       → NeedsScope with what is missing (the client can step up)
//   otherwise                 → Allow
// The route's own scopes were checked from the request head before the body was read: a rule only adds.
#pragma once

#include <mcpgate/config.hpp>
#include <mcpgate/principal.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate::auth {

struct CallRule {
  std::string name;  // "routes[0].rules[2]" unless configured
  std::string method;
  std::optional<std::string> target;
  std::vector<std::string> scopes;
  std::vector<std::string> any_scopes;
  std::vector<std::string> organizations;
  std::vector<std::pair<std::string, std::string>> claims;
  bool deny = false;
};

struct CallVerdict {
  enum class Kind { Allow, NeedsScope, Forbidden };
  Kind kind = Kind::Allow;
  const CallRule* rule = nullptr;    // the rule that decided; null when none matched
  std::vector<std::string> missing;  // NeedsScope: the scopes to add (every missing one of `scopes`, and the
                                     // first of `any_scopes` when none of them is held)
};

// '*' any run, '?' one byte; byte-exact otherwise.
bool glob_match(std::string_view pattern, std::string_view text) noexcept;

class CallRules {
 public:
  CallRules() = default;
  CallRules(const std::vector<CallRuleConfig>& rules, const std::string& route_name);

  // `target` nullopt when the message names nothing; `who` null on a public route.
  CallVerdict judge(std::string_view method, std::optional<std::string_view> target,
                    const Principal* who) const;
  const CallRule* match(std::string_view method, std::optional<std::string_view> target) const noexcept;

  bool empty() const noexcept { return rules_.empty(); }
  const std::vector<CallRule>& rules() const noexcept { return rules_; }

 private:
  std::vector<CallRule> rules_;
};

// A claim's value meets a required one: the same string, an array holding it, or a number or boolean whose
// JSON text is it ("true", "42").
bool claim_meets(const nlohmann::json& claims, std::string_view name, std::string_view required);

}  // namespace mcpgate::auth
