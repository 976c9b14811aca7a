// Integration: HTTP/1.1 message framing of the real `mcpgate serve` listener (RFC 9112), spoken to over raw
// loopback sockets so that every byte is the test's own. Each test states one rule. Requests carry a valid
// static token for the protected route /json, so only the framing decides the answer; where the rule says so,
// the test also checks that the recording upstream (tests/support) never saw the request and that the gateway
// closed the connection after its answer (the framing of anything after a refused head is unknown).
//
// Only status codes, a few response headers (X-Request-Id, Transfer-Encoding, Content-Length) and closure are
// asserted, never the text of an error body. Every read and write has a deadline of a few seconds: a gateway
// that waits for bytes that never come fails the test, it never hangs it.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>
#include <vector>

#include "auth/token_digest.hpp"
#include "support/child_process.hpp"
#include "support/upstream_server.hpp"

namespace mcpgate {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;
using Millis = std::chrono::milliseconds;

constexpr const char* kAlice = "alice-static-token-0123456789";
constexpr std::size_t kMaxBodyBytes = 65536;  // [server] max_body_bytes of every test here but one

// The mcpgate binary under test: the one built with these tests, or the one MCPGATE_TEST_BINARY names when
// it is set (to run the rules against another build, e.g. one from before a fix, and see which it breaks).
std::string mcpgate_binary() {
  const char* other = std::getenv("MCPGATE_TEST_BINARY");
  return other && *other ? std::string(other) : std::string(MCPGATE_BINARY);
}

// ---------------------------------------------------------------------------------------------------------
// Small HTTP helpers (lenient: they read what the gateway answers; the gateway is the one under test).

char lower_ascii(char c) {
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower_ascii(a[i]) != lower_ascii(b[i])) return false;
  return true;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return std::string(s);
}

using Fields = std::vector<std::pair<std::string, std::string>>;

// "Name: value" lines of a head (the first line, the start line, skipped); lines split on CRLF.
Fields parse_fields(std::string_view head) {
  Fields out;
  std::size_t at = head.find("\r\n");
  while (at != std::string_view::npos && at + 2 < head.size()) {
    const std::size_t start = at + 2;
    const std::size_t end = head.find("\r\n", start);
    const std::string_view line =
        head.substr(start, end == std::string_view::npos ? head.size() - start : end - start);
    if (const std::size_t colon = line.find(':'); colon != std::string_view::npos)
      out.emplace_back(trim(line.substr(0, colon)), trim(line.substr(colon + 1)));
    at = end;
  }
  return out;
}

std::optional<std::string> field(const Fields& fields, std::string_view name) {
  for (const auto& [k, v] : fields)
    if (iequals(k, name)) return v;
  return std::nullopt;
}

bool has_chunked(const Fields& fields) {
  for (const auto& [k, v] : fields) {
    if (!iequals(k, "Transfer-Encoding")) continue;
    std::string lv;
    for (char c : v) lv += lower_ascii(c);
    if (lv.find("chunked") != std::string::npos) return true;
  }
  return false;
}

enum class Parse { Incomplete, Complete, Malformed };

// A chunked body at the start of `in` (lenient: sizes up to ';' or CR, extensions and trailers skipped).
Parse decode_chunked(std::string_view in, std::string& data, std::size_t& consumed) {
  std::size_t at = 0;
  data.clear();
  for (;;) {
    const std::size_t eol = in.find("\r\n", at);
    if (eol == std::string_view::npos) return Parse::Incomplete;
    std::string_view size_line = in.substr(at, eol - at);
    if (const std::size_t semi = size_line.find(';'); semi != std::string_view::npos)
      size_line = size_line.substr(0, semi);
    const std::string digits = trim(size_line);
    if (digits.empty() || digits.size() > 15) return Parse::Malformed;
    std::size_t size = 0;
    for (char c : digits) {
      const char l = lower_ascii(c);
      int v = -1;
      if (l >= '0' && l <= '9') v = l - '0';
      if (l >= 'a' && l <= 'f') v = l - 'a' + 10;
      if (v < 0) return Parse::Malformed;
      size = size * 16 + static_cast<std::size_t>(v);
    }
    at = eol + 2;
    if (size == 0) {  // trailers until an empty line
      for (;;) {
        const std::size_t end = in.find("\r\n", at);
        if (end == std::string_view::npos) return Parse::Incomplete;
        const bool empty = end == at;
        at = end + 2;
        if (empty) {
          consumed = at;
          return Parse::Complete;
        }
      }
    }
    if (in.size() < at + size + 2) return Parse::Incomplete;
    data.append(in.substr(at, size));
    if (in.substr(at + size, 2) != "\r\n") return Parse::Malformed;
    at += size + 2;
  }
}

struct HttpResponse {
  std::string version;  // "HTTP/1.1"
  int status = 0;
  Fields fields;
  std::string body;
  std::optional<std::string> header(std::string_view name) const { return field(fields, name); }
  bool chunked() const { return has_chunked(fields); }
};

// One response at the start of `in`. `eof`: the peer has closed, so a body without a length ends here.
Parse parse_response(std::string_view in, bool eof, HttpResponse& out, std::size_t& consumed) {
  const std::size_t end = in.find("\r\n\r\n");
  if (end == std::string_view::npos) return eof && !in.empty() ? Parse::Malformed : Parse::Incomplete;
  const std::string_view head = in.substr(0, end + 2);
  if (head.substr(0, 7) != "HTTP/1." || head.size() < 12 || head[8] != ' ') return Parse::Malformed;
  out = HttpResponse{};
  out.version = std::string(head.substr(0, 8));
  int status = 0;
  for (std::size_t i = 9; i < 12; ++i) {
    if (head[i] < '0' || head[i] > '9') return Parse::Malformed;
    status = status * 10 + (head[i] - '0');
  }
  out.status = status;
  out.fields = parse_fields(head);
  const std::size_t body_at = end + 4;
  if ((status >= 100 && status < 200) || status == 204 || status == 304) {
    consumed = body_at;
    return Parse::Complete;
  }
  if (out.chunked()) {
    std::size_t used = 0;
    const Parse p = decode_chunked(in.substr(body_at), out.body, used);
    if (p == Parse::Complete) consumed = body_at + used;
    if (p == Parse::Incomplete && eof) return Parse::Malformed;
    return p;
  }
  if (const auto length = out.header("Content-Length")) {
    std::size_t n = 0;
    try {
      n = std::stoul(*length);
    } catch (...) {
      return Parse::Malformed;
    }
    if (in.size() < body_at + n) return eof ? Parse::Malformed : Parse::Incomplete;
    out.body = std::string(in.substr(body_at, n));
    consumed = body_at + n;
    return Parse::Complete;
  }
  if (!eof) return Parse::Incomplete;  // delimited by the close of the connection
  out.body = std::string(in.substr(body_at));
  consumed = in.size();
  return Parse::Complete;
}

