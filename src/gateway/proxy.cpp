#include "gateway/proxy.hpp"

#include <nlohmann/json.hpp>
#include <stdexcept>

namespace mcpgate::gateway {
namespace {

// The owner of sessions opened on public routes: nobody's principal, so never one of theirs.
constexpr std::string_view kPublicOwner = "public";

// Re-encodes a decoded path for the upstream: RFC 3986 pchar plus '/', everything else %XX.
std::string encode_path(std::string_view path) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (std::isalnum(c) ||
        std::string_view("-._~!$&'()*+,;=:@/").find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

// An Mcp-Session-Id that does not open here: the Streamable HTTP transport's own answer (404 with a JSON-RPC
// error), which tells an MCP client to start a new session.
Answer session_not_found() {
  return {http_status(Reason::SessionUnknown),
          {{"Content-Type", "application/json"}},
          R"({"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null})",
          Reason::SessionUnknown};
}

std::string_view header_of(const HeaderList& headers, std::string_view canonical, bool* present = nullptr) {
  for (const auto& [k, v] : headers)
    if (same_header_name(k, canonical)) {
      if (present) *present = true;
      return v;
    }
  if (present) *present = false;
  return {};
}

}  // namespace

Answer json_answer(Reason reason, std::string_view description) {
  if (description.empty()) description = reason_sentence(reason);
  return {http_status(reason),
          {{"Cache-Control", "no-store"}, {"Content-Type", "application/json"}},
          nlohmann::json{{"error", reason_name(reason)}, {"error_description", description}}.dump(),
          reason};
}

std::string session_owner(const Principal& principal) {
  if (principal.source == PrincipalSource::Static) return "static\n" + principal.token_name;
  return "jwt\n" + principal.issuer + "\n" + principal.subject;
}

Result<std::shared_ptr<const Proxy::RouteTable>> Proxy::RouteTable::build(const Config& config) {
  auto table = std::make_shared<RouteTable>(config.routes);
  for (const auto& rc : config.routes) {
    if (rc.upstream.empty()) {
      table->by_index.push_back(nullptr);
      continue;
    }
    auto up = parse_upstream(rc.upstream);
    if (!up) return Status{Reason::ConfigInvalid, "routes " + rc.prefix + ": upstream is not an http(s) URL"};
    auto secrets = SecretInjection::parse(rc.inject_headers);
    if (!secrets.ok())
      return Status{secrets.reason, "routes " + rc.prefix + ": inject_headers." + secrets.detail};
    std::string pool_key = up->origin + "\n" + rc.upstream_ca_file;
    table->by_index.push_back(
        std::make_unique<Route>(Route{rc, *up, std::make_unique<UpstreamHeaderPlan>(config, rc),
                                      std::move(*secrets), std::move(pool_key)}));
  }
  return std::shared_ptr<const RouteTable>(std::move(table));
}

const Proxy::Route* Proxy::RouteTable::match(std::string_view method, std::string_view path) const {
  const auth::RouteRule& rule = rules.match(method, path);
  if (rule.index < 0 || static_cast<std::size_t>(rule.index) >= by_index.size()) return nullptr;
  return by_index[static_cast<std::size_t>(rule.index)].get();
}

Result<std::unique_ptr<Proxy>> Proxy::create(const Config& config, std::shared_ptr<SecretResolver> resolver,
                                             ProxyEvents events, std::shared_ptr<TokenStore> principals) {
  auto table = RouteTable::build(config);
  if (!table.ok()) return table.status();
  auto seal = SessionSeal::create(config.gateway.session_keys);
  if (!seal.ok()) return Status{seal.reason, "gateway.session_keys: " + seal.detail};
  std::unique_ptr<Proxy> proxy(new Proxy(config, std::move(resolver), std::move(events), std::move(*seal)));
  if (principals) proxy->recorder_ = std::make_unique<PrincipalRecorder>(std::move(principals));
  proxy->table_.store(std::move(*table));
  return proxy;
}

Proxy::Proxy(const Config& config, std::shared_ptr<SecretResolver> resolver, ProxyEvents events,
             SessionSeal seal)
    : config_(config), resolver_(std::move(resolver)), events_(std::move(events)), seal_(std::move(seal)) {}

Proxy::~Proxy() = default;

Status Proxy::reload(const Config& config) {
  auto table = RouteTable::build(config);  // refused before anything changes
  if (!table.ok()) return table.status();
  table_.store(std::move(*table));
  return {};
}

