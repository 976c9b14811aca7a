// mcpgate/config.hpp — the one immutable configuration: a TOML file, overridden by the environment.
//
//   mcpgate::ConfigLoad loaded = mcpgate::load_config_file("mcpgate.toml");  // + MCPGATE_* of the process
//   if (!loaded.ok()) {                                                     // every problem names its key:
//     for (const auto& e : loaded.errors) std::cerr << e.key << ": " << e.message << "\n";
//     return 2;                                // "static_tokens[1].sha256: expected 64 hex characters"
//   }
//   const mcpgate::Config& config = *loaded.config;
//   config.stytch->project_id; config.jwks.default_max_age; config.routes[0].scopes;
//
// Overrides: every scalar key of a [section] can be set by `MCPGATE_<SECTION>_<KEY>` (upper case), e.g.
// MCPGATE_STYTCH_PROJECT_ID or MCPGATE_JWKS_MAX_STALE; list-valued keys take a comma-separated value
// (MCPGATE_STYTCH_AUDIENCES="https://mcp.example.com/mcp,other"). Secrets and other values may come from a
// file: `<key>_file = "/run/secrets/x"` (or MCPGATE_<SECTION>_<KEY>_FILE) reads the value from that file,
// trailing newline removed. Arrays of tables ([[issuers]], [[static_tokens]], [[routes]]) come from the file
// only.
//
// Durations are seconds. Defaults below are the documented defaults (docs/configuration.md) and their reason.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcpgate {

// [server]: the HTTP surface (src/http, include/mcpgate/guard.hpp). Limits are explicit because cpp-httplib
// 0.11.4's defaults are unbounded or tiny (docs/embedding.md).
struct ServerConfig {
  std::string public_url;  // the resource URL clients use, e.g. "https://mcp.example.com/mcp"
  // Protected resources (paths on public_url's origin), each with its own RFC 9728 document at
  // /.well-known/oauth-protected-resource<path>. Empty = the path of public_url ("/mcp").
  std::vector<std::string> resources;
  std::string primary_resource;   // described by the root /.well-known/oauth-protected-resource; "" = first
  std::string realm = "mcpgate";  // RFC 6750 §3 realm
  std::string resource_name;      // RFC 9728 resource_name, omitted when empty
  std::string resource_documentation;         // RFC 9728 resource_documentation URL, omitted when empty
  std::vector<std::string> scopes_supported;  // empty = every scope the [[routes]] require
  bool accept_resource_audience = false;    // RFC 8707: accept tokens whose aud is an advertised resource URL
  bool mirror_authorization_server = true;  // serve the Stytch AS metadata on our origin (older clients)
  double metadata_max_age = 3600;           // Cache-Control max-age of the discovery documents
  std::vector<std::string> allowed_origins;  // CORS + MCP Origin check; public_url's origin is always allowed
  std::string listen_address = "127.0.0.1";
  std::size_t port = 8080;
  std::size_t threads = 0;              // event loops (threads) of the public listener; 0 = one per core
  std::size_t max_connections = 10000;  // open client connections; past it a new one gets 503 and is closed
  std::size_t max_header_count = 64;
  std::size_t max_header_bytes = 16384;  // all names + values
  std::size_t max_body_bytes = 4 * 1024 * 1024;
  std::size_t keep_alive_max_count = 1000;  // requests per connection (cpp-httplib's default is 5)
  double keep_alive_timeout = 5;
  double read_timeout = 10;
  double write_timeout = 10;
  // Forward-auth (nginx auth_request, Traefik ForwardAuth, Caddy forward_auth).
  std::string forward_auth_path = "/auth";  // "" = off
  std::vector<std::string>
      trusted_proxies;  // addresses (or IPv4 CIDRs) whose forward-auth headers and X-Forwarded-* count
  // Where forward-auth reads the original request from a trusted proxy: exactly this header for the method
  // and this one for the URI, never another spelling; "" = the check request's own method, or its own
  // target after forward_auth_path (Envoy ext_authz; nginx `proxy_pass http://mcpgate/auth$request_uri`).
  // Set by forward_auth_proxy = nginx (default) | traefik | caddy | envoy; either key overrides it.
  std::string forward_auth_proxy = "nginx";
  std::string forward_auth_method_header = "X-Original-Method";
  std::string forward_auth_uri_header;
  std::string subject_header = "X-Auth-Subject";
  std::string scopes_header = "X-Auth-Scopes";
  std::string client_id_header = "X-Auth-Client-Id";
  std::string organization_header = "X-Auth-Organization";
  std::string source_header = "X-Auth-Source";
  // TLS on the public listener (both or neither). Empty = plain HTTP (behind a TLS-terminating proxy).
  std::string tls_cert_file;
  std::string tls_key_file;
};

