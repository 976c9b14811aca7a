#include "support/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>

extern char** environ;

namespace mcpgate::testing {
namespace {

using std::chrono::milliseconds;
using std::chrono::steady_clock;

// How long an idle wait() sleeps between two looks at whether the child has exited.
constexpr milliseconds kReapInterval{10};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// A descriptor of the child's side, closed in this process once the child has it (or on a throw).
struct OwnedFd {
  int fd = -1;
  OwnedFd() = default;
  explicit OwnedFd(int f) : fd(f) {}
  OwnedFd(const OwnedFd&) = delete;
  OwnedFd& operator=(const OwnedFd&) = delete;
  ~OwnedFd() { close_fd(fd); }
};

int open_or_throw(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC, 0600);
  if (fd < 0) throw std::runtime_error("ChildProcess: cannot open " + path);
  return fd;
}

// {read end, write end}, both close-on-exec; `nonblocking_end` (0 or 1) also O_NONBLOCK.
std::pair<int, int> make_pipe(int nonblocking_end) {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("ChildProcess: pipe2 failed");
  ::fcntl(fds[nonblocking_end], F_SETFL, ::fcntl(fds[nonblocking_end], F_GETFL) | O_NONBLOCK);
  return {fds[0], fds[1]};
}

milliseconds left_until(steady_clock::time_point deadline) {
  return std::max(milliseconds(0), std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now()));
}

// Reads what `fd` has now into `into`; closes it at EOF or on an error.
void read_available(int& fd, std::string& into, bool until_empty) {
  while (fd >= 0) {
    char chunk[8192];
    const ssize_t n = ::read(fd, chunk, sizeof chunk);
    if (n > 0) {
      into.append(chunk, static_cast<std::size_t>(n));
      if (!until_empty) return;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
    close_fd(fd);  // EOF, or an error that will not go away
  }
}

}  // namespace

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const std::string& log_path,
                           const Environment& env)
    : log_path_(log_path) {
  OwnedFd log(open_or_throw(log_path_, O_WRONLY | O_CREAT | O_TRUNC));
  OwnedFd null_in(open_or_throw("/dev/null", O_RDONLY));
  start(argv, env, null_in.fd, log.fd, log.fd);
}

ChildProcess::ChildProcess(const std::vector<std::string>& argv, const Environment& env,
                           std::string_view stdin_text)
    : stdin_text_(stdin_text) {
  OwnedFd child_in, child_out, child_err;
  try {
    if (stdin_text_.empty()) {
      child_in.fd = open_or_throw("/dev/null", O_RDONLY);
    } else {
      std::tie(child_in.fd, stdin_fd_) = make_pipe(1);
      // Writing to a child that already exited must not kill the test with SIGPIPE: it gets EPIPE instead.
      ::signal(SIGPIPE, SIG_IGN);
    }
    std::tie(stdout_fd_, child_out.fd) = make_pipe(0);
    std::tie(stderr_fd_, child_err.fd) = make_pipe(0);
    start(argv, env, child_in.fd, child_out.fd, child_err.fd);
  } catch (...) {
    close_fd(stdin_fd_);
    close_fd(stdout_fd_);
    close_fd(stderr_fd_);
    throw;
  }
  pump(milliseconds(0));  // a small stdin fits in the pipe at once; the rest goes with each wait
}

void ChildProcess::start(const std::vector<std::string>& argv, const Environment& env, int stdin_fd,
                         int stdout_fd, int stderr_fd) {
  if (argv.empty()) throw std::invalid_argument("ChildProcess: empty argv");
  // Everything the child needs is built before fork(): between fork and exec only async-signal-safe calls.
  std::vector<std::string> env_strings;
  if (!env.empty()) {
    for (char** e = environ; *e; ++e) {
      const std::string entry(*e);
      if (!env.count(entry.substr(0, entry.find('=')))) env_strings.push_back(entry);
    }
    for (const auto& [k, v] : env) env_strings.push_back(k + "=" + v);
  }
  std::vector<char*> args, envp;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (auto& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  char** child_env = env.empty() ? environ : envp.data();
  const int targets[3] = {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO};
  const int sources[3] = {stdin_fd, stdout_fd, stderr_fd};

  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("ChildProcess: fork failed");
  if (pid_ == 0) {
    for (int i = 0; i < 3; ++i) {
      if (sources[i] == targets[i])
        ::fcntl(targets[i], F_SETFD, 0);  // dup2 onto itself would keep close-on-exec
      else
        ::dup2(sources[i], targets[i]);
    }
    ::execve(args[0], args.data(), child_env);
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    reap(/*block=*/true);  // SIGKILL cannot be caught: this returns at once
  }
  close_fd(stdin_fd_);
  close_fd(stdout_fd_);
  close_fd(stderr_fd_);
}

bool ChildProcess::reap(bool block) {
  if (pid_ <= 0) return true;
  int status = 0;
  pid_t r;
  do {
    r = ::waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == 0) return false;
  status_ = r < 0 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  pid_ = -1;
  return true;
}

bool ChildProcess::running() {
  return !reap(/*block=*/false);
}

void ChildProcess::pump(milliseconds timeout) {
  pollfd fds[3];
  int n = 0;
  if (stdout_fd_ >= 0) fds[n++] = {stdout_fd_, POLLIN, 0};
  if (stderr_fd_ >= 0) fds[n++] = {stderr_fd_, POLLIN, 0};
  if (stdin_fd_ >= 0) fds[n++] = {stdin_fd_, POLLOUT, 0};
  if (n == 0) {
    std::this_thread::sleep_for(timeout);
    return;
  }
  if (::poll(fds, static_cast<nfds_t>(n), static_cast<int>(timeout.count())) <= 0) return;  // EINTR too
  for (int i = 0; i < n; ++i) {
    if (fds[i].revents == 0) continue;
    if (fds[i].fd == stdout_fd_) {
      read_available(stdout_fd_, stdout_, /*until_empty=*/false);
    } else if (fds[i].fd == stderr_fd_) {
      read_available(stderr_fd_, stderr_, /*until_empty=*/false);
    } else {
      const ssize_t w =
          ::write(stdin_fd_, stdin_text_.data() + stdin_written_, stdin_text_.size() - stdin_written_);
      if (w > 0) stdin_written_ += static_cast<std::size_t>(w);
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || stdin_written_ == stdin_text_.size())
        close_fd(stdin_fd_);  // all written (the child sees EOF), or it stopped reading (EPIPE)
    }
  }
}

