// hardening.hpp — cpp-httplib 0.11.4's weak defaults, neutralised (docs/embedding.md: what install() does).
//
//   httplib::Server server;
//   mcpgate::http::apply_hardening(server, config.server);      // limits, timeouts, pool, nodelay, exception
//   handler
//   // in the pre-routing handler:
//   mcpgate::http::scrub_socket_headers(req);                   // client-sent REMOTE_ADDR & co. removed
//   if (auto r = mcpgate::http::check_header_limits(req, config.server)) refuse(*r);   // 431 / 400
//
// Why each: cpp-httplib percent-decodes header values (%0D%0A becomes CR LF), appends
// REMOTE_ADDR/REMOTE_PORT/ LOCAL_ADDR/LOCAL_PORT to the request's headers after whatever the client sent
// under those names (so a lookup finds the client's copy first), answers exceptions with their text in an
// EXCEPTION_WHAT header, keeps only 5 requests per connection, has no header-count limit (CPPHTTPLIB_* limits
// are compile-time and baked into Debian's library), and leaves Nagle on (each keep-alive request stalls ~40
// ms on delayed ACK).
#pragma once

#include <httplib.h>

#include <mcpgate/config.hpp>
#include <mcpgate/status.hpp>
#include <optional>

namespace mcpgate::http {

void apply_hardening(httplib::Server& server, const ServerConfig& config);
// Removes every client-sent copy of the socket pseudo-headers and re-adds the real values from the socket.
void scrub_socket_headers(const httplib::Request& request);
// Header count / total size beyond the configured limits → 431; CR, LF or NUL in any value → 400.
struct HeaderLimitRefusal {
  int status;
  Reason reason;  // InvalidHeaderValue for CR/LF/NUL; Ok for the size limits (431 has no RFC 6750 code)
};
std::optional<HeaderLimitRefusal> check_header_limits(const httplib::Request& request,
                                                      const ServerConfig& config);
bool is_socket_pseudo_header(std::string_view name) noexcept;

}  // namespace mcpgate::http
