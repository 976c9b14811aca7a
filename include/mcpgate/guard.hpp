// mcpgate/guard.hpp — protect a C++ HTTP server with OAuth 2.1 bearer tokens (MCP authorization).
//
//   auto loaded = mcpgate::load_config_file("mcpgate.toml");
//   auto created = mcpgate::Guard::create(*loaded.config);  // refused: created.message() names the key
//   mcpgate::Guard& guard = **created;
//   httplib::Server server;
//   guard.install(server);          // discovery routes, CORS, limits, and the check on every request
//   server.Post("/mcp", [&](const httplib::Request& req, httplib::Response& res) {
//     if (!guard.check_body(req, res)) return;                // MCP routes: Mcp-* headers, [[routes.rules]]
//     const mcpgate::Principal* who = guard.principal(req);   // never null on a protected route
//     res.set_content(handle(who->subject, req.body), "application/json");
//   });
//   server.listen("127.0.0.1", 8080);
//
// Any other framework (Beast, Drogon, Crow): call check() per request and act on the Decision.
//
//   mcpgate::Decision d = guard.check("POST", "/mcp?x=1", {{"Authorization", "Bearer eyJ..."}}, body);
//   if (!d.allow) return reply(d.status, d.headers, d.body);  // 400/401/403/404/405/503, or discovery
//   run_handler(*d.principal);                                 // d.headers (CORS) go on its response too
//
// How a handler gets the Principal, and why this way: install() verifies the request in cpp-httplib's
// pre-routing handler and keeps the Principal in a per-worker-thread slot tagged with the address of the
// Request object; the handler runs on the same thread for the same Request (cpp-httplib routes a request on
// the thread that read it), and principal(req) answers only when the tag matches, so a Principal can never
// leak to another request — every request overwrites the slot first — and nothing travels in a header that a
// client could forge in some spelling (X-Auth-Subject vs x_auth_subject) or that could be forwarded by
// mistake. Handed to another thread, the request gets nullptr: fail closed.
#pragma once

#include <cstdint>
#include <mcpgate/config.hpp>
#include <mcpgate/principal.hpp>
#include <mcpgate/status.hpp>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace mcpgate {

// One request header (views: the caller keeps the text alive during check()).
struct HeaderField {
  std::string_view name;
  std::string_view value;
};

using HeaderList = std::vector<std::pair<std::string, std::string>>;

struct Decision {
  bool allow = false;
  // Set when allow and the route is protected (public routes: none). Shared with the verified-token cache:
  // the same immutable Principal for every request with that token, never copied per request.
  std::shared_ptr<const Principal> principal;
  Reason reason = Reason::Ok;  // why not allowed (Ok for discovery documents and preflights)
  int status = 200;            // the response to send when !allow
  HeaderList headers;          // !allow: the whole response's headers; allow: headers to add (CORS)
  std::string body;
};

// What the Guard's key caches and verified-token cache have done (for /metrics).
struct GuardStats {
  struct Issuer {
    std::string name;
    std::uint64_t fetches = 0;
    std::uint64_t fetch_failures = 0;
    double key_set_age_seconds = -1;  // -1 before the first key set
    bool has_keys = false;
  };
  std::vector<Issuer> issuers;
  std::uint64_t cache_hits = 0;
  std::uint64_t cache_misses = 0;
  std::uint64_t signature_checks = 0;  // public-key operations actually performed
};

namespace internal {
struct GuardAccess;  // the gateway's own listener (src/net) reaches the decision stages through this
}

class Guard {
 public:
  // Builds the authenticator (starts fetching key sets). ConfigInvalid (the detail names the key) when the
  // config cannot work, KeySetInvalid when a jwks_file cannot be read.
  static Result<std::unique_ptr<Guard>> create(const Config& config);
  ~Guard();
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

  // `target` is the request target as sent: path plus optional "?query" (percent-encoded).
  Decision check(std::string_view method, std::string_view target, const HeaderList& headers) const;
  // The same, and for a POST to an MCP route (RouteConfig::mcp) also the body: inspected against Mcp-Method,
  // Mcp-Name and MCP-Protocol-Version (400 / JSON-RPC -32020 on a mismatch) and judged by [[routes.rules]]
  // (403 step-up, or the in-band tool result; 403 JSON-RPC error for a deny). Pass the body exactly as
  // your handler will read it.
  Decision check(std::string_view method, std::string_view target, const HeaderList& headers,
                 std::optional<std::string_view> body) const;

  // Hardening + discovery routes + the check in a pre-routing handler. Call before adding routes or listen().
  //
  // A request install() answers itself (a refusal, a discovery document, a preflight, a forward-auth
  // answer) is answered before cpp-httplib has read its body; left unread, that body would be parsed as
  // the connection's next request (the "CL.0" desync). With EarlyAnswer::Close (the default) such an
  // answer closes the connection after it is sent. With EarlyAnswer::AfterBody, for POST, PUT, PATCH and
  // DELETE the body is read first (at most server.max_body_bytes) and the answer is left for a handler
  // that calls answer_pending() — the client keeps its connection; use it only when your handlers cover
  // every path of those methods (as `mcpgate serve` does). Other methods with a body are refused (400) and
  // the connection closed: cpp-httplib never reads their bodies.
  enum class EarlyAnswer { Close, AfterBody };
  void install(httplib::Server& server, EarlyAnswer early = EarlyAnswer::Close);
  // With EarlyAnswer::AfterBody: writes the answer install() kept for this request, true; false if none.
  bool answer_pending(const httplib::Request& request, httplib::Response& response) const;
  // The verified Principal of the request being handled on this thread; nullptr on public routes.
  const Principal* principal(const httplib::Request& request) const noexcept;
  // MCP routes ([[routes]] mcp = true, the default): the body cpp-httplib has now read, inspected against
  // Mcp-Method / Mcp-Name / MCP-Protocol-Version and judged by [[routes.rules]]. install() judges the head
  // only (its hook runs before the body is read), so a handler of an MCP route calls this first:
  //   if (!guard.check_body(req, res)) return;   // res holds the 400/403/413/415 (or the in-band step-up)
  // True for requests it does not judge (other methods, routes with mcp = false). List answers are not
  // filtered here (the handler writes them): a handler that must hide tools does so itself.
  bool check_body(const httplib::Request& request, httplib::Response& response) const;
  // For access logs and metrics, after the response (cpp-httplib's logger runs on the request's thread): why
  // the request was refused (Reason::Ok when allowed or discovery), who it was (also for forward-auth
  // checks), and how long ago the Guard first saw it.
  struct Outcome {
    Reason reason = Reason::Ok;
    const Principal* principal = nullptr;
    double elapsed_ms = 0;
  };
  Outcome outcome(const httplib::Request& request) const noexcept;
  // Takes the [[static_tokens]] and [[routes]] rules of `config` for every request from now on (SIGHUP);
  // other sections keep the values the Guard was built with.
  void reload(const Config& config);
  // True when `remote_addr` (the TCP peer) is one of server.trusted_proxies.
  bool is_trusted_proxy(std::string_view remote_addr) const noexcept;

  // Ok once every issuer has had signing keys at least once; KeysUnavailable naming the first that has not.
  Status ready() const;
  GuardStats stats() const;

  class Impl;

 private:
  friend struct internal::GuardAccess;
  explicit Guard(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace mcpgate
