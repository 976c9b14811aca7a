// secrets_command.hpp — `mcpgate secrets ...` and `mcpgate migrate`: the operator's hands on the token store.
//
//   mcpgate secrets keygen --id k2                         # prints "k2:BASE64" for MCPGATE_STORE_KEYS
//   printf %s "$TOKEN" | mcpgate secrets put github token --store sqlite:/var/lib/mcpgate/store.db
//   mcpgate secrets get github token --issuer https://as.example.org --subject alice   # --reveal: the value
//   mcpgate secrets list | delete | rotate | audit --since 3600
//   mcpgate secrets bind-issuer static              # per-user tokens stored before issuers: these are static
//   mcpgate migrate --store postgres:"host=db dbname=mcpgate sslmode=verify-full"
//
// Values come from stdin or --from-file, never argv (visible in ps and shell history). Every command writes
// an audit row; failures print one line naming what is wrong and exit 1 (store refused) or 2 (bad input).
#pragma once

#include "cli/command.hpp"

namespace mcpgate::cli {

void register_secrets_commands(CLI::App& app, CommandResult& result);
void register_migrate_command(CLI::App& app, CommandResult& result);

}  // namespace mcpgate::cli