// ---------------------------------------------------------------------------------------------------------
// A client connection: raw bytes out, responses in, every wait bounded.
class RawConnection {
 public:
  explicit RawConnection(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd_ < 0) return;
    const int one = 1;
    ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port));
    ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
      ::close(fd_);
      fd_ = -1;
    }
  }
  ~RawConnection() {
    if (fd_ >= 0) ::close(fd_);
  }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;

  bool connected() const { return fd_ >= 0; }

  // Closes with a zero linger: the peer gets a reset (RST), not an orderly close.
  void reset() {
    if (fd_ < 0) return;
    const linger abort{1, 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
    ::close(fd_);
    fd_ = -1;
  }

  // Writes all of `bytes`; false when the peer closed or reset the connection, or `timeout` passed first.
  bool send_all(std::string_view bytes, Millis timeout = 5s) {
    if (fd_ < 0) return false;
    const auto deadline = SteadyClock::now() + timeout;
    while (!bytes.empty()) {
      pollfd p{fd_, POLLOUT, 0};
      const int ready = ::poll(&p, 1, remaining_ms(deadline));
      if (ready <= 0) return false;
      if (p.revents & (POLLERR | POLLHUP | POLLNVAL)) return false;
      const ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) continue;
        return false;
      }
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }

  // True when bytes (or the end of the connection) are waiting to be read, within `timeout`.
  bool readable(Millis timeout) {
    if (fd_ < 0 || eof_ || !buffer_.empty()) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, static_cast<int>(timeout.count())) > 0;
  }

  // The next whole response (1xx answers skipped); nullopt when the connection ended or `timeout` passed
  // before one was complete.
  std::optional<HttpResponse> read_response(Millis timeout = 5s) {
    const auto deadline = SteadyClock::now() + timeout;
    for (;;) {
      HttpResponse r;
      std::size_t consumed = 0;
      const Parse p = parse_response(buffer_, eof_, r, consumed);
      if (p == Parse::Malformed) return std::nullopt;
      if (p == Parse::Complete) {
        buffer_.erase(0, consumed);
        if (r.status >= 100 && r.status < 200) continue;
        return r;
      }
      if (eof_) return std::nullopt;
      if (fill(deadline) < 0) return std::nullopt;  // timed out
    }
  }

  // True once the peer has closed (or reset) the connection, within `timeout`. Bytes that arrive meanwhile
  // are kept: pending() shows them (e.g. a second response that should never have been sent).
  bool closed_within(Millis timeout = 2s) {
    const auto deadline = SteadyClock::now() + timeout;
    while (!eof_)
      if (fill(deadline) < 0) return false;
    return true;
  }
  const std::string& pending() const { return buffer_; }
  bool eof() const { return eof_; }

 private:
  static int remaining_ms(SteadyClock::time_point deadline) {
    const auto left = std::chrono::duration_cast<Millis>(deadline - SteadyClock::now()).count();
    return left > 0 ? static_cast<int>(left) : 0;
  }
  // One read into the buffer: 1 = data, 0 = end of the connection (sets eof_), -1 = deadline passed.
  int fill(SteadyClock::time_point deadline) {
    if (fd_ < 0) {
      eof_ = true;
      return 0;
    }
    for (;;) {
      pollfd p{fd_, POLLIN, 0};
      const int ready = ::poll(&p, 1, remaining_ms(deadline));
      if (ready == 0) return -1;
      if (ready < 0) {
        if (errno == EINTR) continue;
        eof_ = true;
        return 0;
      }
      char buf[16384];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) {
        buffer_.append(buf, static_cast<std::size_t>(n));
        return 1;
      }
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) {
        if (SteadyClock::now() >= deadline) return -1;
        continue;
      }
      eof_ = true;  // 0: an orderly close; < 0: reset
      return 0;
    }
  }

  int fd_ = -1;
  std::string buffer_;
  bool eof_ = false;
};

// ---------------------------------------------------------------------------------------------------------
// A raw upstream: records each request's head and body bytes exactly as they arrived (after undoing the
// forwarded request's own framing), for what the cpp-httplib recording upstream would transform (it
// decompresses a gzip request body). Each connection is served on its own thread, bounded (5 s, 1 MiB).
// By default one request per connection, answered 200 with Connection: close; set_mode() picks a
// misbehaving upstream for the rules about upstream connections (set it before the gateway connects).
class RawUpstream {
 public:
  enum class Mode {
    OneRequestThenClose,
    // The head and `reset_after` body bytes are read (and recorded, the body as far as it came), then the
    // connection is reset (RST): the gateway's next write of the body fails.
    ResetMidBody,
    // The first request on a connection is answered 200 and the connection kept alive; the second is read
    // in full (and recorded), then the connection is closed with no answer at all.
    SecondRequestUnanswered,
    // Connection 0 answers its first request with a `Content-Length: 2` response followed, in the same
    // write, by the bytes of a second response (X-Injected: yes, body POISON), and any later request on it
    // with that fake response alone (its framing is off); every other connection answers 200, kept alive.
    ExtraBytesOnTheFirstConnection,
    // Every request is answered, in one write, by a chunked 200 head whose first chunk size is not hex.
    MalformedChunkedBody,
    // Connection 0 answers its first request with a complete 204 and, 5 ms later in a write of its own, the
    // bytes of a whole second response (X-Injected: yes, body POISON) nobody asked for; any later request on it
    // gets that fake response again. Every other connection answers 200, kept alive.
    LateBytesOnTheFirstConnection,
  };
  struct Seen {
    std::string head;
    Fields fields;
    std::string body;
    int connection = 0;     // which accepted connection (0, 1, ...)
    int on_connection = 0;  // which request on that connection (0, 1, ...)
  };

