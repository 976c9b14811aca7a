#include "cli/config_command.hpp"

#include <algorithm>
#include <iostream>
#include <mcpgate/config.hpp>
#include <memory>
#include <string>

#include "auth/issuer.hpp"

namespace mcpgate::cli {
namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? "(none)" : out;
}

std::string spaced(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : " ") + i;
  return out;
}

// What one rule asks of the caller, in words: "deny", or the scopes (the route's included) and conditions.
std::string needs_of(const RouteConfig& route, const CallRuleConfig& rule) {
  if (rule.deny) return "deny (everyone)";
  std::vector<std::string> scopes = route.scopes;
  for (const auto& s : rule.scopes)
    if (std::find(scopes.begin(), scopes.end(), s) == scopes.end()) scopes.push_back(s);
  std::string out = scopes.empty() ? "any valid token" : "scopes: " + spaced(scopes);
  if (!rule.any_scopes.empty()) out += "; one of: " + spaced(rule.any_scopes);
  if (!rule.organizations.empty()) out += "; organization: " + spaced(rule.organizations);
  for (const auto& [claim, value] : rule.claims) out += "; claim " + claim + " = " + value;
  return out;
}

// The effective rule table of an MCP route, first match first, then what no rule matches.
void print_rules(const RouteConfig& route, std::ostream& out) {
  if (!route.mcp) {
    out << "  mcp: off (bodies stream through unread)\n";
    return;
  }
  out << "  mcp: POST bodies inspected; step-up: "
      << (route.step_up == "tool_result" ? "in-band tool result (ChatGPT)" : "403 challenge")
      << (route.rules.empty() ? "; no rules\n" : "\n");
  if (route.rules.empty()) return;
  struct Row {
    std::string n, method, target, needs, name;
  };
  std::vector<Row> rows = {{"#", "method", "target", "needs", "name"}};
  for (std::size_t i = 0; i < route.rules.size(); ++i) {
    const CallRuleConfig& r = route.rules[i];
    rows.push_back(
        {std::to_string(i + 1), r.method, r.target.empty() ? "*" : r.target, needs_of(route, r), r.name});
  }
  rows.push_back({"-", "*", "*",
                  route.is_public        ? "public"
                  : route.scopes.empty() ? "any valid token"
                                         : "scopes: " + spaced(route.scopes),
                  "(no rule matched)"});
  std::size_t w[4] = {0, 0, 0, 0};
  for (const auto& r : rows) {
    w[0] = std::max(w[0], r.n.size());
    w[1] = std::max(w[1], r.method.size());
    w[2] = std::max(w[2], r.target.size());
    w[3] = std::max(w[3], r.needs.size());
  }
  auto pad = [](const std::string& s, std::size_t width) {
    return s + std::string(width - s.size() + 2, ' ');
  };
  for (const auto& r : rows)
    out << "  " << pad(r.n, w[0]) << pad(r.method, w[1]) << pad(r.target, w[2]) << pad(r.needs, w[3])
        << r.name << "\n";
}

}  // namespace

void register_check_config(CLI::App& app, CommandResult& result) {
  auto path = std::make_shared<std::string>();
  CLI::App* check =
      app.add_subcommand("check-config", "Validate a configuration file and explain what it derives");
  check->add_option("--config", *path, "The TOML configuration file")->required();
  check->callback([path, &result] {
    ConfigLoad loaded = load_config_file(*path);
    for (const auto& w : loaded.warnings) std::cerr << "warning: " << w << "\n";
    if (!loaded.ok()) {
      for (const auto& e : loaded.errors)
        std::cerr << (e.key.empty() ? *path : e.key) << ": " << e.message << "\n";
      result.exit_code = kExitUsage;
      return;
    }
    const Config& c = *loaded.config;
    std::cout << "configuration " << *path << " is valid\n";
    for (const auto& p : auth::derive_issuer_profiles(c)) {
      std::cout << "issuer " << p.name << "\n  accepted iss: " << joined(p.issuers)
                << "\n  audiences: " << joined(p.audiences) << "\n  algorithms: " << p.algorithms.to_string()
                << "\n  keys: "
                << (!p.jwks_file.empty()  ? "file " + p.jwks_file
                    : !p.jwks_uri.empty() ? p.jwks_uri
                                          : "discovered from " + p.discovery_issuer)
                << "\n";
      if (!p.allowed_organizations.empty())
        std::cout << "  organizations: " << joined(p.allowed_organizations) << "\n";
    }
    for (const auto& t : c.static_tokens) {
      std::cout << "static token " << t.name << " scopes: " << joined(t.scopes)
                << (t.expires_at ? " expires_at: " + std::to_string(*t.expires_at) : std::string()) << "\n";
    }
    for (const auto& r : c.routes) {
      std::cout << "route " << r.prefix << " methods: " << joined(r.methods) << " -> "
                << (r.is_public ? std::string("public") : "scopes: " + joined(r.scopes)) << "\n";
      print_rules(r, std::cout);
    }
    std::cout << "other paths -> any valid token\n";
    result.exit_code = kExitOk;
  });
}

}  // namespace mcpgate::cli
