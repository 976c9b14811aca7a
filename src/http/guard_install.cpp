// guard_install.cpp — cpp-httplib glue: Guard::install and Guard::principal (see include/mcpgate/guard.hpp
// for why a per-thread slot tagged with the Request's address, and for EarlyAnswer).
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
  std::shared_ptr<const Principal> principal;
  Reason reason = Reason::Ok;
  std::chrono::steady_clock::time_point started{};
  std::optional<Decision> pending;  // EarlyAnswer::AfterBody: the answer, once the body is read
};
thread_local PrincipalSlot slot;

// cpp-httplib reads a request body only for these methods (detail::expect_content), and the gateway's
// handlers cover every path of each.
bool library_reads_body(std::string_view method) {
  return method == "POST" || method == "PUT" || method == "PATCH" || method == "DELETE";
}

// RFC 9112 §6.3: a body follows when either framing header is present (a zero length is none).
bool announces_body(const httplib::Request& req) {
  return req.has_header("Transfer-Encoding") ||
         (req.has_header("Content-Length") && req.get_header_value("Content-Length") != "0");
}

void put_headers(const Decision& d, httplib::Response& res) {
  res.status = d.status;
  for (const auto& [k, v] : d.headers)
    if (!http::has_forbidden_octet(v))
      res.headers.emplace(k, v);  // a claim with CR/LF never becomes a header
}

void write(const Decision& d, httplib::Response& res) {
  put_headers(d, res);
  if (!d.body.empty()) res.body = d.body;
  if (!d.body.empty() || d.status >= 400) res.set_header("Content-Type", "application/json");
}

// Answers, then closes the connection, whose unread body must never be parsed as a next request.
// cpp-httplib 0.11.4 has no call for that; it does end a connection whose content provider fails, and a
// provider that has written the whole body and then reports failure has sent a complete response.
void write_and_close(const Decision& d, const httplib::Request& request, httplib::Response& res) {
  // pre-routing gets a const reference to cpp-httplib's own non-const Request (as scrub_socket_headers).
  auto& req = const_cast<httplib::Request&>(request);
  req.headers.erase("Connection");               // case-insensitive multimap: every spelling
  req.headers.emplace("Connection", "close");    // so the response says so
  if (req.method == "HEAD") req.method = "GET";  // a HEAD answer writes no body: the provider must run
  put_headers(d, res);
  if (d.body.empty()) {
    res.set_content_provider("application/json", [](std::size_t, httplib::DataSink&) { return false; });
    res.headers.erase("Content-Type");
    return;
  }
  auto body = std::make_shared<const std::string>(d.body);
  res.set_content_provider(body->size(), "application/json",
                           [body](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                             sink.write(body->data() + offset, length);
                             return false;  // written in full: now close
                           });
}

}  // namespace

void Guard::install(httplib::Server& server, EarlyAnswer early) {
  const ServerConfig& sc = impl_->config().server;
  http::apply_hardening(server, sc);
  server.set_pre_routing_handler([this, early](const httplib::Request& req, httplib::Response& res) {
    // Every request overwrites the worker's slot first.
    slot = PrincipalSlot{this, &req, nullptr, Reason::Ok, std::chrono::steady_clock::now(), std::nullopt};
    http::scrub_socket_headers(req);
    const bool unread_body = announces_body(req);
    // Every answer given here, before cpp-httplib has read the body (the "CL.0" desync otherwise).
    auto answer = [&](Decision d) {
      slot.reason = d.reason;
      if (!unread_body) {
        write(d, res);
      } else if (early == EarlyAnswer::AfterBody && library_reads_body(req.method)) {
        slot.pending = std::move(d);  // the handler answers once the body is read
        return httplib::Server::HandlerResponse::Unhandled;
      } else {
        write_and_close(d, req, res);
      }
      return httplib::Server::HandlerResponse::Handled;
    };
    const ServerConfig& c = impl_->config().server;
    if (auto refusal = http::check_header_limits(req, c)) {
      if (refusal->reason == Reason::InvalidHeaderValue) return answer(impl_->refusal(refusal->reason, "/"));
      return answer({.allow = false,
                     .principal = {},
                     .reason = Reason::Ok,
                     .status = 431,
                     .headers = {{"Cache-Control", "no-store"}},
                     .body = http::error_body("request_header_fields_too_large",
                                              "Too many or too large request headers.")});
    }
    std::vector<HeaderField> fields;
    fields.reserve(req.headers.size());
    for (const auto& [k, v] : req.headers)
      if (!http::is_socket_pseudo_header(k)) fields.push_back({k, v});

    const http::ForwardAuth& forward_auth = impl_->forward_auth();
    if (forward_auth.handles(req.target)) {
      Decision d = forward_auth.decide({.remote_addr = req.remote_addr,
                                        .method = req.method,
                                        .target = req.target,
                                        .headers = fields,
                                        .header_values = http::TargetEncoding::DecodedByTransport});
      if (d.allow) slot.principal = d.principal;
      d.allow = false;  // the forward-auth answer is the response
      return answer(std::move(d));
    }
    // req.target is the request line's target (cpp-httplib only cut the fragment): decoded here, once.
    const http::RequestTarget target = http::parse_request_target(req.target);
    if (!target.ok) return answer(impl_->refusal(Reason::RequestTargetRefused, "/"));
    Decision d = impl_->decide({.method = req.method,
                                .path = target.path,
                                .query_has_access_token = target.query_has_access_token,
                                .headers = fields});
    if (!d.allow) return answer(std::move(d));
    if (unread_body && !library_reads_body(req.method)) {
      write_and_close(impl_->refusal(Reason::BodyNotAllowed, target.path), req, res);
      slot.reason = Reason::BodyNotAllowed;
      return httplib::Server::HandlerResponse::Handled;
    }
    slot.reason = d.reason;
    for (const auto& [k, v] : d.headers) res.headers.emplace(k, v);
    slot.principal = std::move(d.principal);
    return httplib::Server::HandlerResponse::Unhandled;
  });
}

bool Guard::answer_pending(const httplib::Request& request, httplib::Response& response) const {
  if (slot.guard != this || slot.request != &request || !slot.pending) return false;
  write(*slot.pending, response);
  slot.pending.reset();
  return true;
}

Guard::Outcome Guard::outcome(const httplib::Request& request) const noexcept {
  if (slot.guard != this || slot.request != &request) return {};
  return {
      .reason = slot.reason,
      .principal = slot.principal.get(),
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
  return slot.principal.get();
}

bool Guard::check_body(const httplib::Request& request, httplib::Response& response) const {
  const http::RequestTarget target = http::parse_request_target(request.target);
  if (!target.ok || !impl_->inspects(request.method, target.path)) return true;
  std::vector<HeaderField> fields;
  fields.reserve(request.headers.size());
  for (const auto& [k, v] : request.headers)
    if (!http::is_socket_pseudo_header(k)) fields.push_back({k, v});
  const CallOutcome call = impl_->decide_call(
      {.path = target.path, .headers = fields, .body = request.body, .principal = principal(request)});
  if (call.decision.allow) return true;
  if (slot.guard == this && slot.request == &request) slot.reason = call.decision.reason;
  write(call.decision, response);
  return false;
}

}  // namespace mcpgate
