// forward_auth.hpp — GET /auth for nginx auth_request, Traefik ForwardAuth, Caddy forward_auth.
//
//   mcpgate::http::ForwardAuth fa(guard.impl());
//   mcpgate::Decision d = fa.decide(remote_addr, headers);   // allow: status 200 + X-Auth-* identity headers
//
// The original request is described by X-Forwarded-Method/-Uri/-Host (Traefik, Caddy) or
// X-Original-Method/-URI (nginx) — but only when the TCP peer (cpp-httplib's req.remote_addr from the socket,
// never a header) is one of server.trusted_proxies. From anyone else those headers are ignored and the check
// is of the /auth request itself (a valid token under the default rule), so a client cannot pick the rule it
// is judged by.
#pragma once

#include <mcpgate/guard.hpp>
#include <span>
#include <string>
#include <vector>

namespace mcpgate::http {

class ForwardAuth {
 public:
  explicit ForwardAuth(const Guard::Impl& guard);
  Decision decide(std::string_view remote_addr, std::span<const HeaderField> headers) const;
  bool is_trusted(std::string_view remote_addr) const noexcept;

 private:
  const Guard::Impl& guard_;
  struct Cidr {
    std::string exact;
    unsigned int net = 0, mask = 0;
    bool v4 = false;
  };
  std::vector<Cidr> trusted_;
};

}  // namespace mcpgate::http