  RawUpstream() {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    const int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = 0;
    ::inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
    if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::listen(listen_fd_, 16) != 0)
      return;
    socklen_t len = sizeof addr;
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~RawUpstream() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
    if (listen_fd_ >= 0) ::close(listen_fd_);
  }
  RawUpstream(const RawUpstream&) = delete;
  RawUpstream& operator=(const RawUpstream&) = delete;

  int port() const { return port_; }
  void set_mode(Mode mode, std::size_t reset_after = 0) {
    reset_after_ = reset_after;
    mode_ = mode;
  }
  std::vector<Seen> seen() const {
    std::lock_guard lock(mutex_);
    return seen_;
  }
  int connections() const { return accepted_; }
  // True once `n` connections were reset (ResetMidBody), within `timeout`.
  bool wait_for_resets(int n, Millis timeout) const {
    const auto deadline = SteadyClock::now() + timeout;
    while (resets_ < n) {
      if (SteadyClock::now() >= deadline) return false;
      std::this_thread::sleep_for(10ms);
    }
    return true;
  }

  static constexpr std::string_view kFakeResponse =
      "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 6\r\nX-Injected: yes\r\n\r\nPOISON";

 private:
  void run() {
    while (!stopping_) {
      pollfd p{listen_fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      const int fd = ::accept(listen_fd_, nullptr, nullptr);
      if (fd < 0) continue;
      const int index = accepted_++;
      workers_.emplace_back([this, fd, index] { serve(fd, index); });
    }
  }
  static void send_bytes(int fd, std::string_view bytes) {  // loopback, small answers: one send each
    ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  }
  // Reads requests (bounded: 5 s and 1 MiB for the connection), records each, answers as the mode says.
  void serve(int fd, int index) {
    struct Closer {
      int fd;
      ~Closer() {
        if (fd >= 0) ::close(fd);
      }
    } closer{fd};
    const Mode mode = mode_;
    const auto deadline = SteadyClock::now() + 5s;
    std::string in;
    char buf[16384];
    auto more = [&]() -> bool {
      if (in.size() > (1u << 20)) return false;
      const auto left = std::chrono::duration_cast<Millis>(deadline - SteadyClock::now()).count();
      if (left <= 0 || stopping_) return false;
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, static_cast<int>(std::min<long long>(left, 100))) <= 0) return !stopping_;
      const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
      if (n > 0) in.append(buf, static_cast<std::size_t>(n));
      return n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR));
    };
    for (int n = 0;; ++n) {
      std::size_t end;
      while ((end = in.find("\r\n\r\n")) == std::string::npos)
        if (!more()) return;
      Seen s;
      s.connection = index;
      s.on_connection = n;
      s.head = in.substr(0, end + 2);
      s.fields = parse_fields(s.head);
      const std::size_t body_at = end + 4;
      std::size_t consumed = body_at;
      if (mode == Mode::ResetMidBody) {
        while (in.size() < body_at + reset_after_)
          if (!more()) return;
        s.body = in.substr(body_at);
        record(std::move(s));
        const linger abort{1, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &abort, sizeof abort);
        ::close(fd);  // with a zero linger: a reset
        closer.fd = -1;
        ++resets_;
        return;
      }
      if (has_chunked(s.fields)) {
        std::size_t used = 0;
        for (;;) {
          const Parse p = decode_chunked(std::string_view(in).substr(body_at), s.body, used);
          if (p == Parse::Complete) break;
          if (p == Parse::Malformed || !more()) return;
        }
        consumed = body_at + used;
      } else if (const auto length = field(s.fields, "Content-Length")) {
        std::size_t len = 0;
        try {
          len = std::stoul(*length);
        } catch (...) {
          return;
        }
        while (in.size() < body_at + len)
          if (!more()) return;
        s.body = in.substr(body_at, len);
        consumed = body_at + len;
      }
      in.erase(0, consumed);
      record(std::move(s));
      static constexpr std::string_view kKeptAlive =
          "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";
      switch (mode) {
        case Mode::OneRequestThenClose:
        case Mode::ResetMidBody:
          send_bytes(fd,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 11\r\n"
                     "Connection: close\r\n\r\n{\"ok\":true}");
          ::shutdown(fd, SHUT_WR);
          return;
        case Mode::SecondRequestUnanswered:
          if (n >= 1) return;  // closed, unanswered
          send_bytes(fd, kKeptAlive);
          break;
        case Mode::ExtraBytesOnTheFirstConnection:
          if (index != 0)
            send_bytes(fd, kKeptAlive);
          else if (n == 0)
            send_bytes(fd, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok" +
                               std::string(kFakeResponse));
          else
            send_bytes(fd, kFakeResponse);
          break;
        case Mode::LateBytesOnTheFirstConnection:
          if (index != 0) {
            send_bytes(fd, kKeptAlive);
          } else if (n == 0) {
            send_bytes(fd, "HTTP/1.1 204 No Content\r\n\r\n");
            std::this_thread::sleep_for(5ms);
            send_bytes(fd, kFakeResponse);
          } else {
            send_bytes(fd, kFakeResponse);
          }
          break;
        case Mode::MalformedChunkedBody:
          send_bytes(fd,
                     "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
                     "zz\r\n{\"ok\":true}\r\n0\r\n\r\n");
          break;
      }
    }
  }
  void record(Seen s) {
    std::lock_guard lock(mutex_);
    seen_.push_back(std::move(s));
  }

  int listen_fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<Mode> mode_{Mode::OneRequestThenClose};
  std::atomic<std::size_t> reset_after_{0};
  std::atomic<int> accepted_{0};
  std::atomic<int> resets_{0};
  std::thread thread_;
  std::vector<std::thread> workers_;  // one per accepted connection (touched by thread_ alone, then joined)
  mutable std::mutex mutex_;
  std::vector<Seen> seen_;
};

// ---------------------------------------------------------------------------------------------------------
class Framing : public ::testing::Test {
 protected:
  void SetUp() override { start(""); }

