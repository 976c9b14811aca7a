// tests/store/child_process.hpp — a real second process (store_worker, the mcpgate binary) with extra
// environment.
//
//   ChildProcess child({STORE_WORKER, "write", "100000"}, {{"MCPGATE_STORE_BACKEND", "sqlite"}});
//   auto line = child.read_line(std::chrono::seconds(30));   // "ack 0", or nullopt on EOF/timeout
//   child.kill_hard();                                        // SIGKILL, mid-transaction
//   int status = child.wait();                                // exit code, or 128 + signal
//
//   auto out = run_child({MCPGATE_BINARY, "secrets", "put", "svc", "key"}, env, "value\n");
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

extern char** environ;

namespace mcpgate::testing {

using Environment = std::map<std::string, std::string>;

class ChildProcess {
 public:
  ChildProcess(const std::vector<std::string>& argv, const Environment& extra_env,
               const std::string& stdin_text = "") {
    int in[2], out[2], err[2];
    if (::pipe(in) != 0 || ::pipe(out) != 0 || ::pipe(err) != 0) throw std::runtime_error("pipe failed");
    // Build argv and envp before fork: only async-signal-safe calls in the child.
    std::vector<std::string> env_strings;
    for (char** e = environ; *e; ++e) {
      std::string entry(*e);
      if (!extra_env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : extra_env) env_strings.push_back(k + "=" + v);
    std::vector<char*> args, envp;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    for (auto& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
      for (int fd : {in[0], in[1], out[0], out[1], err[0], err[1]}) ::close(fd);
      ::execve(args[0], args.data(), envp.data());
      ::_exit(127);
    }
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    out_ = out[0];
    err_ = err[0];
    if (!stdin_text.empty()) {
      ssize_t ignored = ::write(in[1], stdin_text.data(), stdin_text.size());
      (void)ignored;
    }
    ::close(in[1]);
  }
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess() {
    if (pid_ > 0 && !reaped_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
    ::close(err_);
  }

  // The next stdout line, or nullopt at EOF or when `timeout` passes.
  std::optional<std::string> read_line(std::chrono::milliseconds timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return std::nullopt;
      pollfd p{out_, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      const ssize_t n = ::read(out_, chunk, sizeof chunk);
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

  void kill_hard() { ::kill(pid_, SIGKILL); }

  // Drains stdout and stderr, then reaps the child (bounded: a child alive after `timeout` is killed).
  int wait(std::chrono::milliseconds timeout = std::chrono::seconds(120)) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    bool out_open = true, err_open = true;
    while (out_open || err_open) {
      const auto left =
          std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) {
        ::kill(pid_, SIGKILL);
        break;
      }
      pollfd p[2] = {{out_open ? out_ : -1, POLLIN, 0}, {err_open ? err_ : -1, POLLIN, 0}};
      if (::poll(p, 2, static_cast<int>(left.count())) <= 0) continue;
      char chunk[4096];
      if (p[0].revents) {
        const ssize_t n = ::read(out_, chunk, sizeof chunk);
        if (n <= 0)
          out_open = false;
        else
          buffer_.append(chunk, static_cast<std::size_t>(n));
      }
      if (p[1].revents) {
        const ssize_t n = ::read(err_, chunk, sizeof chunk);
        if (n <= 0)
          err_open = false;
        else
          stderr_.append(chunk, static_cast<std::size_t>(n));
      }
    }
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped_ = true;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

  const std::string& remaining_stdout() const { return buffer_; }
  const std::string& stderr_text() const { return stderr_; }

 private:
  pid_t pid_ = -1;
  int out_ = -1, err_ = -1;
  bool reaped_ = false;
  std::string buffer_, stderr_;
};

struct ChildResult {
  int exit_code;
  std::string out, err;
};

inline ChildResult run_child(const std::vector<std::string>& argv, const Environment& env,
                             const std::string& stdin_text = "") {
  ChildProcess child(argv, env, stdin_text);
  const int code = child.wait();
  return {code, child.remaining_stdout(), child.stderr_text()};
}

}  // namespace mcpgate::testing
