// serve_command.hpp — `mcpgate serve --config FILE`: discovery, challenges and forward-auth from a config
// file.
//
//   mcpgate::cli::register_serve_command(app, result);   // in main.cpp
//
// The server is the Guard installed on a hardened httplib::Server; a request the Guard allows reaches the
// "allow" action, which today answers 404 JSON (nothing behind it yet) and is where the gateway's proxy plugs
// in. SIGINT / SIGTERM stop it cleanly (exit 0).
#pragma once

#include "cli/command.hpp"

namespace mcpgate::cli {

void register_serve_command(CLI::App& app, CommandResult& result);

}  // namespace mcpgate::cli
