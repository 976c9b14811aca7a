#include "http/guard.hpp"

#include "http/challenge.hpp"
#include "http/forward_auth.hpp"
#include "http/header_syntax.hpp"
#include "http/request_extractor.hpp"
#include "http/request_target.hpp"

namespace mcpgate {
namespace {

std::string_view find_header(std::span<const HeaderField> headers, std::string_view name,
                             bool* present = nullptr) {
  for (const auto& h : headers)
    if (http::header_name_equals(h.name, name)) {
      if (present) *present = true;
      return h.value;
    }
  if (present) *present = false;
  return {};
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : " ") + s;
  return out;
}

Decision respond(int status, HeaderList headers, std::string body, Reason reason = Reason::Ok) {
  Decision d;
  d.allow = false;
  d.status = status;
  d.reason = reason;
  d.headers = std::move(headers);
  d.body = std::move(body);
  return d;
}

}  // namespace

Config config_with_resource_audiences(const Config& config) {
  Config c = config;
  if (!c.server.accept_resource_audience) return c;
  for (const auto& url : http::advertised_resource_urls(config)) {
    if (c.stytch) c.stytch->audiences.push_back(url);
    for (auto& i : c.issuers) i.audiences.push_back(url);
  }
  return c;
}

Result<std::unique_ptr<Guard::Impl>> Guard::Impl::create(const Config& config) {
  Config effective = config_with_resource_audiences(config);
  Result<http::ResourceMetadata> metadata = http::ResourceMetadata::create(effective);
  if (!metadata.ok()) return metadata.status();
  Result<std::unique_ptr<auth::Authenticator>> authenticator = auth::Authenticator::create(effective);
  if (!authenticator.ok()) return authenticator.status();
  return std::unique_ptr<Impl>(
      new Impl(std::move(effective), std::move(*metadata), std::move(*authenticator)));
}

Guard::Impl::Impl(Config config, http::ResourceMetadata metadata,
                  std::unique_ptr<auth::Authenticator> authenticator)
    : config_(std::move(config)), metadata_(std::move(metadata)), authenticator_(std::move(authenticator)) {
  cors_ = std::make_unique<http::CorsPolicy>(config_.server.allowed_origins, metadata_->origin());
  rules_.store(std::make_shared<const auth::RouteRules>(config_.routes));
  if (config_.server.mirror_authorization_server && config_.stytch) {
    auth::FetchOptions o;
    o.connect_timeout = config_.jwks.connect_timeout;
    o.total_timeout = config_.jwks.total_timeout;
    o.allow_insecure = false;
    mirror_ = std::make_unique<http::AsMetadataMirror>(config_, auth::JwksFetcher::create(o));
  }
  forward_auth_ = std::make_unique<http::ForwardAuth>(*this);
}

Status Guard::Impl::ready() const {
  for (std::size_t i = 0; i < authenticator_->issuers().size(); ++i) {
    if (!authenticator_->key_cache(i).stats().has_keys)
      return {Reason::KeysUnavailable, "issuer " + authenticator_->issuers()[i].name + " has no keys yet"};
  }
  return {};
}

GuardStats Guard::Impl::stats() const {
  GuardStats out;
  for (std::size_t i = 0; i < authenticator_->issuers().size(); ++i) {
    auth::JwksStats s = authenticator_->key_cache(i).stats();
    out.issuers.push_back({.name = authenticator_->issuers()[i].name,
                           .fetches = s.fetches,
                           .fetch_failures = s.fetch_failures,
                           .key_set_age_seconds = s.key_set_age,
                           .has_keys = s.has_keys});
  }
  auth::AuthenticatorStats a = authenticator_->stats();
  out.cache_hits = a.cache_hits;
  out.cache_misses = a.cache_misses;
  out.signature_checks = a.signature_checks;
  return out;
}

Guard::Impl::~Impl() = default;

void Guard::Impl::reload(const Config& config) {
  rules_.store(std::make_shared<const auth::RouteRules>(config.routes));
  authenticator_->replace_static_tokens(config.static_tokens);
}

