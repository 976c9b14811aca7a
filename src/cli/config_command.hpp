// config_command.hpp — `mcpgate check-config --config FILE`: validate the configuration and explain what it
// derives.
//
//   mcpgate::cli::register_check_config(app, result);
//   // $ mcpgate check-config --config mcpgate.toml
//   //   exit 0 and a summary (issuers, audiences, JWKS URLs, routes, static token NAMES — never digests), or
//   //   exit 2 and one line per problem: "static_tokens[1].sha256: expected 64 hex characters"
#pragma once

#include "cli/command.hpp"

namespace mcpgate::cli {

void register_check_config(CLI::App& app, CommandResult& result);

}  // namespace mcpgate::cli
