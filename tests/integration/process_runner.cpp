#include "integration/process_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

namespace mcpgate::testing {
namespace {

struct Pipe {
  int read_end = -1;
  int write_end = -1;
  Pipe() {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
    read_end = fds[0];
    write_end = fds[1];
  }
};

void close_fd(int& fd) {
  if (fd >= 0) close(fd);
  fd = -1;
}

}  // namespace

ProcessOutput run_process(const std::vector<std::string>& argv, std::string_view stdin_text,
                          std::chrono::milliseconds timeout) {
  if (argv.empty()) throw std::invalid_argument("run_process: empty argv");
  Pipe in, out, err;
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    dup2(in.read_end, STDIN_FILENO);
    dup2(out.write_end, STDOUT_FILENO);
    dup2(err.write_end, STDERR_FILENO);
    execv(args[0], args.data());
    _exit(127);
  }
  close_fd(in.read_end);
  close_fd(out.write_end);
  close_fd(err.write_end);
  // Writing to a child that already exited must not kill the test with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);

  ProcessOutput result;
  std::size_t written = 0;
  if (stdin_text.empty()) close_fd(in.write_end);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (out.read_end >= 0 || err.read_end >= 0) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      result.timed_out = true;
      kill(pid, SIGKILL);
      break;
    }
    pollfd fds[3];
    int n = 0;
    if (out.read_end >= 0) fds[n++] = {out.read_end, POLLIN, 0};
    if (err.read_end >= 0) fds[n++] = {err.read_end, POLLIN, 0};
    if (in.write_end >= 0) fds[n++] = {in.write_end, POLLOUT, 0};
    int ready = poll(fds, n, static_cast<int>(left.count()));
    if (ready < 0 && errno == EINTR) continue;
    if (ready < 0) break;
    for (int i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == in.write_end) {
        ssize_t w = write(in.write_end, stdin_text.data() + written, stdin_text.size() - written);
        if (w > 0) written += static_cast<std::size_t>(w);
        if (w < 0 || written == stdin_text.size()) close_fd(in.write_end);
        continue;
      }
      char buffer[8192];
      ssize_t r = read(fds[i].fd, buffer, sizeof buffer);
      bool is_out = fds[i].fd == out.read_end;
      if (r > 0) {
        (is_out ? result.stdout_text : result.stderr_text).append(buffer, static_cast<std::size_t>(r));
      } else if (r == 0 || errno != EINTR) {
        close_fd(is_out ? out.read_end : err.read_end);
      }
    }
  }
  close_fd(in.write_end);
  close_fd(out.read_end);
  close_fd(err.read_end);

  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.exit_code = 128 + WTERMSIG(status);
  return result;
}

}  // namespace mcpgate::testing
