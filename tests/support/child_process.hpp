// child_process.hpp — a real program started by a test: a server that is always stopped, a worker whose
// stdout is read line by line, or a command run to completion with its output captured.
//
//   // A server: stdout and stderr go to a file; it binds port 0 and logs which port it got.
//   ChildProcess serve({MCPGATE_BINARY, "serve", "--config", conf}, dir + "/stderr.log");
//   auto listening = wait_for_log_event(serve, "listening", 20s);   // the JSON line: its "port", "admin_port"
//   int code = serve.stop(SIGTERM, 10s);   // exit status, 128 + signal, or -1 when it had to be SIGKILLed
//
//   // A worker: extra environment, stdout and stderr through pipes.
//   ChildProcess worker({STORE_WORKER, "write", "1000"}, {{"MCPGATE_STORE_BACKEND", "sqlite"}});
//   auto line = worker.read_line(30s);      // "ack 0", or nullopt at EOF or after 30 s
//   worker.stop(SIGKILL, 10s);               // 128 + SIGKILL; worker.remaining_stdout() has the unread rest
//
//   // A command: run to completion (stdin text, optional environment), killed after the timeout.
//   ProcessOutput out = run_process({MCPGATE_BINARY, "token", "verify", "-"}, "eyJ...\n");
//   ProcessOutput put = run_process({MCPGATE_BINARY, "secrets", "put", "svc", "k"}, {{"USER", "ci"}}, "v\n");
//   EXPECT_EQ(out.exit_code, 0) << out.stderr_text;   // out.timed_out when it was killed
//
// Every wait is bounded. The destructor stops a child still running (SIGKILL, then reaps it), so a failed
// assertion never leaves a stray process on the machine. Nothing can deadlock on a full pipe: a log file has
// nothing to pump, and with pipes every wait (read_line, wait, stop, run_process) pumps stdin, stdout and
// stderr together with poll(). Pipes and the log file are close-on-exec in this process, so a child started
// by another thread meanwhile never inherits them (and never holds back their EOF).
//
// Servers under test bind port 0 and say which port they got: a port picked by the test and handed over
// could be taken meanwhile by another test running alongside (and wait_for_port would then find *that*
// server listening). ReservedPort is a port that refuses connections for as long as it is held.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate::testing {

// Variables set in the child on top of (or instead of) this process's environment.
using Environment = std::map<std::string, std::string>;

class ChildProcess {
 public:
  // stdout and stderr both to `log_path` (truncated), stdin from /dev/null: for servers, read with
  // stderr_text(), wait_for_log_event() or wait_for_listening_line().
  ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
               const Environment& env = {});
  // stdout and stderr through pipes (read_line(), remaining_stdout(), stderr_text()); `stdin_text` is the
  // child's whole stdin (then EOF).
  ChildProcess(const std::vector<std::string>& argv, const Environment& env,
               std::string_view stdin_text = {});
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // False once the child has exited (it is then reaped, and its status kept).
  bool running();
  // Waits up to `timeout` for the child to exit and returns its exit status, or 128 + signal. A child still
  // running then is SIGKILLed and -1 returned. With pipes, what is left in them is read first.
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(120));
  // Sends `sig` (0: nothing, only wait), then wait(timeout).
  int stop(int sig, std::chrono::milliseconds timeout);

  // With pipes: the next stdout line (without its '\n'), or nullopt at EOF or when `timeout` passes.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  // With pipes: stdout read but not yet returned by read_line (after wait(): everything that was left).
  const std::string& remaining_stdout() const noexcept { return stdout_; }
  // With a log file: its content so far. With pipes: stderr read so far (all of it after wait()).
  std::string stderr_text() const;
  pid_t pid() const noexcept { return pid_; }

 private:
  void start(const std::vector<std::string>& argv, const Environment& env, int stdin_fd, int stdout_fd,
             int stderr_fd);
  bool reap(bool block);                         // true once the child is reaped (status_ set)
  void pump(std::chrono::milliseconds timeout);  // one poll() over the open pipes
  void drain();                                  // what is left in the pipes, without blocking

  pid_t pid_ = -1;
  int status_ = -1;
  std::string log_path_;
  int stdin_fd_ = -1, stdout_fd_ = -1, stderr_fd_ = -1;  // this side of the pipes, -1 once closed
  std::string stdin_text_;
  std::size_t stdin_written_ = 0;
  std::string stdout_, stderr_;
};

struct ProcessOutput {
  int exit_code = -1;  // the exit status, or 128 + signal when killed by one; -1 when timed out
  bool timed_out = false;
  std::string stdout_text;
  std::string stderr_text;
};

// Runs `argv` to completion with `stdin_text` as its stdin; a child still running after `timeout` is
// SIGKILLed and reported as timed_out, so a hung binary fails its test instead of hanging the suite.
ProcessOutput run_process(const std::vector<std::string>& argv, std::string_view stdin_text = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));
ProcessOutput run_process(const std::vector<std::string>& argv, const Environment& env,
                          std::string_view stdin_text = {},
                          std::chrono::milliseconds timeout = std::chrono::seconds(60));

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
