// doctor_command.hpp — `mcpgate doctor URL`: check a live deployment from outside, replaying the discovery
// ChatGPT, Claude.ai and Claude Code run, and say which step breaks and how to fix it.
//
//   mcpgate::cli::register_doctor_command(app, result);
//   // $ mcpgate doctor https://mcp.example.com/mcp --client all
//   // ok   prm.path           https://mcp.example.com/.well-known/oauth-protected-resource/mcp: resource ...
//   // FAIL challenge          the 401 has no WWW-Authenticate header (ChatGPT stops here) — fix: Pass ...
//   // $ mcpgate doctor https://mcp.example.com/mcp --json
//   // {"url":"https://mcp.example.com/mcp","checks":[{"id":"prm.path","client":["chatgpt","claude",
//   //  "claude-code"],"status":"ok","detail":"...","fix":""},...],"ok":false}
//
// Exit codes (command.hpp): 0 no check of the selected clients fails (warnings allowed), 1 one does, 2 a
// usage or input error (a malformed URL, an unknown --client, a bad --timeout or --ca-file; stderr names it).
#pragma once

#include <iosfwd>
#include <string>

#include "cli/command.hpp"

namespace mcpgate::cli {

struct DoctorArgs {
  std::string url;
  std::string client = "all";  // chatgpt | claude | claude-code | all
  bool json = false;
  std::string timeout = "10";  // seconds per connect, read and write
  std::string ca_file;         // PEM bundle instead of the system CAs
};

void register_doctor_command(CLI::App& app, CommandResult& result);

// Runs the checks and prints them to `out`; returns the exit code.
int run_doctor(const DoctorArgs& args, std::ostream& out, std::ostream& err);

}  // namespace mcpgate::cli
