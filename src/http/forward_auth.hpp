// forward_auth.hpp — the forward-auth check for nginx auth_request, Traefik ForwardAuth, Caddy forward_auth
// and Envoy ext_authz (HTTP).
//
//   mcpgate::http::ForwardAuth fa(guard_impl);
//   if (fa.handles(raw_target)) {
//     mcpgate::Decision d = fa.decide({.remote_addr = peer, .method = "GET", .target = raw_target,
//                                      .headers = fields, .header_values = TargetEncoding::DecodedByTransport});
//     // allow: 200 + X-Auth-* identity headers; otherwise the original route's exact 401/403/400
//   }
//
// Which request is judged: the one the proxy says it is forwarding — and only the proxy. Its method and
// URI come from exactly one configured source each ([server] forward_auth_method_header /
// forward_auth_uri_header, preset by forward_auth_proxy), never from another spelling: nginx passes the
// client's own request headers to the auth subrequest, so a fallback from X-Original-URI to
// X-Forwarded-Uri let a client name the URI it is judged by. An empty source is the check request's own
// method, or its own target after forward_auth_path (Envoy appends the original path to path_prefix; the
// shipped nginx example does the same with `proxy_pass http://mcpgate/auth$request_uri`), which no HTTP
// library percent-decodes — unlike header values under cpp-httplib 0.11.4 (request_target.hpp).
// A trusted proxy that omits a configured source gets 400, never a default. The sources count only when
// the TCP peer (the socket's address, never a header) is one of server.trusted_proxies; from anyone else
// they are ignored and the check is of `GET forward_auth_path` itself (a valid token under the default
// rule), so a client cannot pick the rule it is judged by.
#pragma once

#include <mcpgate/guard.hpp>
#include <span>
#include <string>
#include <vector>

#include "http/request_target.hpp"

namespace mcpgate {
struct CallOutcome;
}

namespace mcpgate::http {

struct ForwardAuthRequest {
  std::string_view remote_addr;  // the TCP peer
  std::string_view method;       // of the check request itself
  std::string_view target;       // of the check request itself, raw (as on its request line)
  std::span<const HeaderField> headers;
  TargetEncoding header_values = TargetEncoding::Raw;  // DecodedByTransport under cpp-httplib
};

class ForwardAuth {
 public:
  explicit ForwardAuth(const Guard::Impl& guard);
  // True when a request with this raw target is a forward-auth check: forward_auth_path itself, or a path
  // under it when the URI comes from the check request's own target.
  bool handles(std::string_view raw_target) const noexcept;
  // `mcp`, when given, receives the MCP stage's findings (method, target, rule) for the access log. A POST to
  // an MCP route is judged by its [[routes.rules]] from Mcp-Method / Mcp-Name (no body reaches forward-auth);
  // every MCP refusal is a 403 here, the one refusal besides 401 that nginx auth_request relays.
  Decision decide(const ForwardAuthRequest& request, CallOutcome* mcp = nullptr) const;
  bool is_trusted(std::string_view remote_addr) const noexcept;

 private:
  Decision judge(const ForwardAuthRequest& request, std::vector<HeaderField>& judged, CallOutcome* mcp) const;

  const Guard::Impl& guard_;
  std::string path_, method_header_, uri_header_;
  std::vector<std::string> singletons_;  // the configured headers: at most once each
  struct Cidr {
    std::string exact;
    unsigned int net = 0, mask = 0;
    bool v4 = false;
  };
  std::vector<Cidr> trusted_;
};

}  // namespace mcpgate::http