void ChildProcess::drain() {
  close_fd(stdin_fd_);
  read_available(stdout_fd_, stdout_, /*until_empty=*/true);
  read_available(stderr_fd_, stderr_, /*until_empty=*/true);
}

int ChildProcess::wait(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    // Reaped first, drained after: what the child wrote before it exited is all in the pipes by then. Not
    // waiting for EOF, which a grandchild holding the pipes could put off.
    if (reap(/*block=*/false)) {
      drain();
      return status_;
    }
    const auto left = left_until(deadline);
    if (left.count() == 0) break;
    pump(std::min(left, kReapInterval));
  }
  ::kill(pid_, SIGKILL);
  reap(/*block=*/true);
  drain();
  status_ = -1;
  return -1;
}

int ChildProcess::stop(int sig, milliseconds timeout) {
  if (!running()) return status_;
  if (sig != 0) ::kill(pid_, sig);
  return wait(timeout);
}

std::optional<std::string> ChildProcess::read_line(milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    if (const auto nl = stdout_.find('\n'); nl != std::string::npos) {
      std::string line = stdout_.substr(0, nl);
      stdout_.erase(0, nl + 1);
      return line;
    }
    const auto left = left_until(deadline);
    if (stdout_fd_ < 0 || left.count() == 0) return std::nullopt;
    pump(left);
  }
}

std::string ChildProcess::stderr_text() const {
  if (log_path_.empty()) return stderr_;
  std::ifstream in(log_path_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

ProcessOutput run_process(const std::vector<std::string>& argv, std::string_view stdin_text,
                          milliseconds timeout) {
  return run_process(argv, Environment{}, stdin_text, timeout);
}

ProcessOutput run_process(const std::vector<std::string>& argv, const Environment& env,
                          std::string_view stdin_text, milliseconds timeout) {
  ChildProcess child(argv, env, stdin_text);
  ProcessOutput out;
  out.exit_code = child.wait(timeout);
  out.timed_out = out.exit_code == -1;
  out.stdout_text = child.remaining_stdout();
  out.stderr_text = child.stderr_text();
  return out;
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = 0;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  int port = -1;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0) {
    socklen_t len = sizeof a;
    if (::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0) port = ntohs(a.sin_port);
  }
  ::close(fd);
  return port;
}

bool wait_for_port(int port, milliseconds timeout) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {  // at least one attempt, even with a zero timeout
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    if (steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

namespace {

// Polls `child`'s log (every 20 ms, up to `timeout`) for the first line `match` accepts (it returns true and
// fills its result). False when the child exits or the time is up without one.
bool wait_for_line(ChildProcess& child, milliseconds timeout,
                   const std::function<bool(const std::string&)>& match) {
  const auto deadline = steady_clock::now() + timeout;
  for (;;) {
    const bool alive = child.running();  // read before the log, so a last line written before exit is seen
    std::istringstream lines(child.stderr_text());
    for (std::string line; std::getline(lines, line);)
      if (match(line)) return true;
    if (!alive || steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

}  // namespace

std::optional<nlohmann::json> wait_for_log_event(ChildProcess& child, std::string_view msg,
                                                 milliseconds timeout) {
  std::optional<nlohmann::json> found;
  wait_for_line(child, timeout, [&](const std::string& line) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    if (!event.is_object() || event.value("msg", "") != msg) return false;
    found = std::move(event);
    return true;
  });
  return found;
}

int wait_for_listening_line(ChildProcess& child, milliseconds timeout) {
  static const std::regex kLine(R"(^listening on (?:https?://)?[^:/\s]+:([0-9]{1,5})(?:[/\s]|$))");
  int port = -1;
  wait_for_line(child, timeout, [&](const std::string& line) {
    std::smatch m;
    if (!std::regex_search(line, m, kLine)) return false;
    port = std::stoi(m[1].str());
    return true;
  });
  return port;
}

ReservedPort::ReservedPort() {
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  socklen_t len = sizeof a;
  if (fd_ < 0 || ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("ReservedPort: cannot bind 127.0.0.1:0");
  port_ = ntohs(a.sin_port);
}

ReservedPort::~ReservedPort() {
  if (fd_ >= 0) ::close(fd_);
}

}  // namespace mcpgate::testing