std::string Proxy::route_of(std::string_view method, std::string_view path) const {
  auto table = table_.load();
  const Route* r = table->match(method, path);
  return r ? r->config.prefix : std::string();
}

Prepared Proxy::prepare(const ClientRequest& req) const {
  const GatewayConfig& g = config_.gateway;
  const std::shared_ptr<const RouteTable> table =
      table_.load();  // this request's routes, even across a reload
  const Route* route = table->match(req.method, req.path);
  if (!route) return {json_answer(Reason::RouteNotFound), {}};
  const Principal* who = req.principal;
  // The Guard judged this request by the same rules; checking again against this table's rule keeps a
  // request judged just before a SIGHUP reload from reaching a route whose new rule it does not meet.
  if (!route->config.is_public) {
    if (!who) return {json_answer(Reason::PrincipalRequired), {}};
    const Reason r = auth::RouteRules::authorize(table->rules.match(req.method, req.path), *who);
    if (r != Reason::Ok) return {json_answer(r), {}};
  }

  // Session binding: the client holds the upstream's id sealed to the principal it was issued to (and to
  // this route). Anything that does not open for this principal — forged, altered, another principal's or
  // route's, sealed with a retired key, an upstream's raw id — fails closed: 404 is the transport's "start a
  // new session", and an id we cannot vouch for is never forwarded (the upstream may decode it into someone
  // else's). No table: any instance with the keys decides alike, and nothing can be evicted.
  bool has_session = false;
  std::string session_id(header_of(req.headers, "mcp-session-id", &has_session));
  if (g.session_binding && has_session) {
    auto upstream_id =
        seal_.open(session_id, who ? session_owner(*who) : std::string(kPublicOwner), route->config.prefix);
    if (!upstream_id) return {session_not_found(), {}};
    session_id = std::move(*upstream_id);
  }

  if (who && recorder_) recorder_->seen(*who);
  // Parsed with the route table; a per-user token is looked up by the principal's identity, never by text.
  Injection injection = route->secrets.fill(resolver_.get(), who);
  switch (injection.failure) {
    case InjectionFailure::None:
      break;
    case InjectionFailure::NoPrincipal:
      return {json_answer(Reason::UserRequired), {}};
    case InjectionFailure::PerUserTokenMissing:
      return {
          json_answer(Reason::ServiceTokenMissing,
                      "No per-user service token is stored for this user (" + injection.reference +
                          "); an operator can add it with `mcpgate secrets put SERVICE KEY --issuer ISSUER "
                          "--subject SUBJECT`."),
          {}};
    case InjectionFailure::Unavailable:
      if (events_.upstream_error) events_.upstream_error(route->config.prefix, "secret");
      return {json_answer(Reason::UpstreamCredentialsUnavailable), {}};
  }
  RequestContext context{
      .principal = who,
      .remote_addr = req.remote_addr,
      .remote_trusted = req.remote_trusted,
      .request_id = req.request_id,
      .scheme = req.tls ? "https" : "http",
      .injected = std::move(injection.headers),
      .session_id = g.session_binding && has_session ? std::string_view(session_id) : std::string_view()};
  UpstreamRequest up;
  up.table = table;
  up.route = &route->config;
  up.upstream = &route->upstream;
  up.pool_key = route->pool_key;
  up.method = std::string(req.method);
  up.target = encode_path(route->upstream.map_path(route->config.prefix, req.path));
  if (auto q = req.target.find('?'); q != std::string_view::npos) up.target += req.target.substr(q);
  up.fields.reserve(512);
  HeadWriter writer(up.fields);
  route->headers->write_request_headers(req.headers, context, writer);
  up.principal = who;
  up.session_id = std::move(session_id);
  up.has_session = has_session;
  return {std::nullopt, std::move(up)};
}

std::optional<std::string> Proxy::upstream_answered(const UpstreamRequest& request, int status,
                                                    const HeaderList& headers) const {
  const GatewayConfig& g = config_.gateway;
  const std::string_view issued = header_of(headers, "mcp-session-id");
  // Sealed whatever the status: with binding on, the upstream's raw id never reaches a client.
  (void)status;
  if (!g.session_binding || issued.empty()) return std::nullopt;
  return seal_.seal(request.principal ? session_owner(*request.principal) : std::string(kPublicOwner), issued,
                    request.route->prefix);
}

}  // namespace mcpgate::gateway
