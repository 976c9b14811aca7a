// guard.hpp — the decision, framework-agnostic: one request's method, normalised path and headers in, a
// Decision out.
//
//   auto impl = mcpgate::Guard::Impl::create(config);         // what mcpgate::Guard holds
//   mcpgate::Decision d = (*impl)->decide({.method = "POST", .path = "/mcp", .query_has_access_token = false,
//                                          .headers = fields});
//   mcpgate::Guard::Impl& same = mcpgate::internal::GuardAccess::impl(guard);  // src/net's way in
//
// Order (cheap first): header octets → /.well-known/* (PRM, AS mirror, JSON 404; never a
// challenge) → CORS preflight (never challenged) → Origin check (403) → route rule (public: allow) → extract
// → authenticate → authorize. Every refusal comes from http/challenge (status and code from the Reason
// table).
#pragma once

#include <mcpgate/guard.hpp>
#include <memory>
#include <span>
#include <string>

#include "auth/authenticator.hpp"
#include "auth/route_rules.hpp"
#include "core/shared_slot.hpp"
#include "http/as_metadata_mirror.hpp"
#include "http/cors.hpp"
#include "http/resource_metadata.hpp"
#include "mcp/inspect.hpp"
#include "mcp/list_filter.hpp"

namespace mcpgate {
namespace http {
class ForwardAuth;
}

struct RequestView {
  std::string_view method{};
  std::string_view path{};  // decoded and normalised (http/request_target.hpp)
  bool query_has_access_token = false;
  std::span<const HeaderField> headers{};
};

// An MCP POST whose head the Guard allowed: its body (nullopt for forward-auth, which judges from the
// SEP-2243 headers alone) and who sent it (null on a public route).
struct CallRequest {
  std::string_view path{};
  std::span<const HeaderField> headers{};
  std::optional<std::string_view> body{};
  const Principal* principal = nullptr;
  bool in_band_step_up = true;  // false: never the 200 tool-result form (forward-auth: a 2xx would allow)
};

struct CallOutcome {
  Decision decision;       // allow, or the whole answer (400/403/413/415, or 200 for an in-band step-up)
  std::string mcp_method;  // for the access log: the JSON-RPC method ("batch" for several), or ""
  std::string mcp_target;  // the tool/prompt name or resource URI, at most 256 bytes, or ""
  std::string rule;        // the [[routes.rules]] entry that decided, or ""
  bool step_up_in_band = false;  // the answer is a tools/call result carrying the challenge (ChatGPT)
  // Allowed list requests on a route with rules: their answers must go through filter_list() before the client
  // sees them (empty: relay the answer as it comes).
  mcp::ListRequests lists;
  bool stateless = false;  // the request's protocol revision is 2026-07-28 (cacheScope applies)
};

class Guard::Impl {
 public:
  static Result<std::unique_ptr<Impl>> create(const Config& config);
  ~Impl();
  Decision decide(const RequestView& request) const;
  // True when a POST to `path` is an MCP request whose body decide_call() must see (route mcp = true).
  bool inspects(std::string_view method, std::string_view path) const;
  // The MCP stage, after decide() allowed the head: inspection, then [[routes.rules]] (guard_mcp.cpp).
  CallOutcome decide_call(const CallRequest& request) const;
  // A list answer (the whole body) cut to what `principal` may use under the rules of the route at `path`.
  mcp::Filtered filter_list(std::string_view path, const Principal* principal, const CallOutcome& call,
                            std::string_view body, bool event_stream) const;
  // The decision for a request outside the protected routes' rules: only discovery (for forward-auth's
  // probes).
  const Config& config() const noexcept { return config_; }
  const http::ResourceMetadata& metadata() const noexcept { return *metadata_; }
  const http::ForwardAuth& forward_auth() const noexcept { return *forward_auth_; }
  auth::Authenticator& authenticator() const noexcept { return *authenticator_; }
  Status ready() const;
  GuardStats stats() const;
  // The answer to a request refused before any route rule applies (a bad target, header syntax).
  Decision refusal(Reason reason, std::string_view path) const {
    return refuse(reason, path, nullptr, {}, 0);
  }
  // SIGHUP: new [[routes]] rules and [[static_tokens]]; everything else stays as it was built.
  void reload(const Config& config);

 private:
  Impl(Config config, http::ResourceMetadata metadata, std::unique_ptr<auth::Authenticator> authenticator);
  Decision step_up(const CallRequest& req, const auth::RouteRule& route, const mcp::Inspection& in,
                   const std::vector<std::string>& missing, HeaderList cors, bool& in_band) const;
  Decision discovery(std::string_view method, std::string_view path) const;
  Decision refuse(Reason reason, std::string_view path, const auth::RouteRule* rule, std::string_view origin,
                  double retry_after) const;

  Config config_;
  std::optional<http::ResourceMetadata> metadata_;
  std::unique_ptr<http::CorsPolicy> cors_;
  SharedSlot<auth::RouteRules> rules_;
  std::unique_ptr<auth::Authenticator> authenticator_;
  std::unique_ptr<http::AsMetadataMirror> mirror_;
  std::unique_ptr<http::ForwardAuth> forward_auth_;
};

namespace internal {
// The gateway's listener (src/net/public_server.cpp) runs the Guard's stages itself (the head, then the body,
// then the list answers); nothing outside src/ can name this.
struct GuardAccess {
  static Guard::Impl& impl(Guard& guard) noexcept { return *guard.impl_; }
};
}  // namespace internal

// The config the authenticator is built from: with accept_resource_audience, every advertised resource URL
// joins the accepted audiences of the Stytch profile and each issuer (RFC 8707 §2: "aud" names the resource).
Config config_with_resource_audiences(const Config& config);

}  // namespace mcpgate
