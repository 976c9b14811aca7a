#include "integration/http/child_process.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <functional>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace mcpgate::testing {

ChildProcess::ChildProcess(const std::vector<std::string>& argv, std::string stderr_path)
    : stderr_path_(std::move(stderr_path)) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    int fd = ::open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd >= 0) {
      ::dup2(fd, 2);
      ::dup2(fd, 1);
      ::close(fd);
    }
    int null_in = ::open("/dev/null", O_RDONLY);
    if (null_in >= 0) ::dup2(null_in, 0);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) stop(SIGKILL, std::chrono::seconds(5));
}

bool ChildProcess::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  return true;
}

int ChildProcess::stop(int sig, std::chrono::milliseconds timeout) {
  if (!running()) return status_;
  ::kill(pid_, sig);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (!running()) return status_;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
  status_ = -1;
  return -1;
}

std::string ChildProcess::stderr_text() const {
  std::ifstream in(stderr_path_);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

int free_loopback_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
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

bool wait_for_port(int port, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {  // at least one attempt, even with a zero timeout
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (ok) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

namespace {

// Polls `child`'s output (every 20 ms, up to `timeout`) for the first line `match` accepts (it returns true and
// fills its result). False when the child exits or the time is up without one.
bool wait_for_line(ChildProcess& child, std::chrono::milliseconds timeout,
                   const std::function<bool(const std::string&)>& match) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const bool alive = child.running();  // read before the log, so a last line written before exit is seen
    std::istringstream lines(child.stderr_text());
    for (std::string line; std::getline(lines, line);)
      if (match(line)) return true;
    if (!alive || std::chrono::steady_clock::now() >= deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

std::optional<nlohmann::json> wait_for_log_event(ChildProcess& child, std::string_view msg,
                                                 std::chrono::milliseconds timeout) {
  std::optional<nlohmann::json> found;
  wait_for_line(child, timeout, [&](const std::string& line) {
    auto event = nlohmann::json::parse(line, nullptr, false);
    if (!event.is_object() || event.value("msg", "") != msg) return false;
    found = std::move(event);
    return true;
  });
  return found;
}

int wait_for_listening_line(ChildProcess& child, std::chrono::milliseconds timeout) {
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
