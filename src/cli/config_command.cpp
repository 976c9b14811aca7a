#include "cli/config_command.hpp"

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
    }
    std::cout << "other paths -> any valid token\n";
    result.exit_code = kExitOk;
  });
}

}  // namespace mcpgate::cli
