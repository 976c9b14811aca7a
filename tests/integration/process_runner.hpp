// process_runner.hpp — run a real program (the mcpgate binary, the Python signer) and capture what it says.
//
//   ProcessOutput out = run_process({MCPGATE_BINARY, "token", "verify", "--jwks", path, ...},
//   /*stdin=*/"eyJ...\n"); EXPECT_EQ(out.exit_code, 0) << out.stderr_text;
//
// The child gets its own pipes for stdin, stdout and stderr; the parent pumps all three with poll() so a
// chatty child never deadlocks on a full pipe. A child still running after `timeout` is killed (SIGKILL) and
// reported as timed_out, so a hung binary fails its test instead of hanging the suite.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate::testing {

struct ProcessOutput {
  int exit_code = -1;  // the exit status, or 128 + signal when killed by one
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
};

ProcessOutput run_process(const std::vector<std::string>& argv, std::string_view stdin_text = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace mcpgate::testing
