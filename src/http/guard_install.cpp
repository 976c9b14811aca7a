// guard_install.cpp — cpp-httplib glue: Guard::install and Guard::principal (see include/mcpgate/guard.hpp
// for why a per-thread slot tagged with the Request's address).
#include <httplib.h>

#include <chrono>

#include "http/challenge.hpp"
#include "http/forward_auth.hpp"
#include "http/guard.hpp"
#include "http/hardening.hpp"
#include "http/request_extractor.hpp"
#include "http/request_target.hpp"

namespace mcpgate {
namespace {

struct PrincipalSlot {
  const void* guard = nullptr;
  const httplib::Request* request = nullptr;
  std::optional<Principal> principal;
  Reason reason = Reason::Ok;
  std::chrono::steady_clock::time_point started{};
};
thread_local PrincipalSlot slot;

void write(const Decision& d, httplib::Response& res) {
  res.status = d.status;
  for (const auto& [k, v] : d.headers)
    if (!http::has_forbidden_octet(v))
      res.headers.emplace(k, v);  // a claim with CR/LF never becomes a header
  if (!d.body.empty()) res.body = d.body;
  if (!d.body.empty() || d.status >= 400) res.set_header("Content-Type", "application/json");
}

}  // namespace

void Guard::install(httplib::Server& server) {
  const ServerConfig& sc = impl_->config().server;
  http::apply_hardening(server, sc);
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    slot =
        PrincipalSlot{this, &req, std::nullopt, Reason::Ok,
                      std::chrono::steady_clock::now()};  // every request overwrites the worker's slot first
    http::scrub_socket_headers(req);
    const ServerConfig& c = impl_->config().server;
    if (auto refusal = http::check_header_limits(req, c)) {
      if (refusal->reason == Reason::InvalidHeaderValue) {
        write({.allow = false,
               .principal = {},
               .reason = refusal->reason,
               .status = 400,
               .headers = {{"Cache-Control", "no-store"}},
               .body = http::error_body("invalid_request", reason_sentence(Reason::InvalidHeaderValue))},
              res);
      } else {
        write({.allow = false,
               .principal = {},
               .reason = Reason::Ok,
               .status = 431,
               .headers = {{"Cache-Control", "no-store"}},
               .body = http::error_body("request_header_fields_too_large",
                                        "Too many or too large request headers.")},
              res);
      }
      return httplib::Server::HandlerResponse::Handled;
    }
    std::vector<HeaderField> fields;
    fields.reserve(req.headers.size());
    for (const auto& [k, v] : req.headers)
      if (!http::is_socket_pseudo_header(k)) fields.push_back({k, v});

    std::string path = http::normalize_path(req.path);
    Decision d;
    if (!c.forward_auth_path.empty() && path == c.forward_auth_path) {
      d = impl_->forward_auth().decide(req.remote_addr, fields);
      slot.reason = d.reason;
      if (d.allow) slot.principal = d.principal;
      write(d, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    d = impl_->decide({.method = req.method,
                       .path = path,
                       .query_has_access_token = req.has_param("access_token"),
                       .headers = fields});
    slot.reason = d.reason;
    if (!d.allow) {
      write(d, res);
      return httplib::Server::HandlerResponse::Handled;
    }
    for (const auto& [k, v] : d.headers) res.headers.emplace(k, v);
    slot.principal = std::move(d.principal);
    return httplib::Server::HandlerResponse::Unhandled;
  });
}

Guard::Outcome Guard::outcome(const httplib::Request& request) const noexcept {
  if (slot.guard != this || slot.request != &request) return {};
  return {
      .reason = slot.reason,
      .principal = slot.principal ? &*slot.principal : nullptr,
      .elapsed_ms =
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - slot.started).count()};
}

void Guard::reload(const Config& config) {
  impl_->reload(config);
}

bool Guard::is_trusted_proxy(std::string_view remote_addr) const noexcept {
  return impl_->forward_auth().is_trusted(remote_addr);
}

const Principal* Guard::principal(const httplib::Request& request) const noexcept {
  if (slot.guard != this || slot.request != &request || !slot.principal) return nullptr;
  return &*slot.principal;
}

}  // namespace mcpgate
