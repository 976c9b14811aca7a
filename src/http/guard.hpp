// guard.hpp — the decision, framework-agnostic: one request's method, normalised path and headers in, a
// Decision out.
//
//   mcpgate::Guard::Impl impl(config);                        // what mcpgate::Guard holds
//   mcpgate::Decision d = impl.decide({.method = "POST", .path = "/mcp", .query_has_access_token = false,
//                                      .headers = fields});
//
// Order (docs/design.md, cheap first): header octets → /.well-known/* (PRM, AS mirror, JSON 404; never a
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
#include "http/as_metadata_mirror.hpp"
#include "http/cors.hpp"
#include "http/resource_metadata.hpp"
#include "core/shared_slot.hpp"

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

class Guard::Impl {
 public:
  explicit Impl(const Config& config);
  ~Impl();
  Decision decide(const RequestView& request) const;
  // The decision for a request outside the protected routes' rules: only discovery (for forward-auth's
  // probes).
  const Config& config() const noexcept { return config_; }
  const http::ResourceMetadata& metadata() const noexcept { return *metadata_; }
  const http::ForwardAuth& forward_auth() const noexcept { return *forward_auth_; }
  auth::Authenticator& authenticator() const noexcept { return *authenticator_; }
  // The answer to a request refused before any route rule applies (a bad target, header syntax).
  Decision refusal(Reason reason, std::string_view path) const { return refuse(reason, path, nullptr, {}, 0); }
  // SIGHUP: new [[routes]] rules and [[static_tokens]]; everything else stays as it was built.
  void reload(const Config& config);

 private:
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

// The config the authenticator is built from: with accept_resource_audience, every advertised resource URL
// joins the accepted audiences of the Stytch profile and each issuer (RFC 8707 §2: "aud" names the resource).
Config config_with_resource_audiences(const Config& config);

}  // namespace mcpgate