  // `extra_server` is appended to the [server] table.
  void start(const std::string& extra_server, std::size_t max_body_bytes = kMaxBodyBytes) {
    dir_ = ::testing::TempDir() + "mcpgate-framing-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream conf(dir_ + "/mcpgate.toml");
    conf << "[server]\npublic_url = \"https://mcp.example.com/json\"\n"
         << "listen_address = \"127.0.0.1\"\nport = 0\n"
         << "max_header_count = 64\nmax_header_bytes = 16384\nmax_body_bytes = " << max_body_bytes << "\n"
         << extra_server << "\n"
         << "[admin]\nenabled = false\n\n"
         << "[[static_tokens]]\nname = \"alice\"\nsha256 = \"" << auth::digest_hex(auth::digest_token(kAlice))
         << "\"\nscopes = [\"mcp:read\"]\n\n"
         << "[[routes]]\nmcp = false\nprefix = \"/json\"\nscopes = [\"mcp:read\"]\nupstream = "
            "\"http://127.0.0.1:"
         << upstream_.port() << "\"\n\n"
         << "[[routes]]\nmcp = false\nprefix = \"/raw\"\nscopes = [\"mcp:read\"]\nupstream = "
            "\"http://127.0.0.1:"
         << raw_upstream_.port() << "\"\n";
    conf.close();
    serve_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{mcpgate_binary(), "serve", "--config", dir_ + "/mcpgate.toml"},
        dir_ + "/stderr.log");
    const auto listening = testing::wait_for_log_event(*serve_, "listening", 20s);
    ASSERT_TRUE(listening) << "mcpgate serve did not listen: " << serve_->stderr_text();
    port_ = listening->value("port", 0);
    ASSERT_GT(port_, 0) << listening->dump();
  }

  void TearDown() override {
    if (serve_) serve_->stop(SIGTERM, 10s);
    const std::string logged = serve_ ? serve_->stderr_text() : "";
    EXPECT_EQ(logged.find(kAlice), std::string::npos) << "the token reached the log";
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  static std::string auth() { return std::string("Authorization: Bearer ") + kAlice + "\r\n"; }
  // A POST head to /json with the token, Host and `fields` (each line with its CRLF), blank line included.
  static std::string post_head(const std::string& fields, const std::string& target = "/json") {
    return "POST " + target + " HTTP/1.1\r\nHost: x\r\n" + auth() + "Content-Type: application/json\r\n" +
           fields + "\r\n";
  }
  static std::string get_request(const std::string& fields, const std::string& target = "/json") {
    return "GET " + target + " HTTP/1.1\r\nHost: x\r\n" + auth() + fields + "\r\n";
  }
  static std::string printable(std::string_view bytes) {
    std::string out;
    for (unsigned char c : bytes.substr(0, 400)) {
      if (c == '\r')
        out += "\\r";
      else if (c == '\n')
        out += "\\n";
      else if (c == '\t')
        out += "\\t";
      else if (c < 0x20 || c >= 0x7f) {
        char hex[5];
        std::snprintf(hex, sizeof hex, "\\x%02x", c);
        out += hex;
      } else {
        out += static_cast<char>(c);
      }
    }
    return out;
  }

  // Sends `request` on a fresh connection and expects one response with `status`; with `and_close`, also
  // that the gateway then closes the connection without a second response.
  void expect_answer(const std::string& request, int status, bool and_close, const std::string& label = "") {
    const std::string what = (label.empty() ? printable(request) : label);
    RawConnection c(port_);
    ASSERT_TRUE(c.connected()) << what;
    c.send_all(request);  // the gateway may refuse and close before it has read everything: not an error here
    const auto r = c.read_response(3s);
    ASSERT_TRUE(r) << what << ": no whole response (" << printable(c.pending()) << ")";
    EXPECT_EQ(r->status, status) << what;
    if (and_close) {
      EXPECT_TRUE(c.closed_within(2s)) << what << ": the connection stayed open after the answer";
      EXPECT_EQ(c.pending().find("HTTP/1."), std::string::npos)
          << what << ": a second response followed: " << printable(c.pending());
    }
  }
  void expect_refused_and_closed(const std::string& request, int status = 400,
                                 const std::string& label = "") {
    expect_answer(request, status, true, label);
  }
  void expect_upstream_saw_nothing(const std::string& what = "") {
    const auto seen = upstream_.requests();
    EXPECT_TRUE(seen.empty()) << what << ": " << seen.size() << " request(s) reached the upstream, the first "
                              << (seen.empty()
                                      ? std::string()
                                      : seen.front().method + " " + seen.front().path + " with " +
                                            std::to_string(seen.front().body.size()) + " body bytes " +
                                            printable(seen.front().body.substr(0, 60)));
  }

  testing::UpstreamServer upstream_;
  RawUpstream raw_upstream_;
  std::string dir_;
  int port_ = 0;
  std::unique_ptr<testing::ChildProcess> serve_;
};

// [server] read_timeout = 1: the whole head must arrive within it.
class FramingShortReadTimeout : public Framing {
 protected:
  void SetUp() override { start("read_timeout = 1\n"); }
};

// read_timeout = 1 and max_body_bytes = 16 MiB: a refused body of chunks that carry one data byte in a
// thousand is not cut short by a body cap before the deadline is due (only the deadline can end it).
class FramingShortReadTimeoutLargeBodies : public Framing {
 protected:
  void SetUp() override { start("read_timeout = 1\n", std::size_t{16} << 20); }
};

TEST_F(Framing, TwoIdenticalContentLengthHeadersAreRefusedAndTheConnectionClosed) {
  expect_refused_and_closed(post_head("Content-Length: 5\r\nContent-Length: 5\r\n") + "hello");
  expect_upstream_saw_nothing();
}

TEST_F(Framing, DifferingOrListedContentLengthsAreRefusedAndTheConnectionClosed) {
  expect_refused_and_closed(post_head("Content-Length: 5\r\nContent-Length: 6\r\n") + "hello!");
  expect_refused_and_closed(post_head("Content-Length: 6\r\nContent-Length: 5\r\n") + "hello!");
  expect_refused_and_closed(post_head("Content-Length: 5, 5\r\n") + "hello");
  expect_upstream_saw_nothing();
}

// CL.TE and TE.CL: a second request hidden in the body under one reading must never be parsed.
TEST_F(Framing, ContentLengthWithTransferEncodingIsRefusedAndTheSmuggledRequestNeverRuns) {
  const std::string smuggled =
      "GET /json HTTP/1.1\r\nHost: x\r\n" + auth() + "X-Request-Id: smuggled-1\r\n\r\n";
  // Content-Length covers everything; chunked ends after "0\r\n\r\n" and leaves the smuggled request.
  const std::string cl_te_body = "0\r\n\r\n" + smuggled;
  expect_refused_and_closed(post_head("Content-Length: " + std::to_string(cl_te_body.size()) +
                                      "\r\nTransfer-Encoding: chunked\r\n") +
                                cl_te_body,
                            400, "CL.TE");
  // Transfer-Encoding first; Content-Length: 4 ends inside the chunk, leaving the smuggled request.
  char size[32];
  std::snprintf(size, sizeof size, "%zx", smuggled.size());
  const std::string te_cl_body = std::string(size) + "\r\n" + smuggled + "\r\n0\r\n\r\n";
  expect_refused_and_closed(post_head("Transfer-Encoding: chunked\r\nContent-Length: 4\r\n") + te_cl_body,
                            400, "TE.CL");
  std::this_thread::sleep_for(200ms);  // a smuggled request, if any, would be in flight by now
  for (const auto& seen : upstream_.requests())
    EXPECT_NE(seen.header("X-Request-Id"), "smuggled-1") << "the smuggled request reached the upstream";
  expect_upstream_saw_nothing();
}

TEST_F(Framing, TransferEncodingOtherThanExactlyAFinalChunkedIsRefusedAndTheConnectionClosed) {
  const std::string body = "5\r\nhello\r\n0\r\n\r\n";
  for (const char* te :
       {"Transfer-Encoding: chunked, identity\r\n", "Transfer-Encoding: identity\r\n",
        "Transfer-Encoding: gzip\r\n", "Transfer-Encoding: xchunked\r\n", "Transfer-Encoding: chunkedx\r\n",
        "Transfer-Encoding: chunk ed\r\n", "Transfer-Encoding: \"chunked\"\r\n",
        "Transfer-Encoding: chunked\x0b\r\n", "Transfer-Encoding: chunked, chunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n"})
    expect_refused_and_closed(post_head(te) + body, 400, printable(te));
  expect_upstream_saw_nothing();
}

