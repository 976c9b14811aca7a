#include "http/forward_auth.hpp"

#include <arpa/inet.h>

#include <optional>

#include "http/guard.hpp"
#include "http/header_syntax.hpp"
#include "http/request_extractor.hpp"

namespace mcpgate::http {
namespace {

// Every header any proxy uses to describe the original request: none of them is judged as a request header
// of the original request, whichever pair is configured.
bool describes_original_request(std::string_view name) {
  for (std::string_view n : {"X-Forwarded-Method", "X-Original-Method", "X-Forwarded-Uri", "X-Original-URI",
                             "X-Original-Url", "X-Forwarded-Host", "X-Forwarded-Proto", "X-Forwarded-Prefix"})
    if (header_name_equals(name, n)) return true;
  return false;
}

// The single value of a configured header; none when absent (duplicates were refused before).
std::optional<std::string_view> value_of(std::span<const HeaderField> headers, std::string_view name) {
  for (const auto& h : headers)
    if (header_name_equals(h.name, name)) return h.value;
  return std::nullopt;
}

}  // namespace

ForwardAuth::ForwardAuth(const Guard::Impl& guard)
    : guard_(guard),
      path_(guard.config().server.forward_auth_path),
      method_header_(guard.config().server.forward_auth_method_header),
      uri_header_(guard.config().server.forward_auth_uri_header) {
  for (const auto* h : {&method_header_, &uri_header_})
    if (!h->empty()) singletons_.push_back(*h);
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

bool ForwardAuth::handles(std::string_view raw_target) const noexcept {
  if (path_.empty()) return false;
  const std::string_view path = raw_target.substr(0, raw_target.find('?'));
  if (path == path_) return true;
  return uri_header_.empty() && raw_target.size() > path_.size() && raw_target.starts_with(path_) &&
         raw_target[path_.size()] == '/';
}

Decision ForwardAuth::decide(const ForwardAuthRequest& r, CallOutcome* mcp) const {
  if (Reason bad = check_header_syntax(r.headers, singletons_); bad != Reason::Ok)
    return guard_.refusal(bad, path_);
  std::vector<HeaderField> judged;
  judged.reserve(r.headers.size());
  for (const auto& h : r.headers)
    if (!describes_original_request(h.name) && !header_name_equals(h.name, method_header_) &&
        !header_name_equals(h.name, uri_header_))
      judged.push_back(h);
  Decision d = judge(r, judged, mcp);
  if (!d.allow) return d;
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
  return d;
}

Decision ForwardAuth::judge(const ForwardAuthRequest& r, std::vector<HeaderField>& judged,
                            CallOutcome* mcp) const {
  std::string_view method = "GET", target = path_;
  TargetEncoding encoding = TargetEncoding::Raw;
  if (is_trusted(r.remote_addr)) {
    if (method_header_.empty()) {
      method = r.method;
    } else if (auto m = value_of(r.headers, method_header_); m && is_token(*m)) {
      method = *m;
    } else {
      return guard_.refusal(Reason::ForwardedRequestMissing, path_);
    }
    if (uri_header_.empty()) {
      target = r.target.substr(std::min(path_.size(), r.target.size()));
      if (!target.starts_with('/')) return guard_.refusal(Reason::ForwardedRequestMissing, path_);
    } else if (auto u = value_of(r.headers, uri_header_)) {
      target = *u;
      encoding = r.header_values;
    } else {
      return guard_.refusal(Reason::ForwardedRequestMissing, path_);
    }
  }
  RequestTarget t = parse_request_target(target, encoding);
  if (!t.ok) return guard_.refusal(Reason::RequestTargetRefused, path_);
  if (t.path.starts_with("/.well-known/")) {  // discovery is public: let the proxy pass it through
    Decision d;
    d.allow = true;
    return d;
  }
  Decision d = guard_.decide({.method = method,
                              .path = t.path,
                              .query_has_access_token = t.query_has_access_token,
                              .headers = judged});
  if (!d.allow || !guard_.inspects(method, t.path)) return d;
  CallOutcome call = guard_.decide_call({.path = t.path,
                                         .headers = judged,
                                         .body = std::nullopt,
                                         .principal = d.principal.get(),
                                         .in_band_step_up = false});
  if (mcp) *mcp = call;
  if (call.decision.allow) return d;
  if (call.decision.status != 401) call.decision.status = 403;
  return std::move(call.decision);
}

}  // namespace mcpgate::http
