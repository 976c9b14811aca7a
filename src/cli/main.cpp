// The `mcpgate` command line. Each command group registers itself from its own file (see command.hpp).
#include <iostream>

#include "cli/command.hpp"
#include "cli/config_command.hpp"
#include "cli/doctor_command.hpp"
#include "cli/secrets_command.hpp"
#include "cli/serve_command.hpp"
#include "cli/token_mint_command.hpp"
#include "cli/token_verify_command.hpp"

int main(int argc, char** argv) {
  CLI::App app{"mcpgate — OAuth 2.1 protection for MCP servers (Stytch Connected Apps and any OIDC issuer)"};
  app.set_version_flag("--version", std::string("mcpgate ") + MCPGATE_VERSION);
  app.require_subcommand(1);
  mcpgate::cli::CommandResult result;

  auto* token = app.add_subcommand("token", "Verify access tokens; mint and hash static ones");
  token->require_subcommand(1);
  mcpgate::cli::register_token_verify(*token, result);
  mcpgate::cli::register_token_mint(*token, result);
  mcpgate::cli::register_check_config(app, result);

  mcpgate::cli::register_secrets_commands(app, result);
  mcpgate::cli::register_migrate_command(app, result);
  mcpgate::cli::register_serve_command(app, result);
  mcpgate::cli::register_doctor_command(app, result);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help/version to stdout, errors to stderr
    return code == 0 ? mcpgate::cli::kExitOk : mcpgate::cli::kExitUsage;
  }
  return result.exit_code;
}