// [gateway]: `mcpgate serve` proxying [[routes]] that name an upstream (src/gateway).
struct GatewayConfig {
  double connect_timeout = 5;  // upstream TCP (and TLS) connect
  double header_timeout = 60;  // upstream response headers not there by then: 504 (streams then live on)
  double drain_timeout =
      20;  // SIGTERM/SIGINT: in-flight requests get this long; GET event streams close at once
  // An event stream with nothing to send for this long gets an SSE comment line (": keepalive") between events:
  // idle-timeout proxies keep it open, and a client that left is noticed then, not at the next upstream event.
  // 0 = never.
  double sse_keepalive = 15;
  bool session_binding = true;  // an Mcp-Session-Id answers only to the principal that opened it
  // Keys that seal session ids ("id:base64,..." of 32-byte keys, first seals, all open): the same on every
  // instance behind one load balancer. Secret: from MCPGATE_GATEWAY_SESSION_KEYS or session_keys_file.
  // "" = a random key per process (ids survive no restart and no other instance).
  std::string session_keys;
  // Event streams (text/event-stream responses) one principal (or, on public routes, one client address) may
  // hold open at once; the next is answered 429. 0 = no cap.
  std::size_t max_streams_per_principal = 64;
  std::string request_id_header = "X-Request-Id";  // taken when well-formed, else generated; passed upstream
  // Claim → header for the upstream, e.g. {"email" = "X-Auth-Email"}; client copies are stripped first.
  std::vector<std::pair<std::string, std::string>> claim_to_headers;
  // Request headers never passed upstream, in any spelling (case, '_' for '-'): identity headers other
  // proxies inject and upstreams written for them trust. A trailing '*' matches a prefix.
  // A table, laid out by hand:
  // clang-format off
  std::vector<std::string> strip_request_headers = {
      "X-Forwarded-User",   "X-Forwarded-Email",   "X-Forwarded-Preferred-Username", "X-Forwarded-Groups",
      "X-Forwarded-Access-Token", "X-Auth-Request-*", "Remote-User", "Remote-Email", "Remote-Groups",
      "Remote-Name",        "X-Remote-User",       "X-Remote-Group",   "X-Webauth-User", "X-Authenticated-User",
      "X-User",             "X-Email",             "X-Amzn-Oidc-*",    "X-Goog-Authenticated-User-*",
      "X-Goog-Iap-Jwt-Assertion", "Cf-Access-Jwt-Assertion", "Cf-Access-Authenticated-User-Email",
      "X-Pomerium-*",       "X-Ms-Client-Principal*"};
  // clang-format on
  bool access_log = true;  // one JSON line per request on stderr
  // MCP routes: a POST body is read whole up to this size to be inspected; a larger one is answered 413.
  std::size_t inspect_max_bytes = 1024 * 1024;
  // A list answer (tools/list, ...) on a route with rules is read whole to be filtered, up to this size; a
  // larger one is answered 502 (never relayed unfiltered).
  std::size_t list_max_bytes = 4 * 1024 * 1024;
  // Metrics count MCP decisions by method; with this, by target (tool/prompt name, resource URI) too. Targets
  // come from clients: only turn it on when the upstream's names are a small fixed set.
  bool metrics_targets = false;
};

