// child_process.hpp — a long-running program (nginx, `mcpgate serve`) started by a test and always stopped.
//
//   ChildProcess serve({MCPGATE_BINARY, "serve", "--config", conf}, dir + "/stderr.log");   // port = 0
//   auto listening = wait_for_log_event(serve, "listening", 20s);   // the JSON line: its "port", "admin_port"
//   int code = serve.stop(SIGTERM, 10s);   // exit status, 128 + signal, or -1 when it had to be SIGKILLed
//
// Servers under test bind port 0 and say which port they got: a port picked by the test and handed over
// could be taken meanwhile by another test running alongside (and wait_for_port would then find *that*
// server listening). ReservedPort is a port that refuses connections for as long as it is held.
//
// The destructor stops a child still running (SIGKILL after a bounded wait), so a failed assertion never
// leaves a stray server on the machine. stderr goes to a file: nothing to pump, nothing to deadlock on.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
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

// A loopback TCP port nobody listens on right now (bind to 0, read it, close). Only for programs that cannot
// bind port 0 and report it (nginx): another process may take the port before the program binds it.
int free_loopback_port();

// The first JSON log line of `child` whose "msg" is `msg`; nullopt when the child exits or `timeout` passes.
std::optional<nlohmann::json> wait_for_log_event(ChildProcess& child, std::string_view msg,
                                                 std::chrono::milliseconds timeout);

// The first "listening on ADDRESS:PORT" (or "listening on http://ADDRESS:PORT...") line's port; -1 when the
// child exits or `timeout` passes.
int wait_for_listening_line(ChildProcess& child, std::chrono::milliseconds timeout);

// A loopback port bound but never listening: connecting to it is refused, and no other process can take it
// while this object lives. For "an upstream that is down".
class ReservedPort {
 public:
  ReservedPort();
  ~ReservedPort();
  ReservedPort(const ReservedPort&) = delete;
  ReservedPort& operator=(const ReservedPort&) = delete;
  int port() const noexcept { return port_; }

 private:
  int fd_ = -1;
  int port_ = -1;
};
// True once 127.0.0.1:port accepts a connection, polling every 20 ms up to `timeout` (tried at least once).
bool wait_for_port(int port, std::chrono::milliseconds timeout);

}  // namespace mcpgate::testing