TEST_F(Framing, MalformedChunksAreRefusedAndTheConnectionClosed) {
  for (const std::string& body : {
           std::string("0x5\r\nhello\r\n0\r\n\r\n"), std::string("+5\r\nhello\r\n0\r\n\r\n"),
           std::string(" 5\r\nhello\r\n0\r\n\r\n"), std::string("5 \r\nhello\r\n0\r\n\r\n"),
           std::string("10000000000000005\r\nhello\r\n0\r\n\r\n"),  // 17 hex digits: 2^64 + 5 wraps to 5
           std::string("\r\n5\r\nhello\r\n0\r\n\r\n"),              // an empty size line
           std::string("5;\r\nhello\r\n0\r\n\r\n"),                 // an extension without a name
           std::string("5;a=\"unterminated\r\nhello\r\n0\r\n\r\n"),
           std::string("5\r\nhelloX\r\n0\r\n\r\n"),  // no CRLF right after the chunk data
           std::string("5\nhello\n0\n\n"),           // bare LF terminators
       })
    expect_refused_and_closed(post_head("Transfer-Encoding: chunked\r\n") + body, 400, printable(body));
  expect_upstream_saw_nothing();
}

TEST_F(Framing, ObsFoldIsRefusedAndTheConnectionClosed) {
  for (const char* fold : {"X-Note: a\r\n b\r\n", "X-Note: a\r\n\tb\r\n"})
    expect_refused_and_closed(get_request(fold), 400, printable(fold));
  expect_upstream_saw_nothing();
}

TEST_F(Framing, WhitespaceBetweenFieldNameAndColonIsRefused) {
  expect_answer("GET /json HTTP/1.1\r\nHost: x\r\nAuthorization : Bearer " + std::string(kAlice) + "\r\n\r\n",
                400, false, "Authorization SP :");
  expect_answer("GET /json HTTP/1.1\r\nHost\t: x\r\n" + auth() + "\r\n", 400, false, "Host HTAB :");
  expect_upstream_saw_nothing();
}

TEST_F(Framing, BareCrOrBareLfInTheHeadIsRefusedAndTheConnectionClosed) {
  expect_refused_and_closed("GET /json\rx HTTP/1.1\r\nHost: x\r\n" + auth() + "\r\n", 400,
                            "CR in the request line");
  expect_refused_and_closed("GET /json HTTP/1.1\r\nHost: x\r\n" + auth() + "X-A: b\rX-B: c\r\n\r\n", 400,
                            "CR inside a header line");
  expect_refused_and_closed(
      "GET /json HTTP/1.1\nHost: x\nAuthorization: Bearer " + std::string(kAlice) + "\n\n", 400,
      "LF as every line's terminator");
  expect_refused_and_closed("GET /json HTTP/1.1\r\nHost: x\n" + auth() + "\r\n", 400,
                            "LF ending one header line");
  expect_upstream_saw_nothing();
}

TEST_F(Framing, InvalidFieldNamesAreRefused) {
  for (const char* line :
       {"Bad Name: x\r\n", "Bad(Name): x\r\n", ": x\r\n", "B\xc3\xa4\x64: x\r\n", "X-\x80: x\r\n"})
    expect_answer(get_request(line), 400, false, printable(line));
  expect_upstream_saw_nothing();
}

// The POST reaches the upstream as an empty body: with `Content-Length: 0` (cpp-httplib, like many servers,
// reads a length-less POST to the end of the connection).
TEST_F(Framing, PostWithNeitherLengthNorChunkingHasNoBodyAndTheNextBytesAreTheNextRequest) {
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all(post_head("X-Request-Id: post-1\r\n") + get_request("X-Request-Id: get-2\r\n")));
  const auto first = c.read_response(5s);
  ASSERT_TRUE(first) << printable(c.pending());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->header("X-Request-Id").value_or(""), "post-1");
  const auto second = c.read_response(5s);
  ASSERT_TRUE(second) << "the GET was not answered: " << printable(c.pending());
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->header("X-Request-Id").value_or(""), "get-2");
  const auto seen = upstream_.requests();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].method, "POST");
  EXPECT_EQ(seen[0].body, "") << "the next request was taken for the POST's body";
  EXPECT_EQ(seen[0].header("X-Request-Id"), "post-1");
  EXPECT_EQ(seen[1].method, "GET");
  EXPECT_EQ(seen[1].header("X-Request-Id"), "get-2");
}

TEST_F(Framing, PipelinedRequestsAreAllAnsweredInOrderOnOneConnection) {
  const std::string body = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}";
  const std::string three =
      get_request("X-Request-Id: pipe-a\r\n") +
      post_head("X-Request-Id: pipe-b\r\nContent-Length: " + std::to_string(body.size()) + "\r\n") + body +
      get_request("X-Request-Id: pipe-c\r\n");
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all(three));  // one write: the gateway reads all three requests at once
  for (const char* id : {"pipe-a", "pipe-b", "pipe-c"}) {
    const auto r = c.read_response(5s);
    ASSERT_TRUE(r) << id << " was not answered: " << printable(c.pending());
    EXPECT_EQ(r->status, 200) << id;
    EXPECT_EQ(r->header("X-Request-Id").value_or(""), id);
  }
  const auto seen = upstream_.requests();
  ASSERT_EQ(seen.size(), 3u);
  EXPECT_EQ(seen[0].header("X-Request-Id"), "pipe-a");
  EXPECT_EQ(seen[1].header("X-Request-Id"), "pipe-b");
  EXPECT_EQ(seen[1].body, body);
  EXPECT_EQ(seen[2].header("X-Request-Id"), "pipe-c");
}

TEST_F(Framing, RequestLineTooLongIs414) {
  expect_answer(get_request("", "/json?pad=" + std::string(20 * 1024, 'a')), 414, false, "20 KB target");
  expect_upstream_saw_nothing();
}

