// token_mint_command.hpp — `mcpgate token new` and `mcpgate token hash`: static bearer tokens, kept only as
// digests.
//
//   mcpgate::cli::register_token_mint(*token, result);
//   // $ mcpgate token new --name claude-code --scopes mcp:read,mcp:write
//   //   prints the token ONCE (mcpg_ + 43 base64url characters = 256 random bits) and the [[static_tokens]]
//   snippet
//   // $ printf '%s' "$TOKEN" | mcpgate token hash      # the sha256 line for an existing token
#pragma once

#include "cli/command.hpp"

namespace mcpgate::cli {

void register_token_mint(CLI::App& token, CommandResult& result);

}  // namespace mcpgate::cli