// [admin]: /healthz, /readyz, /metrics — on its own listener, never the public one.
struct AdminConfig {
  std::string listen_address = "127.0.0.1";
  std::size_t port = 9090;  // 0 = any free port (printed at start)
  bool enabled = true;
};

// [store]: where {secret:SERVICE/KEY} references in [[routes]] inject_headers come from. Master keys never
// sit in this file: MCPGATE_STORE_KEYS or key_file.
struct StoreConfig {
  std::string backend = "env";  // env | sqlite | postgres
  std::string path;             // sqlite database file
  std::string url;              // postgres conninfo or URL (may come from url_file / MCPGATE_STORE_URL)
  std::string key_file;         // master keys file (see docs/configuration.md)
  double cache_ttl = 30;        // a resolved service token is reused this long
};

struct AuthConfig {
  double leeway_seconds = 60;  // clock skew allowed on exp/nbf (RFC 7519 §4.1.4 "small leeway")
};

struct TokenCacheConfig {
  std::size_t max_entries = 10000;  // verified tokens remembered (bounded memory: ~1 KiB each)
  double ttl_seconds = 300;  // a verified token is re-verified at least this often (and never past its exp)
};

struct JwksConfig {
  double default_max_age =
      600;                     // when the issuer sends no Cache-Control max-age (jose's cacheMaxAge, 10 min)
  double min_max_age = 60;     // clamp: a tiny max-age must not turn into a fetch storm
  double max_max_age = 86400;  // clamp: rotation must be noticed within a day
  double unknown_kid_cooldown =
      30;                    // at most one refetch per this many seconds for an unknown kid (jose: 30 s)
  double max_stale = 86400;  // serve the last good set this long past its expiry while the issuer fails
  double connect_timeout = 2;
  double total_timeout = 5;
  std::size_t max_body_bytes = 1024 * 1024;  // a key set is a few KiB; refuse anything absurd
  double refresh_ahead = 0.8;  // refresh in the background once this fraction of max-age has elapsed
};

// [stytch]: one Stytch project (consumer or B2B). Everything else is derived (see src/auth/issuer.hpp).
struct StytchConfig {
  std::string project_id;              // "project-live-..." or "project-test-..."
  std::string domain;                  // "https://xyz.customers.stytch.dev" or a custom domain
  std::vector<std::string> audiences;  // extra accepted audiences, e.g. the resource URL (RFC 8707)
  std::vector<std::string> allowed_organizations;  // B2B: organization ids allowed; empty = any
};

// [[issuers]]: any other OIDC / OAuth 2.0 authorization server.
struct IssuerConfig {
  std::string issuer;     // exact "iss"
  std::string jwks_uri;   // empty = discovery from {issuer}/.well-known/openid-configuration, then
                          // /.well-known/oauth-authorization-server (RFC 8414 §3)
  std::string jwks_file;  // a local key set instead of fetching (air-gapped)
  std::vector<std::string> audiences;  // required: at least one
  std::vector<std::string> algorithms = {"RS256"};
  bool allow_insecure_jwks_uri = false;  // http:// allowed for loopback only unless this is set
};

struct StaticTokenConfig {
  std::string name;
  std::string
      sha256;  // 64 lower-case hex characters: SHA-256 of the token (the token never sits in the config)
  std::vector<std::string> scopes;
  std::string subject;                     // empty = the name
  std::optional<std::int64_t> expires_at;  // Unix seconds (the file may give RFC 3339)
};

