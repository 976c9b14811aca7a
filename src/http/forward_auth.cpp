#include "http/forward_auth.hpp"

#include <arpa/inet.h>

#include "http/challenge.hpp"
#include "http/guard.hpp"
#include "http/request_extractor.hpp"
#include "http/request_target.hpp"

namespace mcpgate::http {
namespace {

std::string_view header(std::span<const HeaderField> headers, std::string_view name) {
  for (const auto& h : headers)
    if (header_name_equals(h.name, name)) return h.value;
  return {};
}

}  // namespace

ForwardAuth::ForwardAuth(const Guard::Impl& guard) : guard_(guard) {
  for (const auto& t : guard.config().server.trusted_proxies) {
    Cidr c;
    auto slash = t.find('/');
    in_addr a{};
    if (slash != std::string::npos && inet_pton(AF_INET, t.substr(0, slash).c_str(), &a) == 1) {
      int bits = std::stoi(t.substr(slash + 1));
      c.v4 = true;
      c.mask = bits <= 0 ? 0u : (bits >= 32 ? 0xFFFFFFFFu : ~((1u << (32 - bits)) - 1));
      c.net = ntohl(a.s_addr) & c.mask;
    } else {
      c.exact = t;
    }
    trusted_.push_back(c);
  }
}

bool ForwardAuth::is_trusted(std::string_view remote_addr) const noexcept {
  std::string addr(remote_addr);
  in_addr a{};
  bool v4 = inet_pton(AF_INET, addr.c_str(), &a) == 1;
  for (const auto& c : trusted_) {
    if (!c.exact.empty() && c.exact == addr) return true;
    if (c.v4 && v4 && (ntohl(a.s_addr) & c.mask) == c.net) return true;
  }
  return false;
}

Decision ForwardAuth::decide(std::string_view remote_addr, std::span<const HeaderField> headers) const {
  std::string method = "GET", target = guard_.config().server.forward_auth_path;
  // Only what the proxy itself says about the original request, and only from a trusted proxy.
  std::vector<HeaderField> judged;
  bool trusted = is_trusted(remote_addr);
  for (const auto& h : headers) {
    bool forwarded =
        header_name_equals(h.name, "X-Forwarded-Method") || header_name_equals(h.name, "X-Original-Method") ||
        header_name_equals(h.name, "X-Forwarded-Uri") || header_name_equals(h.name, "X-Original-URI") ||
        header_name_equals(h.name, "X-Forwarded-Host") || header_name_equals(h.name, "X-Forwarded-Proto");
    if (!forwarded) judged.push_back(h);
  }
  if (trusted) {
    std::string_view m = header(headers, "X-Forwarded-Method");
    if (m.empty()) m = header(headers, "X-Original-Method");
    std::string_view u = header(headers, "X-Forwarded-Uri");
    if (u.empty()) u = header(headers, "X-Original-URI");
    if (!m.empty()) method = std::string(m);
    if (!u.empty()) target = std::string(u);
  }
  RequestTarget t = parse_request_target(target);
  if (!t.ok) {
    Decision d;
    d.status = 400;
    d.reason = Reason::MalformedAuthorization;
    d.body = error_body("invalid_request", "The original request target cannot be decoded safely.");
    return d;
  }
  if (t.path.starts_with("/.well-known/")) {  // discovery is public: let the proxy pass it through
    Decision d;
    d.allow = true;
    return d;
  }
  Decision d = guard_.decide({.method = method,
                              .path = t.path,
                              .query_has_access_token = t.query_has_access_token,
                              .headers = judged});
  if (d.allow) {
    d.status = 200;
    const auto& s = guard_.config().server;
    if (d.principal) {
      const Principal& p = *d.principal;
      std::string scopes;
      for (const auto& sc : p.scopes) scopes += (scopes.empty() ? "" : " ") + sc;
      d.headers.emplace_back(s.subject_header, p.subject);
      d.headers.emplace_back(s.scopes_header, scopes);
      d.headers.emplace_back(s.client_id_header, p.client_id);
      d.headers.emplace_back(s.organization_header, p.organization ? p.organization->id : "");
      d.headers.emplace_back(s.source_header, std::string(source_name(p.source)));
    }
    d.headers.emplace_back("Cache-Control", "no-store");
  }
  return d;
}

}  // namespace mcpgate::http