TEST_F(Framing, HeadsOverTheHeaderLimitsAre431EvenWhenTheyNeverEnd) {
  std::string big;  // 40 KB of header values, every line under 8 KB
  for (int i = 0; i < 10; ++i) big += "X-Big-" + std::to_string(i) + ": " + std::string(4000, 'a') + "\r\n";
  expect_answer(get_request(big), 431, false, "40 KB of headers");

  std::string many;  // 2000 fields (max_header_count = 64), distinct names
  for (int i = 0; i < 2000; ++i) many += "X-A" + std::to_string(i) + ": b\r\n";
  expect_answer(get_request(many), 431, false, "2000 header lines");

  // A head that never ends (2,000,000 header lines, 16 MB): the limits hold while parsing, so the gateway
  // answers 431 (or closes) and its memory does not grow with what was sent. Loopback's socket buffers can
  // absorb all of it before the gateway reads a byte, so the rule is checked by memory, not by how much
  // the kernel took.
  const auto rss_kib = [pid = serve_->pid()] {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(status, line))
      if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
    return 0L;
  };
  const long before_kib = rss_kib();
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("GET /json HTTP/1.1\r\nHost: x\r\n" + auth()));
  std::string lines;
  for (int i = 0; i < 1024; ++i) lines += "X-A: b\r\n";  // 8 KiB a write
  std::size_t sent = 0;
  while (sent < 2'000'000u * 8) {
    if (c.readable(0ms) || !c.send_all(lines, 3s)) break;  // answered or closed
    sent += lines.size();
  }
  EXPECT_TRUE(c.readable(3s)) << "neither answered nor closed after " << sent << " bytes of header lines";
  const auto r = c.read_response(3s);
  if (r) {
    EXPECT_EQ(r->status, 431) << "after " << sent << " bytes of header lines";
  } else {
    EXPECT_TRUE(c.eof()) << "neither answered nor closed after " << sent << " bytes";
  }
  EXPECT_LE(rss_kib() - before_kib, 16 * 1024) << "the head was kept while it was refused";
  expect_upstream_saw_nothing();
}

TEST_F(Framing, BodiesOverMaxBodyBytesAre413AndNeverForwarded) {
  {  // A declared length over the limit is answered from the head alone, and the body is not waited for.
    RawConnection c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(post_head("Content-Length: 100000000\r\n")));
    const auto r = c.read_response(2s);
    EXPECT_TRUE(r) << "no answer to the head within 2 s: " << printable(c.pending());
    if (r) {  // (not fatal: the chunked case below is checked either way)
      EXPECT_EQ(r->status, 413);
      // The unread body cannot be parsed as requests: the connection ends.
      EXPECT_TRUE(c.closed_within(2s)) << "the connection stayed open with 100 MB of body unread";
    }
  }
  {  // A chunked body that grows past the limit.
    RawConnection c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(post_head("Transfer-Encoding: chunked\r\n")));
    const std::string chunk = "4000\r\n" + std::string(16 * 1024, 'z') + "\r\n";  // 16 KiB
    std::size_t sent = 0;
    bool stopped = false;
    while (sent < 1024u * 1024) {
      if (c.readable(0ms) || !c.send_all(chunk, 3s)) {
        stopped = true;
        break;
      }
      sent += 16 * 1024;
    }
    if (!stopped) c.send_all("0\r\n\r\n", 2s);
    const auto r = c.read_response(3s);
    ASSERT_TRUE(r) << "no answer after " << sent << " bytes of chunk data: " << printable(c.pending());
    EXPECT_EQ(r->status, 413) << "after " << sent << " bytes of chunk data";
    EXPECT_TRUE(c.closed_within(2s)) << "the connection stayed open with the rest of the body unread";
  }
  std::this_thread::sleep_for(200ms);
  // The recording upstream records complete requests only: none at all (not even a truncated one).
  expect_upstream_saw_nothing();
}

TEST_F(Framing, BodiesAreForwardedByteIdenticalChunkedOrGzipLabelled) {
  std::string bytes;
  for (int round = 0; round < 3; ++round)
    for (int b = 0; b < 256; ++b) bytes += static_cast<char>(round % 2 ? 255 - b : b);
  std::string chunked;
  std::size_t at = 0;
  for (std::size_t i = 0; at < bytes.size(); ++i) {
    static constexpr std::size_t kSizes[] = {1, 7, 13, 255, 3, 64, 2, 129};
    const std::size_t n = std::min(kSizes[i % std::size(kSizes)], bytes.size() - at);
    char size[32];
    if (i % 2)  // hex digits of either case
      std::snprintf(size, sizeof size, "%zx", n);
    else
      std::snprintf(size, sizeof size, "%zX", n);
    chunked += std::string(size) + "\r\n" + bytes.substr(at, n) + "\r\n";
    at += n;
  }
  chunked += "0\r\n\r\n";
  {
    RawConnection c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all("POST /json HTTP/1.1\r\nHost: x\r\n" + auth() +
                           "Content-Type: application/octet-stream\r\nTransfer-Encoding: chunked\r\n\r\n" +
                           chunked));
    const auto r = c.read_response(5s);
    ASSERT_TRUE(r) << printable(c.pending());
    EXPECT_EQ(r->status, 200);
    const auto seen = upstream_.requests();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].body.size(), bytes.size());
    EXPECT_TRUE(seen[0].body == bytes) << "the chunked body was not forwarded byte for byte";
  }
  {  // A real gzip stream (of a JSON-RPC ping), labelled gzip: forwarded as sent, never decompressed.
    static constexpr unsigned char kGzip[] = {
        0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x03, 0xab, 0x56, 0xca, 0x2a, 0xce,
        0xcf, 0x2b, 0x2a, 0x48, 0x56, 0xb2, 0x52, 0x32, 0xd2, 0x33, 0x50, 0xd2, 0x51, 0xca, 0x4c,
        0x51, 0xb2, 0x32, 0xd4, 0x51, 0xca, 0x4d, 0x2d, 0xc9, 0xc8, 0x07, 0x32, 0x95, 0x0a, 0x32,
        0xf3, 0xd2, 0x95, 0x6a, 0x01, 0xf4, 0x17, 0x99, 0xac, 0x28, 0x00, 0x00, 0x00};
    const std::string gz(reinterpret_cast<const char*>(kGzip), sizeof kGzip);
    RawConnection c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(
        post_head("Content-Encoding: gzip\r\nContent-Length: " + std::to_string(gz.size()) + "\r\n", "/raw") +
        gz));
    const auto r = c.read_response(5s);
    ASSERT_TRUE(r) << printable(c.pending());
    EXPECT_EQ(r->status, 200);
    const auto seen = raw_upstream_.seen();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_TRUE(seen[0].body == gz) << "forwarded as " << printable(seen[0].body);
    EXPECT_EQ(field(seen[0].fields, "Content-Encoding").value_or("(none)"), "gzip") << seen[0].head;
  }
}

TEST_F(FramingShortReadTimeout, TheWholeHeadHasOneDeadlineNotOnePerLine) {
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  const auto t0 = SteadyClock::now();
  ASSERT_TRUE(c.send_all("GET /json HTTP/1.1\r\nHost: x\r\n" + auth()));
  bool ended = false;
  for (int i = 0; SteadyClock::now() - t0 < 5s; ++i) {
    if (c.readable(300ms)) {  // an answer or the end of the connection
      ended = true;
      break;
    }
    if (!c.send_all("X-Slow-" + std::to_string(i) + ": b\r\n", 1s)) {
      ended = true;
      break;
    }
  }
  const auto took = SteadyClock::now() - t0;
  EXPECT_TRUE(ended) << "a line every 300 ms kept the head open for 5 s (read_timeout = 1)";
  EXPECT_LT(took, 4s) << std::chrono::duration_cast<Millis>(took).count() << " ms";
  if (const auto r = c.read_response(1s)) {
    EXPECT_EQ(r->status, 408);
  }
  EXPECT_TRUE(c.closed_within(2s));
  expect_upstream_saw_nothing();
}