// [[routes.rules]]: what one kind of MCP request needs beyond the route's own scopes (src/auth/call_rules.hpp).
// First match in file order wins; a request no rule matches needs the route's scopes only.
struct CallRuleConfig {
  std::string name;          // in the access log; the loader sets "routes[I].rules[J]" when none is given
  std::string method = "*";  // JSON-RPC method glob: "tools/call", "tools/*", "*"
  std::string target;        // tool/prompt name or resource URI glob; "" = any (and methods without one)
  std::vector<std::string> scopes;         // all required, on top of the route's
  std::vector<std::string> any_scopes;     // at least one of these too
  std::vector<std::string> organizations;  // the principal's organization id must be one of these
  std::vector<std::pair<std::string, std::string>> claims;  // claim name = required value (strings), all
  bool deny = false;  // refused whoever asks (a JSON-RPC error, no challenge)
};

struct RouteConfig {
  std::string prefix;  // "/mcp" matches /mcp and /mcp/...; "/static/" matches everything under it
  std::vector<std::string> methods;  // upper case; empty = any method
  std::vector<std::string> scopes;   // all required
  bool is_public = false;            // `public = true`: no token needed
  // Gateway: where matching requests go. "http(s)://host[:port]" passes the path unchanged;
  // "http(s)://host[:port]/base" replaces the prefix with /base (nginx proxy_pass semantics).
  std::string upstream;
  // An https upstream's certificate is checked against this PEM bundle instead of the system CAs (an internal
  // CA).
  std::string upstream_ca_file;
  // Extra headers for the upstream (service tokens): {"Authorization" = "Bearer {secret:coda/api_token}"}.
  std::vector<std::pair<std::string, std::string>> inject_headers;
  // MCP awareness: POST bodies are read (up to gateway.inspect_max_bytes), checked against Mcp-Method /
  // Mcp-Name / MCP-Protocol-Version and judged by `rules`. false = an opaque route (bodies stream through).
  bool mcp = true;
  // A tools/call that lacks scopes: "challenge" = HTTP 403 with the step-up WWW-Authenticate (MCP clients,
  // Claude); "tool_result" = HTTP 200 with an isError result carrying _meta["mcp/www_authenticate"] (ChatGPT).
  std::string step_up = "challenge";
  std::vector<CallRuleConfig> rules;
};

struct Config {
  std::string source;  // the file it came from (for messages)
  ServerConfig server;
  AuthConfig auth;
  TokenCacheConfig token_cache;
  JwksConfig jwks;
  std::optional<StytchConfig> stytch;
  std::vector<IssuerConfig> issuers;
  std::vector<StaticTokenConfig> static_tokens;
  std::vector<RouteConfig> routes;
  GatewayConfig gateway;
  AdminConfig admin;
  StoreConfig store;
};

struct ConfigError {
  std::string key;      // "static_tokens[1].sha256", "jwks.max_stale", "" for the file as a whole
  std::string message;  // what is wrong; never a secret value
};

struct ConfigLoad {
  std::optional<Config> config;  // set exactly when errors is empty
  std::vector<ConfigError> errors;
  std::vector<std::string> warnings;  // keys this build does not understand yet, and the like
  bool ok() const noexcept { return errors.empty() && config.has_value(); }
};

// Looks an environment variable up; std::nullopt when unset. Tests pass a map instead of the process
// environment.
using EnvironmentLookup = std::function<std::optional<std::string>(const std::string& name)>;
EnvironmentLookup process_environment();

ConfigLoad load_config_file(const std::string& path, const EnvironmentLookup& env = process_environment());
// `source` names the text in messages (a path or "<string>"); relative *_file paths resolve from the working
// directory.
ConfigLoad load_config_text(std::string_view toml_text, const std::string& source,
                            const EnvironmentLookup& env = process_environment());

// Every key the loader understands, in load order: "server.public_url", "jwks.max_stale", "routes[].prefix"
// (arrays of tables as "name[]"). Taken from the loader's own reads, so it cannot drift from them;
// `<key>_file` variants and MCPGATE_* overrides are not listed separately. docs/configuration.md and
// config/mcpgate.example.toml are checked against it (tests/unit/config/config_docs_test.cpp).
std::vector<std::string> config_keys();

}  // namespace mcpgate
