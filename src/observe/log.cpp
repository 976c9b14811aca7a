#include "observe/log.hpp"

#include <openssl/rand.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <mcpgate/clock.hpp>
#include <random>

namespace mcpgate::observe {

LogSink stderr_sink() {
  return [](std::string_view line) {
    std::string buffer;
    buffer.reserve(line.size() + 1);
    buffer.append(line).push_back('\n');
    const char* p = buffer.data();
    std::size_t left = buffer.size();
    while (left > 0) {
      ssize_t n = ::write(STDERR_FILENO, p, left);
      if (n < 0) {
        if (errno == EINTR) continue;
        return;  // nowhere left to report a logging failure
      }
      p += n;
      left -= static_cast<std::size_t>(n);
    }
  };
}

Logger::Logger(LogSink sink) : Logger(std::move(sink), nullptr) {}
Logger::Logger(LogSink sink, std::shared_ptr<const Clock> clock)
    : sink_(std::move(sink)), clock_(clock ? std::move(clock) : Clock::system()) {}

void Logger::write(nlohmann::ordered_json& line) {
  // replace: a path or header value with invalid UTF-8 must not throw out of the request handler.
  std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  std::lock_guard lock(mutex_);
  if (sink_) sink_(text);
}

void Logger::event(std::string_view level, std::string_view msg, const nlohmann::json& fields) {
  nlohmann::ordered_json line;
  line["ts"] = rfc3339_utc_millis(clock_->now_seconds());
  line["level"] = level;
  line["msg"] = msg;
  if (fields.is_object()) {
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      if (it.key() == "ts" || it.key() == "level" || it.key() == "msg") continue;
      line[it.key()] = it.value();
    }
  } else if (!fields.is_null()) {
    line["fields"] = fields;
  }
  write(line);
}

void Logger::access(const AccessRecord& r) {
  nlohmann::ordered_json line;
  line["ts"] = rfc3339_utc_millis(clock_->now_seconds());
  line["level"] = "info";
  line["msg"] = "access";
  line["request_id"] = r.request_id;
  line["method"] = loggable_method(r.method);
  line["path"] = loggable_path(r.path);
  auto optional = [&](const char* name, const std::string& value) {
    if (!value.empty()) line[name] = value;
  };
  optional("route", r.route);
  line["status"] = r.status;
  line["duration_ms"] = std::round(r.duration_ms * 1000.0) / 1000.0;
  line["bytes_out"] = r.bytes_out;
  optional("remote_addr", r.remote_addr);
  optional("auth_source", r.auth_source);
  optional("subject", r.subject);
  optional("reason", r.reason);
  optional("mcp_method", r.mcp_method);
  optional("mcp_target", r.mcp_target);
  optional("rule", r.rule);
  optional("upstream", r.upstream);
  write(line);
}

std::string rfc3339_utc_millis(double unix_seconds) {
  // Round to whole milliseconds first: 1893456000.123 is stored as ...0.12299990654 and must print .123.
  long long total_ms = std::llround(unix_seconds * 1000.0);
  long long whole_s = total_ms / 1000, millis = total_ms % 1000;
  if (millis < 0) {
    millis += 1000;
    whole_s -= 1;
  }
  auto whole = static_cast<std::time_t>(whole_s);
  std::tm tm{};
  gmtime_r(&whole, &tm);
  char buf[40];
  std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof buf - n, ".%03lldZ", millis);
  return buf;
}

std::string_view path_without_query(std::string_view target) noexcept {
  return target.substr(0, target.find_first_of("?#"));
}

std::string_view loggable_method(std::string_view method) noexcept {
  if (method.empty() || method.size() > kMaxLoggedMethod) return "-";
  for (char c : method)
    if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
          std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos))
      return "-";
  return method;
}

std::string loggable_path(std::string_view target) {
  std::string out;
  for (char c : path_without_query(target)) {
    const auto u = static_cast<unsigned char>(c);
    const bool encode = u < 0x21 || u >= 0x7f;
    if (out.size() + (encode ? 3 : 1) > kMaxLoggedPath) break;  // the bound is on what is written
    if (encode) {                                               // as it would be on the wire: percent-encoded
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out;
}

std::string new_request_id() {
  // Per thread: 8 random bytes drawn once, then a counter that starts at a random value. Ids stay unique
  // across threads and restarts without a RAND_bytes call (locks, a getpid) on every request; they are
  // correlation ids, not secrets (a client may send its own).
  struct Source {
    unsigned char prefix[8];
    std::uint64_t counter = 0;
    Source() {
      unsigned char seed[16];
      if (RAND_bytes(seed, sizeof seed) != 1) {
        std::random_device rd;
        for (auto& b : seed) b = static_cast<unsigned char>(rd());
      }
      std::memcpy(prefix, seed, sizeof prefix);
      for (int i = 0; i < 8; ++i) counter = counter << 8 | seed[8 + i];
    }
  };
  static thread_local Source source;
  const std::uint64_t n = source.counter++;
  static constexpr char kHex[] = "0123456789abcdef";
  std::string id(32, '0');
  for (std::size_t i = 0; i < 8; ++i) {
    id[2 * i] = kHex[source.prefix[i] >> 4];
    id[2 * i + 1] = kHex[source.prefix[i] & 0xf];
  }
  for (std::size_t i = 0; i < 16; ++i) id[16 + i] = kHex[(n >> (60 - 4 * i)) & 0xf];
  return id;
}

bool acceptable_request_id(std::string_view id) noexcept {
  if (id.empty() || id.size() > 128) return false;
  for (char c : id) {
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
              c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

}  // namespace mcpgate::observe
