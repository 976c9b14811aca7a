#include "http/hardening.hpp"

#include <ctime>

#include "http/challenge.hpp"
#include "http/request_extractor.hpp"

namespace mcpgate::http {
namespace {

std::pair<time_t, time_t> split_seconds(double seconds) {
  auto whole = static_cast<time_t>(seconds);
  return {whole, static_cast<time_t>((seconds - static_cast<double>(whole)) * 1e6)};
}

}  // namespace

bool is_socket_pseudo_header(std::string_view name) noexcept {
  return header_name_equals(name, "REMOTE_ADDR") || header_name_equals(name, "REMOTE_PORT") ||
         header_name_equals(name, "LOCAL_ADDR") || header_name_equals(name, "LOCAL_PORT");
}

void apply_hardening(httplib::Server& server, const ServerConfig& c) {
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(c.keep_alive_max_count);
  server.set_keep_alive_timeout(static_cast<time_t>(c.keep_alive_timeout < 1 ? 1 : c.keep_alive_timeout));
  auto [rs, ru] = split_seconds(c.read_timeout);
  server.set_read_timeout(rs, ru);
  auto [ws, wu] = split_seconds(c.write_timeout);
  server.set_write_timeout(ws, wu);
  server.set_payload_max_length(c.max_body_bytes);
  // [server] threads: cpp-httplib holds a thread per open connection; 0 keeps its default pool size.
  if (const std::size_t threads = c.threads)
    server.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
  // Never let exception text reach the client (cpp-httplib's default puts it in EXCEPTION_WHAT).
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.headers.clear();
    res.status = 500;
    res.set_content(error_body("internal_error", "The server could not complete the request."),
                    "application/json");
  });
}

void scrub_socket_headers(const httplib::Request& request) {
  // cpp-httplib hands pre-routing a const reference to its own non-const local Request, so this is well
  // defined; it is the only place that can remove the client's copies before any handler looks them up.
  auto& req = const_cast<httplib::Request&>(request);
  for (auto it = req.headers.begin(); it != req.headers.end();) {
    if (is_socket_pseudo_header(it->first))
      it = req.headers.erase(it);
    else
      ++it;
  }
  req.headers.emplace("REMOTE_ADDR", req.remote_addr);
  req.headers.emplace("REMOTE_PORT", std::to_string(req.remote_port));
  req.headers.emplace("LOCAL_ADDR", req.local_addr);
  req.headers.emplace("LOCAL_PORT", std::to_string(req.local_port));
}

std::optional<HeaderLimitRefusal> check_header_limits(const httplib::Request& request,
                                                      const ServerConfig& c) {
  std::size_t count = 0, bytes = 0;
  for (const auto& [name, value] : request.headers) {
    if (is_socket_pseudo_header(name)) continue;
    ++count;
    bytes += name.size() + value.size();
    if (has_forbidden_octet(value) || has_forbidden_octet(name))
      return HeaderLimitRefusal{400, Reason::InvalidHeaderValue};
  }
  if (count > c.max_header_count || bytes > c.max_header_bytes) return HeaderLimitRefusal{431, Reason::Ok};
  return std::nullopt;
}

}  // namespace mcpgate::http
