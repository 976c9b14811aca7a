// child_process.hpp — a long-running program (nginx, `mcpgate serve`) started by a test and always stopped.
//
//   ChildProcess nginx({"/usr/sbin/nginx", "-p", dir, "-c", dir + "/nginx.conf", "-g", "daemon off;"},
//                      dir + "/stderr.log");
//   ASSERT_TRUE(wait_for_port(port, 10s)) << nginx.stderr_text();
//   int code = nginx.stop(SIGTERM, 10s);   // exit status, 128 + signal, or -1 when it had to be SIGKILLed
//
// The destructor stops a child still running (SIGKILL after a bounded wait), so a failed assertion never
// leaves a stray server on the machine. stderr goes to a file: nothing to pump, nothing to deadlock on.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace mcpgate::testing {

class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, std::string stderr_path);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  bool running();
  // Sends `sig`, waits up to `timeout`; then SIGKILL and reports -1.
  int stop(int sig, std::chrono::milliseconds timeout);
  std::string stderr_text() const;
  pid_t pid() const noexcept { return pid_; }

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::string stderr_path_;
};

// A loopback TCP port nobody listens on right now (bind to 0, read it, close).
int free_loopback_port();
// True once 127.0.0.1:port accepts a connection, polling every 20 ms up to `timeout`.
bool wait_for_port(int port, std::chrono::milliseconds timeout);

}  // namespace mcpgate::testing