TEST_F(Framing, Http11NeedsExactlyOneHost) {
  expect_answer("GET /json HTTP/1.1\r\n" + auth() + "\r\n", 400, false, "no Host");
  expect_answer("GET /json HTTP/1.1\r\nHost: x\r\nHost: y\r\n" + auth() + "\r\n", 400, false, "two Host");
  expect_upstream_saw_nothing();
}

TEST_F(Framing, BodyOnAGetIsRefusedAndClosedAndHttp10RequestsAreAnsweredWithProperFraming) {
  expect_refused_and_closed(get_request("Content-Length: 5\r\n") + "hello", 400, "GET with a body");
  expect_upstream_saw_nothing("GET with a body");

  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all("GET /json HTTP/1.0\r\nHost: x\r\n" + auth() + "X-Request-Id: old-1\r\n\r\n"));
  const auto r = c.read_response(5s);
  ASSERT_TRUE(r) << printable(c.pending());
  EXPECT_EQ(r->version.substr(0, 7), "HTTP/1.");
  EXPECT_EQ(r->status, 200);
  EXPECT_FALSE(r->chunked()) << "chunked to an HTTP/1.0 client";
  EXPECT_EQ(r->body, "{\"ok\":true}");
  if (const auto length = r->header("Content-Length")) {
    EXPECT_EQ(*length, std::to_string(r->body.size()));
  }
  EXPECT_TRUE(c.closed_within(2s)) << "an HTTP/1.0 request without keep-alive left the connection open";
  const auto seen = upstream_.requests();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].header("X-Request-Id"), "old-1");
}

// ---------------------------------------------------------------------------------------------------------
// Deadlines and upstream connections: what a client or an upstream that misbehaves mid-exchange must never
// get out of the gateway.

// A refused request's body is read and dropped (so that the connection could go on) under read_timeout. A
// client that keeps the socket full of chunks carrying almost no data (each is one byte and a 1000-byte
// chunk extension, so the body never nears a cap) must see that deadline hold however its expiry and a
// read's completion interleave: once the client goes silent, the connection ends within a bound. Four such
// clients at once, each one more chance for that race.
TEST_F(FramingShortReadTimeoutLargeBodies, ADeadlineIsNeverLostWhileARefusedBodyIsDiscarded) {
  const std::string unit = "1;" + std::string(1000, 'a') + "\r\nX\r\n";
  std::string batch;
  for (int i = 0; i < 16; ++i) batch += unit;
  struct Outcome {
    bool connected = false, headed = false, answered_while_sending = false, closed = false;
    std::size_t sent = 0;
  };
  constexpr int kClients = 4;
  std::vector<Outcome> outcomes(kClients);
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i)
    clients.emplace_back([&, i] {
      Outcome& o = outcomes[i];
      RawConnection c(port_);
      o.connected = c.connected();
      // No token: 401 from the head alone, and the gateway discards the body before it answers.
      o.headed = o.connected && c.send_all(
                                    "POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                                    "Transfer-Encoding: chunked\r\n\r\n");
      if (!o.headed) return;
      const auto t0 = SteadyClock::now();
      while (SteadyClock::now() - t0 < 2500ms) {  // well past read_timeout = 1
        if (c.readable(0ms)) {
          o.answered_while_sending = true;
          break;
        }
        if (!c.send_all(batch, 2s)) break;  // reset or closed (or, with no reader, stalled: then silent)
        o.sent += batch.size();
      }
      o.closed = c.closed_within(4s);  // silent from here on
    });
  for (auto& t : clients) t.join();
  for (int i = 0; i < kClients; ++i) {
    const Outcome& o = outcomes[i];
    ASSERT_TRUE(o.connected && o.headed) << "client " << i;
    EXPECT_TRUE(o.closed) << "client " << i << ": still open 4 s after it went silent, having sent " << o.sent
                          << " bytes of chunks (read_timeout = 1; "
                          << (o.answered_while_sending ? "answered" : "not answered") << " while it sent)";
  }
  expect_upstream_saw_nothing();
}

// The upstream resets its connection while the client's body is still coming: the gateway's next write of
// the body fails, and the rest of the body, read by nobody, must never be parsed as a request (here it is a
// complete GET with a valid token). The client gets the 502 (or 504), then the connection closes.
TEST_F(Framing, AFailedUpstreamWriteNeverLetsTheRestOfTheBodyBecomeARequest) {
  raw_upstream_.set_mode(RawUpstream::Mode::ResetMidBody, 10);
  const std::string smuggled = get_request("X-Request-Id: smuggled-3\r\n");  // to the recording upstream
  const std::string first(10, 'A'), second(10, 'B');
  const std::size_t length = first.size() + second.size() + smuggled.size();
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all(
      post_head("X-Request-Id: body-3\r\nContent-Length: " + std::to_string(length) + "\r\n", "/raw") +
      first));
  ASSERT_TRUE(raw_upstream_.wait_for_resets(1, 3s)) << "the upstream never got the head and 10 body bytes";
  std::this_thread::sleep_for(100ms);  // the reset has reached the gateway's socket
  ASSERT_TRUE(c.send_all(second));     // the gateway's write of these to the upstream fails
  const auto r = c.read_response(3s);
  ASSERT_TRUE(r) << "no answer after the upstream's reset: " << printable(c.pending());
  EXPECT_TRUE(r->status == 502 || r->status == 504) << r->status;
  c.send_all(smuggled, 1s);  // the rest of the body (the gateway may have closed by now: no matter)
  EXPECT_TRUE(c.closed_within(2s)) << "the connection stayed open with the rest of the body unread";
  EXPECT_EQ(c.pending().find("HTTP/1."), std::string::npos)
      << "the rest of the body was answered as a request: " << printable(c.pending());
  std::this_thread::sleep_for(200ms);  // a smuggled request, if any, would be in flight by now
  expect_upstream_saw_nothing("the rest of the body");
  for (const auto& seen : raw_upstream_.seen())
    EXPECT_EQ(field(seen.fields, "X-Request-Id").value_or(""), "body-3") << printable(seen.head);
}