Decision Guard::Impl::discovery(std::string_view method, std::string_view path) const {
  std::string body;
  bool found = false, mirrored = false;
  if (const auto* doc = metadata_->document_at(path)) {
    body = doc->json;
    found = true;
  } else if (mirror_ && (path == "/.well-known/oauth-authorization-server" ||
                         path == "/.well-known/oauth-authorization-server" + metadata_->primary().path)) {
    found = mirrored = true;
  }
  HeaderList cors = {{"Access-Control-Allow-Origin", "*"}};
  if (!found) {
    // Any other /.well-known/* is a clean JSON 404, never HTML and never a challenge (clients probe these).
    cors.emplace_back("Cache-Control", "no-store");
    return respond(404, cors, http::error_body("not_found", "No such discovery document."));
  }
  if (method == "OPTIONS") {
    cors.emplace_back("Allow", "GET, HEAD, OPTIONS");
    cors.emplace_back("Access-Control-Allow-Methods", "GET, HEAD, OPTIONS");
    return respond(204, cors, "");
  }
  if (method != "GET" && method != "HEAD") {
    cors.emplace_back("Allow", "GET, HEAD, OPTIONS");
    return respond(405, cors,
                   http::error_body("method_not_allowed", "Discovery documents answer GET and HEAD."));
  }
  if (mirrored) {
    auto d = mirror_->get();
    if (!d.ok)
      return respond(
          502, cors,
          http::error_body("upstream_unavailable", "The authorization server's metadata is unavailable."));
    body = d.body;
  }
  cors.emplace_back(
      "Cache-Control",
      "public, max-age=" + std::to_string(static_cast<long long>(config_.server.metadata_max_age)));
  return respond(200, cors, body);
}

Decision Guard::Impl::refuse(Reason reason, std::string_view path, const auth::RouteRule* rule,
                             std::string_view origin, double retry_after) const {
  const auto& resource = metadata_->resource_for(path);
  std::string scope = rule ? join(rule->scopes) : "";
  http::Refusal r = http::refusal_for(
      reason, {.realm = config_.server.realm, .resource_metadata = resource.metadata_url, .scope = scope},
      retry_after);
  if (!origin.empty() && reason != Reason::OriginNotAllowed) cors_->add_response_headers(origin, r.headers);
  return respond(r.status, std::move(r.headers), std::move(r.body), reason);
}

Decision Guard::Impl::decide(const RequestView& req) const {
  if (Reason bad = http::check_header_syntax(req.headers, {}); bad != Reason::Ok)
    return refuse(bad, req.path, nullptr, {}, 0);
  if (req.path.starts_with("/.well-known/")) return discovery(req.method, req.path);

  bool has_origin = false, has_acrm = false;
  std::string_view origin = find_header(req.headers, "Origin", &has_origin);
  find_header(req.headers, "Access-Control-Request-Method", &has_acrm);
  if (http::CorsPolicy::is_preflight(req.method, has_origin, has_acrm)) {
    if (!cors_->allows(origin)) return refuse(Reason::OriginNotAllowed, req.path, nullptr, {}, 0);
    return respond(204, cors_->preflight_headers(origin), "");
  }
  if (has_origin && !cors_->allows(origin)) return refuse(Reason::OriginNotAllowed, req.path, nullptr, {}, 0);

  const std::shared_ptr<const auth::RouteRules> rules = rules_.load();  // alive for this decision
  const auth::RouteRule& rule = rules->match(req.method, req.path);
  Decision d;
  if (has_origin) cors_->add_response_headers(origin, d.headers);
  if (rule.is_public) {
    d.allow = true;
    return d;
  }
  Result<std::string_view> token = http::extract_bearer(req.headers, req.query_has_access_token);
  if (!token.ok()) return refuse(token.reason, req.path, &rule, origin, 0);
  Result<auth::Authenticated> a = authenticator_->authenticate(*token);
  if (!a.ok()) return refuse(a.reason, req.path, &rule, origin, a.retry_after);
  Reason z = auth::RouteRules::authorize(rule, *a->principal);
  if (z != Reason::Ok) return refuse(z, req.path, &rule, origin, 0);
  d.allow = true;
  d.principal = std::move(a->principal);
  return d;
}

Result<std::unique_ptr<Guard>> Guard::create(const Config& config) {
  Result<std::unique_ptr<Impl>> impl = Impl::create(config);
  if (!impl.ok()) return impl.status();
  return std::unique_ptr<Guard>(new Guard(std::move(*impl)));
}

Guard::Guard(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Guard::~Guard() = default;

Status Guard::ready() const {
  return impl_->ready();
}
GuardStats Guard::stats() const {
  return impl_->stats();
}

Decision Guard::check(std::string_view method, std::string_view target, const HeaderList& headers) const {
  return check(method, target, headers, std::nullopt);
}

Decision Guard::check(std::string_view method, std::string_view target, const HeaderList& headers,
                      std::optional<std::string_view> body) const {
  http::RequestTarget t = http::parse_request_target(target);
  std::vector<HeaderField> fields;
  fields.reserve(headers.size());
  for (const auto& [k, v] : headers) fields.push_back({k, v});
  if (!t.ok) return impl_->refusal(Reason::RequestTargetRefused, "/");
  Decision d = impl_->decide({.method = method,
                              .path = t.path,
                              .query_has_access_token = t.query_has_access_token,
                              .headers = fields});
  if (!d.allow || !body || !impl_->inspects(method, t.path)) return d;
  CallOutcome call =
      impl_->decide_call({.path = t.path, .headers = fields, .body = body, .principal = d.principal.get()});
  if (call.decision.allow) return d;
  return std::move(call.decision);
}

}  // namespace mcpgate
