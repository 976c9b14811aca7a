// command.hpp — how a command group plugs into the `mcpgate` binary.
//
//   void register_token_commands(CLI::App& token, mcpgate::cli::CommandResult& result);
//   // inside a subcommand's callback:  result.exit_code = run_verify(options);
//
// Exit codes are part of the CLI contract: 0 success, 1 a negative answer (invalid token, failed check),
// 2 a usage or input error (a message on stderr names the bad value).
#pragma once

#include <CLI/CLI.hpp>

namespace mcpgate::cli {

inline constexpr int kExitOk = 0;
inline constexpr int kExitNegative = 1;
inline constexpr int kExitUsage = 2;

struct CommandResult {
  int exit_code = kExitOk;
};

}  // namespace mcpgate::cli