// A client that sends `Expect: 100-continue` and leaves at once (a reset) fails the gateway's write of the
// 100 Continue or its read of the body: the upstream connection already opened for the request is closed
// then too. Twenty such clients; the gateway's open file descriptors come back to their count before them.
TEST_F(Framing, AnExpectContinueClientThatLeavesLeaksNoUpstreamConnection) {
  const auto open_fds = [pid = serve_->pid()] {
    std::error_code ec;
    int n = 0;
    for (std::filesystem::directory_iterator it("/proc/" + std::to_string(pid) + "/fd", ec), end;
         !ec && it != end; it.increment(ec))
      ++n;
    return n;
  };
  {  // One exchange first (to an upstream that closes, so nothing is pooled): what the first use of an
     // upstream opens for good (the resolver's own descriptors) is counted in `before`.
    RawConnection c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(get_request("", "/raw")));
    const auto r = c.read_response(5s);
    ASSERT_TRUE(r) << printable(c.pending());
    EXPECT_EQ(r->status, 200);
  }
  std::this_thread::sleep_for(300ms);
  const int before = open_fds();
  ASSERT_GT(before, 0);
  for (int i = 0; i < 20; ++i) {
    RawConnection c(port_);
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.send_all(post_head("Expect: 100-continue\r\nContent-Length: 10\r\n")));
    c.reset();
    std::this_thread::sleep_for(50ms);
  }
  int after = open_fds();
  for (const auto deadline = SteadyClock::now() + 5s; after > before + 2 && SteadyClock::now() < deadline;) {
    std::this_thread::sleep_for(100ms);
    after = open_fds();
  }
  EXPECT_LE(after, before + 2) << "open file descriptors: " << before << " before twenty Expect clients that "
                               << "left, " << after << " 5 s after";
}

// A POST the upstream may have acted on is never sent again: on a kept-alive upstream connection that the
// upstream closes after reading the whole request, with no answer, the gateway answers 502 and does not
// retry it on a new connection (RFC 9110 §9.2.2: only idempotent requests are retried automatically).
TEST_F(Framing, ANonIdempotentRequestIsNeverSentTwice) {
  raw_upstream_.set_mode(RawUpstream::Mode::SecondRequestUnanswered);
  const std::string body = "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\"}";
  const auto post = [&](const std::string& id) {
    return post_head("X-Request-Id: " + id + "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n",
                     "/raw") +
           body;
  };
  RawConnection c(port_);  // one client connection: one event loop, so one upstream pool
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all(post("once-1")));
  const auto first = c.read_response(5s);
  ASSERT_TRUE(first) << printable(c.pending());
  ASSERT_EQ(first->status, 200);  // the upstream connection is kept alive: the next request reuses it
  ASSERT_TRUE(c.send_all(post("once-2")));
  const auto second = c.read_response(5s);
  ASSERT_TRUE(second) << printable(c.pending());
  EXPECT_EQ(second->status, 502);
  std::this_thread::sleep_for(300ms);  // a retry, if any, has reached the upstream by now
  const auto seen = raw_upstream_.seen();
  int times = 0;
  for (const auto& s : seen)
    if (field(s.fields, "X-Request-Id").value_or("") == "once-2") ++times;
  EXPECT_EQ(times, 1) << "the second POST reached the upstream " << times << " times, on "
                      << raw_upstream_.connections() << " connections";
  ASSERT_GE(seen.size(), 2u);
  EXPECT_EQ(seen[1].connection, seen[0].connection)
      << "the second POST was not sent on the kept-alive connection";
}

// Bytes an upstream sends past the framed end of its response (here a whole second response, in the same
// write) leave that connection's framing unknown: it is not reused, and the next request gets a real answer
// from a fresh upstream connection, never those bytes.
TEST_F(Framing, BytesPastAResponsesFramingNeverReachTheNextRequest) {
  raw_upstream_.set_mode(RawUpstream::Mode::ExtraBytesOnTheFirstConnection);
  RawConnection c(port_);  // one client connection: one event loop, so one upstream pool
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all(get_request("X-Request-Id: framed-1\r\n", "/raw")));
  const auto first = c.read_response(5s);
  ASSERT_TRUE(first) << printable(c.pending());
  EXPECT_EQ(first->status, 200);
  EXPECT_EQ(first->body, "ok");
  ASSERT_TRUE(c.send_all(get_request("X-Request-Id: framed-2\r\n", "/raw")));
  const auto second = c.read_response(5s);
  ASSERT_TRUE(second) << printable(c.pending());
  EXPECT_EQ(second->status, 200);
  EXPECT_FALSE(second->header("X-Injected"))
      << "the next request was answered with the first one's extra bytes";
  EXPECT_EQ(second->body, "{\"ok\":true}");
  EXPECT_EQ(c.pending().find("POISON"), std::string::npos) << printable(c.pending());
  const auto seen = raw_upstream_.seen();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(field(seen[1].fields, "X-Request-Id").value_or(""), "framed-2");
  EXPECT_NE(seen[1].connection, seen[0].connection)
      << "the next request went out on the connection with the extra bytes";
}

// An upstream response whose body is broken before the client got any of it (here the first chunk size)
// is still answerable: 502, never a 200 head followed by a cut connection that looks like a short answer.
TEST_F(Framing, AnUpstreamBodyBrokenBeforeAnyByteWasRelayedIsAnswered502) {
  raw_upstream_.set_mode(RawUpstream::Mode::MalformedChunkedBody);
  RawConnection c(port_);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all(get_request("", "/raw")));
  const auto r = c.read_response(5s);
  ASSERT_TRUE(r) << printable(c.pending());
  EXPECT_EQ(r->status, 502);
  EXPECT_NE(r->body.find("upstream_broken"), std::string::npos) << r->body;
  EXPECT_TRUE(c.closed_within(5s)) << "the connection stays open after a broken upstream response";
}

// Bytes an upstream sends on a kept-alive connection after a complete response (here a whole fake response,
// 5 ms after a 204) are nobody's answer: a connection holding them is never reused, however recently it was
// parked — the next request, perhaps another principal's, must never be answered with them.
TEST_F(Framing, BytesAnUpstreamSendsOnAnIdleConnectionNeverAnswerTheNextRequest) {
  raw_upstream_.set_mode(RawUpstream::Mode::LateBytesOnTheFirstConnection);
  RawConnection c(port_);  // one client connection: one event loop, so one upstream pool
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.send_all(get_request("X-Request-Id: late-1\r\n", "/raw")));
  const auto first = c.read_response(5s);
  ASSERT_TRUE(first) << printable(c.pending());
  EXPECT_EQ(first->status, 204);
  std::this_thread::sleep_for(25ms);  // the late bytes are there; the connection was parked moments ago
  ASSERT_TRUE(c.send_all(get_request("X-Request-Id: late-2\r\n", "/raw")));
  const auto second = c.read_response(5s);
  ASSERT_TRUE(second) << printable(c.pending());
  EXPECT_FALSE(second->header("X-Injected"))
      << "the next request was answered with bytes sent on an idle connection";
  EXPECT_EQ(second->status, 200);
  EXPECT_EQ(second->body, "{\"ok\":true}");
}

}  // namespace
}  // namespace mcpgate
