// log.hpp — the gateway's JSON-lines logs: one JSON object per line, written whole.
//
//   mcpgate::observe::Logger log;                                   // to stderr
//   log.event("warn", "jwks refresh failed", {{"issuer", iss}, {"reason", "fetch_timeout"}});
//   std::string id = mcpgate::observe::acceptable_request_id(incoming) ? incoming
//                                                                       : mcpgate::observe::new_request_id();
//   log.access({.request_id = id, .method = "POST", .path = req.target, .route = "/mcp", .status = 200,
//   ...});
//   // {"ts":"2025-01-02T03:04:05.678Z","level":"info","msg":"access","request_id":"...","path":"/mcp",...}
//
// Every line carries "ts" (RFC 3339, UTC, milliseconds), "level" and "msg", then the fields. A line is handed
// to the sink in one call under the logger's mutex, and the stderr sink writes it with one write(2), so
// concurrent requests never interleave. The access path is logged without its query string or fragment:
// a query can carry secrets (tokens, codes). Invalid UTF-8 is replaced, never thrown on.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace mcpgate {
class Clock;
}

namespace mcpgate::observe {

struct AccessRecord {
  std::string request_id, method, path, route, auth_source, subject, reason, upstream;
  std::string mcp_method, mcp_target,
      rule;  // an MCP request: its JSON-RPC method, tool/prompt/URI, deciding rule
  int status = 0;
  double duration_ms = 0;
  std::uint64_t bytes_out = 0;
  std::string remote_addr;
};

// A sink gets one complete JSON object, without the trailing newline.
using LogSink = std::function<void(std::string_view line)>;
// Appends "\n" and writes the line to fd 2 in a single write(2) (retrying only the unwritten rest).
LogSink stderr_sink();

class Logger {
 public:
  explicit Logger(LogSink sink = stderr_sink());
  // The clock that stamps "ts" (tests inject a ManualClock); null means the system clock.
  Logger(LogSink sink, std::shared_ptr<const Clock> clock);

  // `fields` should be an object; its members follow ts/level/msg (members named ts, level or msg are
  // dropped so they cannot forge those). A non-object value is logged under "fields".
  void event(std::string_view level, std::string_view msg, const nlohmann::json& fields = {});
  // level "info", msg "access". Empty optional strings (route, auth_source, subject, reason, upstream,
  // remote_addr) are left out.
  void access(const AccessRecord& record);

 private:
  void write(nlohmann::ordered_json& line);
  LogSink sink_;
  std::shared_ptr<const Clock> clock_;
  std::mutex mutex_;
};

// "2025-01-02T03:04:05.678Z" for a Unix time in seconds.
std::string rfc3339_utc_millis(double unix_seconds);
// The path part of a request target: everything before the first '?' or '#'.
std::string_view path_without_query(std::string_view target) noexcept;
// What the access log writes of a request line's method and target, which reach it unvalidated when the
// HTTP library refused the request ("{...}GET" after a desync): a method that is not an RFC 9110 token of
// at most kMaxLoggedMethod characters becomes "-"; the path (query cut) is written in at most kMaxLoggedPath
// bytes, with spaces, controls and non-ASCII bytes percent-encoded.
inline constexpr std::size_t kMaxLoggedMethod = 16;
inline constexpr std::size_t kMaxLoggedPath = 512;
std::string_view loggable_method(std::string_view method) noexcept;
std::string loggable_path(std::string_view target);
// 32 lowercase hex digits: a per-thread random prefix (RAND_bytes, drawn once) and a counter. Unique, not secret.
std::string new_request_id();
// 1..128 characters of [A-Za-z0-9._-]: an incoming X-Request-Id the gateway may keep; otherwise it makes one.
bool acceptable_request_id(std::string_view id) noexcept;

}  // namespace mcpgate::observe
