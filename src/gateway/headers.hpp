// headers.hpp — header hygiene between the client and the upstream.
//
//   UpstreamHeaderPlan plan = UpstreamHeaderPlan::from(config, route);   // once per config
//   HeaderList up = plan.request_headers(client_fields, {.principal = who, .remote_addr = req.remote_addr,
//                                                        .remote_trusted = false, .request_id = id,
//                                                        .scheme = "http",
//                                                        .injected = {{"Authorization", "Bearer s3cr3t"}}});
//   copy_response_headers(upstream_fields, response_fields);              // hop-by-hop etc. dropped
//
// Rules (MCP authorization spec: no token passthrough; RFC 9110 §7.6.1 hop-by-hop): the client's
// Authorization and Proxy-Authorization never go upstream; Connection, Keep-Alive, TE, Trailer,
// Transfer-Encoding, Upgrade and every header the Connection header names are dropped; every header we inject
// (identity, claim mappings, service tokens, X-Forwarded-*) and every name of [gateway]
// strip_request_headers (other proxies' identity headers) is first removed from the client's request in
// every spelling: names compare case-insensitively with '_' equal to '-' (X_Auth_Subject is X-Auth-Subject to
// many frameworks).
#pragma once

#include <mcpgate/config.hpp>
#include <mcpgate/guard.hpp>
#include <mcpgate/principal.hpp>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcpgate::gateway {

// "X_Auth-SUBJECT" → "x-auth-subject" (ASCII only: names are tokens).
std::string canonical_header_name(std::string_view name);
// canonical_header_name(a) == canonical_header_name(b), without building either.
bool same_header_name(std::string_view a, std::string_view b) noexcept;

// Receives header fields one at a time: a head being written, or a list (tests, tools).
class FieldSink {
 public:
  virtual void field(std::string_view name, std::string_view value) = 0;

 protected:
  ~FieldSink() = default;
};
// Appends "Name: value\r\n" lines to a head under construction.
class HeadWriter final : public FieldSink {
 public:
  explicit HeadWriter(std::string& out) : out_(out) {}
  void field(std::string_view name, std::string_view value) override;

 private:
  std::string& out_;
};

struct RequestContext {
  const Principal* principal = nullptr;  // null on public routes: no identity headers
  std::string_view remote_addr{};
  bool remote_trusted = false;  // a configured trusted proxy: its X-Forwarded-* are extended, not replaced
  std::string_view request_id{};
  std::string_view scheme{};                                    // of our listener: "http" or "https"
  std::vector<std::pair<std::string, std::string>> injected{};  // route inject_headers, secrets expanded
  // With session binding: the upstream's own session id (unsealed); the client's Mcp-Session-Id is stripped.
  std::string_view session_id{};
};

class UpstreamHeaderPlan {
 public:
  UpstreamHeaderPlan(const Config& config, const RouteConfig& route);
  // The upstream request's fields, in order, to `out` (what the gateway sends: see the rules above).
  void write_request_headers(const HeaderList& client, const RequestContext& context, FieldSink& out) const;
  HeaderList request_headers(const HeaderList& client,
                             const RequestContext& context) const;  // the same, listed

 private:
  bool stripped(std::string_view canonical) const;

  ServerConfig server_;
  std::vector<std::pair<std::string, std::string>> claim_to_headers_;
  std::string request_id_header_;
  std::vector<std::string> strip_;           // canonical names never taken from the client, sorted
  std::vector<std::string> strip_prefixes_;  // canonical prefixes likewise ([gateway] strip_request_headers)
};

// The response's fields: `ours` (set before the upstream answered: CORS from the Guard, X-Request-Id), then
// the upstream's, leaving out hop-by-hop, framing (Content-Length, Transfer-Encoding: the gateway frames the
// body itself) and any name `ours` already carries (ours wins). Content-Encoding stays: the body is relayed
// byte for byte, never decoded.
void write_response_headers(const HeaderList& upstream, const HeaderList& ours, FieldSink& out);
void copy_response_headers(const HeaderList& upstream, HeaderList& ours);  // the same, appended to `ours`

}  // namespace mcpgate::gateway
