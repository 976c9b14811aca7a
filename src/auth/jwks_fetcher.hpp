// jwks_fetcher.hpp — one hardened HTTP GET for key sets and discovery documents (the only network the auth
// path does).
//
//   auto fetcher = mcpgate::auth::JwksFetcher::create({.connect_timeout = 2, .total_timeout = 5});
//   mcpgate::auth::FetchResponse r = fetcher->get("https://xyz.customers.stytch.dev/.well-known/jwks.json");
//   if (r.ok) parse(r.body);  else log(r.error);       // "status 500", "timeout", "redirect refused (302)",
//   ... r.max_age;                                           // Cache-Control max-age, when the server sent
//   one
//
// Hygiene (docs/configuration.md [jwks]): https only, except loopback hosts or an explicit allow_insecure; redirects
// are never followed (a 3xx is a failure: a key set must come from the configured URL, RFC 8725 §3.10
// spirit); connect and total deadlines; the body is received through a counter that aborts past
// max_body_bytes; certificates verified against the system CA bundle; TCP_NODELAY on. An interface with
// create() so tests and other transports can plug in.
#pragma once

#include <cstddef>
#include <memory>
#include <optional>
#include <string>

namespace mcpgate::auth {

struct FetchOptions {
  double connect_timeout = 2;
  double total_timeout = 5;
  std::size_t max_body_bytes = 1024 * 1024;
  bool allow_insecure = false;  // plain http to non-loopback hosts
  std::string ca_cert_path = "/etc/ssl/certs/ca-certificates.crt";
};

struct FetchResponse {
  bool ok = false;  // a 200 whose whole body arrived within the limits
  int status = 0;   // 0 when no response came
  std::string body;
  std::optional<double> max_age;  // Cache-Control max-age (no-store / no-cache read as 0)
  std::string error;              // why !ok; names no secret (URLs of key sets are public)
};

class JwksFetcher {
 public:
  virtual ~JwksFetcher() = default;
  virtual FetchResponse get(const std::string& url) = 0;

  // The real fetcher over cpp-httplib. Thread-safe: each get() uses its own client.
  static std::shared_ptr<JwksFetcher> create(const FetchOptions& options);
};

// Cache-Control: the max-age directive in seconds (RFC 9111 §5.2.2.1); no-store / no-cache count as 0.
std::optional<double> parse_cache_control_max_age(const std::string& header);

}  // namespace mcpgate::auth
