// Loads mcpgate.toml into one Config: section by section, every problem collected with the key that caused
// it.
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <mcpgate/config.hpp>
#include <set>
#include <sstream>

#include "config/config_reader.hpp"

namespace mcpgate {
namespace {

using config::SectionReader;

// The asymmetric JWS algorithms src/jose verifies (RFC 7518 §3, RFC 8037); HMAC and none are never
// configurable.
const std::set<std::string> kAlgorithmNames = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                               "PS512", "ES256", "ES384", "EdDSA"};

bool is_http_url(std::string_view url) {
  return !config::url_authority(url).empty();
}

bool has_space(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) || c < 0x20; });
}

// https, or http to loopback (tests, a sidecar IdP), or http anywhere when the operator opted in explicitly.
void check_fetch_url(SectionReader& r, const std::string& key, const std::string& url, bool allow_insecure) {
  if (url.rfind("https://", 0) == 0 && !config::url_authority(url).empty()) return;
  if (url.rfind("http://", 0) == 0 && !config::url_authority(url).empty()) {
    if (config::is_loopback_url(url) || allow_insecure) return;
    r.error(key,
            "http:// is allowed only for loopback hosts (set allow_insecure_jwks_uri = true to override)");
    return;
  }
  r.error(key, "expected an https:// URL");
}

void read_scopes_named(SectionReader& r, const std::string& key, std::vector<std::string>& scopes) {
  if (!r.string_list(key, scopes)) return;
  for (const auto& s : scopes) {
    // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
    bool ok = !s.empty() && std::all_of(s.begin(), s.end(), [](unsigned char c) {
      return c >= 0x21 && c <= 0x7E && c != '"' && c != '\\';
    });
    if (!ok) r.error(key, "'" + s + "' is not a valid scope token (RFC 6749 §3.3)");
  }
}

void read_scopes(SectionReader& r, std::vector<std::string>& scopes) {
  read_scopes_named(r, "scopes", scopes);
}

bool is_header_name(std::string_view name);
void read_forward_auth_sources(SectionReader& r, ServerConfig& s);

void load_server(const toml::table* t, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  SectionReader r(t, "server", "MCPGATE_SERVER_", out.errors, env);
  if (r.string("public_url", c.server.public_url) && !is_http_url(c.server.public_url)) {
    r.error("public_url", "expected an absolute https:// URL such as https://mcp.example.com/mcp");
  }
  auto& s = c.server;
  r.string_list("resources", s.resources);
  for (const auto& p : s.resources)
    if (p.empty() || p[0] != '/' || p.find_first_of("?#") != std::string::npos)
      r.error("resources", "'" + p + "' is not an absolute path such as /mcp");
  r.string("primary_resource", s.primary_resource);
  r.string("realm", s.realm);
  if (s.realm.find_first_of("\"\\\r\n") != std::string::npos)
    r.error("realm", "must not contain quotes or CR/LF");
  r.string("resource_name", s.resource_name);
  if (r.string("resource_documentation", s.resource_documentation) && !is_http_url(s.resource_documentation))
    r.error("resource_documentation", "expected an https:// URL");
  read_scopes_named(r, "scopes_supported", s.scopes_supported);
  r.boolean("accept_resource_audience", s.accept_resource_audience);
  r.boolean("mirror_authorization_server", s.mirror_authorization_server);
  r.number("metadata_max_age", s.metadata_max_age, 0, 86400 * 7);
  r.string_list("allowed_origins", s.allowed_origins);
  r.string("listen_address", s.listen_address);
  r.count("port", s.port, 0, 65535);
  r.count("threads", s.threads, 0, 256);
  r.count("max_connections", s.max_connections, 1, 1000000);
  r.count("max_header_count", s.max_header_count, 8, 1000);
  r.count("max_header_bytes", s.max_header_bytes, 1024, 1024 * 1024);
  r.count("max_body_bytes", s.max_body_bytes, 0, std::size_t{1} << 34);
  r.count("keep_alive_max_count", s.keep_alive_max_count, 1, 1000000);
  r.number("keep_alive_timeout", s.keep_alive_timeout, 0.1, 3600);
  r.number("read_timeout", s.read_timeout, 0.1, 3600);
  r.number("write_timeout", s.write_timeout, 0.1, 3600);
  if (r.string("forward_auth_path", s.forward_auth_path) && !s.forward_auth_path.empty() &&
      s.forward_auth_path[0] != '/')
    r.error("forward_auth_path", "expected an absolute path such as /auth (or \"\" to turn it off)");
  r.string_list("trusted_proxies", s.trusted_proxies);
  read_forward_auth_sources(r, s);
  for (auto [key, field] : {std::pair{"subject_header", &s.subject_header},
                            {"scopes_header", &s.scopes_header},
                            {"client_id_header", &s.client_id_header},
                            {"organization_header", &s.organization_header},
                            {"source_header", &s.source_header}}) {
    if (r.string(key, *field) &&
        (field->empty() ||
         field->find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") !=
             std::string::npos))
      r.error(key, "expected a header name of letters, digits and '-'");
  }
  r.string("tls_cert_file", s.tls_cert_file);
  r.string("tls_key_file", s.tls_key_file);
  if (s.tls_cert_file.empty() != s.tls_key_file.empty())
    r.error(s.tls_cert_file.empty() ? "tls_cert_file" : "tls_key_file",
            "TLS needs both tls_cert_file and tls_key_file");
  // Unknown [server] keys stay warnings (keys of later gateway releases must not stop an older binary).
  for (const auto& k : r.unread_keys()) out.warnings.push_back("server." + k + ": not used by this build");
}

bool is_header_name(std::string_view name) {
  // RFC 9110 §5.6.2 token characters.
  return !name.empty() && std::all_of(name.begin(), name.end(), [](unsigned char ch) {
    return std::isalnum(ch) ||
           std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(ch)) != std::string_view::npos;
  });
}

// forward_auth_proxy picks the pair each proxy sends; forward_auth_method_header / _uri_header override it.
void read_forward_auth_sources(SectionReader& r, ServerConfig& s) {
  struct Preset {
    std::string_view name, method, uri;
  };
  static constexpr Preset presets[] = {{"nginx", "X-Original-Method", ""},
                                       {"traefik", "X-Forwarded-Method", "X-Forwarded-Uri"},
                                       {"caddy", "X-Forwarded-Method", "X-Forwarded-Uri"},
                                       {"envoy", "", ""}};
  if (r.string("forward_auth_proxy", s.forward_auth_proxy)) {
    const Preset* found = nullptr;
    for (const auto& p : presets)
      if (p.name == s.forward_auth_proxy) found = &p;
    if (!found) {
      r.error("forward_auth_proxy",
              "'" + s.forward_auth_proxy + "' is not one of nginx, traefik, caddy, envoy");
    } else {
      s.forward_auth_method_header = found->method;
      s.forward_auth_uri_header = found->uri;
    }
  }
  for (auto [key, field] : {std::pair{"forward_auth_method_header", &s.forward_auth_method_header},
                            {"forward_auth_uri_header", &s.forward_auth_uri_header}})
    if (r.string(key, *field) && !field->empty() && !is_header_name(*field))
      r.error(key, "'" + *field + "' is not a header name (\"\" = the check request's own)");
}

void load_gateway(const toml::table* t, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  SectionReader r(t, "gateway", "MCPGATE_GATEWAY_", out.errors, env);
  GatewayConfig& g = c.gateway;
  r.number("connect_timeout", g.connect_timeout, 0.1, 300);
  r.number("header_timeout", g.header_timeout, 0.1, 3600);
  r.number("drain_timeout", g.drain_timeout, 0, 3600);
  r.number("sse_keepalive", g.sse_keepalive, 0, 3600);
  r.count("max_streams_per_principal", g.max_streams_per_principal, 0, 1000000);
  r.boolean("session_binding", g.session_binding);
  r.string("session_keys", g.session_keys);  // parsed (and refused naming the key, never its value) by serve
  // Keys of the session table that sealed ids replaced: accepted, with a warning, so that old files load.
  for (const char* retired : {"max_sessions", "max_sessions_per_principal", "session_idle_ttl"})
    if (t && t->contains(retired)) {
      r.retire(retired);
      out.warnings.push_back(std::string("gateway.") + retired +
                             " has no effect any more: session ids are sealed, no session table is kept");
    }
  if (r.string("request_id_header", g.request_id_header) && !is_header_name(g.request_id_header))
    r.error("request_id_header", "expected a header name");
  if (r.string_table("claim_to_headers", g.claim_to_headers)) {
    for (const auto& [claim, header] : g.claim_to_headers)
      if (!is_header_name(header))
        r.error("claim_to_headers." + claim, "'" + header + "' is not a header name");
  }
  if (r.string_list("strip_request_headers", g.strip_request_headers)) {
    for (const auto& name : g.strip_request_headers) {
      const std::string_view base =
          std::string_view(name).substr(0, name.size() - (name.ends_with('*') ? 1 : 0));
      if (!is_header_name(base)) r.error("strip_request_headers", "'" + name + "' is not a header name");
    }
  }
  r.boolean("access_log", g.access_log);
  r.count("inspect_max_bytes", g.inspect_max_bytes, 1024, 64 * 1024 * 1024);
  r.count("list_max_bytes", g.list_max_bytes, 1024, 256 * 1024 * 1024);
  r.boolean("metrics_targets", g.metrics_targets);
  r.finish_strict();
}

void load_admin(const toml::table* t, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  SectionReader r(t, "admin", "MCPGATE_ADMIN_", out.errors, env);
  r.boolean("enabled", c.admin.enabled);
  r.string("listen_address", c.admin.listen_address);
  r.count("port", c.admin.port, 0, 65535);
  r.finish_strict();
}

void load_store(const toml::table* t, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  SectionReader r(t, "store", "MCPGATE_STORE_", out.errors, env);
  StoreConfig& s = c.store;
  if (r.string("backend", s.backend) && s.backend != "env" && s.backend != "sqlite" &&
      s.backend != "postgres")
    r.error("backend", "'" + s.backend + "' is not one of env, sqlite, postgres");
  r.string("path", s.path);
  r.string("url", s.url);
  r.string("key_file", s.key_file);
  r.number("cache_ttl", s.cache_ttl, 0, 86400);
  r.finish_strict();
  if (s.backend == "sqlite" && s.path.empty()) r.error("path", "required with backend = \"sqlite\"");
  if (s.backend == "postgres" && s.url.empty()) r.error("url", "required with backend = \"postgres\"");
}

void load_auth(const toml::table* t, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  SectionReader r(t, "auth", "MCPGATE_AUTH_", out.errors, env);
  r.number("leeway_seconds", c.auth.leeway_seconds, 0, 600);
  r.finish_strict();
}

void load_token_cache(const toml::table* t, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  SectionReader r(t, "token_cache", "MCPGATE_TOKEN_CACHE_", out.errors, env);
  r.count("max_entries", c.token_cache.max_entries, 0, 10'000'000);
  r.number("ttl_seconds", c.token_cache.ttl_seconds, 1, 86400);
  r.finish_strict();
}

void load_jwks(const toml::table* t, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  SectionReader r(t, "jwks", "MCPGATE_JWKS_", out.errors, env);
  JwksConfig& j = c.jwks;
  r.number("default_max_age", j.default_max_age, 1, 7 * 86400);
  r.number("min_max_age", j.min_max_age, 1, 7 * 86400);
  r.number("max_max_age", j.max_max_age, 1, 30 * 86400);
  r.number("unknown_kid_cooldown", j.unknown_kid_cooldown, 0, 86400);
  r.number("max_stale", j.max_stale, 0, 30 * 86400);
  r.number("connect_timeout", j.connect_timeout, 0.1, 60);
  r.number("total_timeout", j.total_timeout, 0.1, 300);
  r.count("max_body_bytes", j.max_body_bytes, 1024, 64 * 1024 * 1024);
  r.number("refresh_ahead", j.refresh_ahead, 0.1, 1);
  r.finish_strict();
  if (j.min_max_age > j.max_max_age) r.error("min_max_age", "must not exceed jwks.max_max_age");
  if (j.connect_timeout > j.total_timeout) r.error("connect_timeout", "must not exceed jwks.total_timeout");
}

void load_stytch(const toml::table* t, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  bool from_env = env && (env("MCPGATE_STYTCH_PROJECT_ID") || env("MCPGATE_STYTCH_DOMAIN"));
  if (!t && !from_env) return;
  SectionReader r(t, "stytch", "MCPGATE_STYTCH_", out.errors, env);
  StytchConfig s;
  if (!r.string("project_id", s.project_id) || s.project_id.empty()) {
    r.error("project_id", "required: the Stytch project id (project-live-... or project-test-...)");
  } else if (has_space(s.project_id) || s.project_id.find('/') != std::string::npos) {
    r.error("project_id", "must not contain spaces, control characters or '/'");
  }
  if (!r.string("domain", s.domain) || s.domain.empty()) {
    r.error("domain", "required: the project domain or custom domain, e.g. https://xyz.customers.stytch.dev");
  } else {
    while (s.domain.size() > 8 && s.domain.back() == '/') s.domain.pop_back();
    std::string authority = config::url_authority(s.domain);
    if (authority.empty() || s.domain.size() != s.domain.find(authority) + authority.size()) {
      r.error("domain", "expected https://HOST with no path, e.g. https://xyz.customers.stytch.dev");
    } else {
      check_fetch_url(r, "domain", s.domain, false);
    }
  }
  r.string_list("audiences", s.audiences);
  r.string_list("allowed_organizations", s.allowed_organizations);
  r.finish_strict();
  c.stytch = std::move(s);
}

void load_issuers(const toml::node* node, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  if (!node) return;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    out.errors.push_back({"issuers", "expected [[issuers]] tables"});
    return;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    SectionReader r((*array)[i].as_table(), "issuers[" + std::to_string(i) + "]", "", out.errors, env);
    IssuerConfig is;
    if (!r.string("issuer", is.issuer) || is.issuer.empty())
      r.error("issuer", "required: the exact 'iss' value");
    r.string("jwks_uri", is.jwks_uri);
    r.string("jwks_file", is.jwks_file);
    r.boolean("allow_insecure_jwks_uri", is.allow_insecure_jwks_uri);
    if (!r.string_list("audiences", is.audiences) || is.audiences.empty()) {
      r.error("audiences", "required: at least one accepted 'aud' value (RFC 8707: your resource URL)");
    }
    if (r.string_list("algorithms", is.algorithms)) {
      if (is.algorithms.empty()) r.error("algorithms", "must name at least one algorithm");
      for (const auto& a : is.algorithms) {
        if (!kAlgorithmNames.count(a)) {
          r.error("algorithms", "'" + a +
                                    "' is not supported (RS256 RS384 RS512 PS256 PS384 PS512 ES256 ES384 "
                                    "EdDSA; HMAC and none are never accepted)");
        }
      }
    }
    r.finish_strict();
    if (!is.jwks_uri.empty() && !is.jwks_file.empty()) {
      r.error("jwks_file", "give jwks_uri or jwks_file, not both");
    } else if (!is.jwks_uri.empty()) {
      check_fetch_url(r, "jwks_uri", is.jwks_uri, is.allow_insecure_jwks_uri);
    } else if (is.jwks_file.empty() && !is.issuer.empty()) {
      // Discovery fetches from the issuer itself (OIDC Discovery §4, RFC 8414 §3).
      check_fetch_url(r, "issuer", is.issuer, is.allow_insecure_jwks_uri);
    }
    c.issuers.push_back(std::move(is));
  }
}

void load_static_tokens(const toml::node* node, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  if (!node) return;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    out.errors.push_back({"static_tokens", "expected [[static_tokens]] tables"});
    return;
  }
  std::set<std::string> names, digests;
  for (std::size_t i = 0; i < array->size(); ++i) {
    SectionReader r((*array)[i].as_table(), "static_tokens[" + std::to_string(i) + "]", "", out.errors, env);
    StaticTokenConfig st;
    if (!r.string("name", st.name) || st.name.empty()) {
      r.error("name", "required: a name for logs and the Principal");
    } else if (!names.insert(st.name).second) {
      r.error("name", "'" + st.name + "' is used by another static token");
    }
    if (!r.string("sha256", st.sha256)) {
      r.error("sha256", "required: the SHA-256 hex digest of the token (mcpgate token new / token hash)");
    } else {
      std::transform(st.sha256.begin(), st.sha256.end(), st.sha256.begin(),
                     [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
      bool hex =
          std::all_of(st.sha256.begin(), st.sha256.end(), [](unsigned char ch) { return std::isxdigit(ch); });
      if (st.sha256.size() != 64 || !hex) {
        r.error("sha256", "expected 64 hex characters (the digest, never the token itself)");
      } else if (!digests.insert(st.sha256).second) {
        r.error("sha256", "the same digest appears in another static token");
      }
    }
    read_scopes(r, st.scopes);
    r.string("subject", st.subject);
    r.unix_time("expires_at", st.expires_at);
    r.finish_strict();
    c.static_tokens.push_back(std::move(st));
  }
}

// A glob of [[routes.rules]]: printable ASCII without spaces (method names and tool names are; resource URIs
// too), so that a rule always means what it shows.
bool is_glob_text(std::string_view g) {
  return std::all_of(g.begin(), g.end(), [](unsigned char ch) { return ch > 0x20 && ch < 0x7F; });
}

void load_call_rules(const toml::node* node, const std::string& route, const EnvironmentLookup& env,
                     RouteConfig& rt, ConfigLoad& out) {
  if (!node) return;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    out.errors.push_back({route + ".rules", "expected [[routes.rules]] tables"});
    return;
  }
  for (std::size_t j = 0; j < array->size(); ++j) {
    SectionReader r((*array)[j].as_table(), route + ".rules[" + std::to_string(j) + "]", "", out.errors, env);
    CallRuleConfig rule;
    if (r.string("name", rule.name) && (rule.name.empty() || !is_glob_text(rule.name)))
      r.error("name", "expected a name without spaces or control characters");
    if (r.string("method", rule.method) && (rule.method.empty() || !is_glob_text(rule.method)))
      r.error("method", "expected a JSON-RPC method or glob such as \"tools/call\" or \"tools/*\"");
    if (r.string("target", rule.target) && (rule.target.empty() || !is_glob_text(rule.target)))
      r.error("target", "expected a tool or prompt name, a resource URI, or a glob of them (no spaces)");
    read_scopes_named(r, "scopes", rule.scopes);
    read_scopes_named(r, "any_scopes", rule.any_scopes);
    r.string_list("organizations", rule.organizations);
    r.string_table("claims", rule.claims);
    r.boolean("deny", rule.deny);
    r.finish_strict();
    if (rule.name.empty()) rule.name = route + ".rules[" + std::to_string(j) + "]";
    const bool asks = !rule.scopes.empty() || !rule.any_scopes.empty() || !rule.organizations.empty() ||
                      !rule.claims.empty();
    if (rule.deny && asks) r.error("deny", "a deny rule refuses everyone: remove its scopes and conditions");
    if (rt.is_public && asks)
      r.error("scopes", "a public route has no token to judge: only deny rules are possible here");
    rt.rules.push_back(std::move(rule));
  }
}

void load_routes(const toml::node* node, const EnvironmentLookup& env, Config& c, ConfigLoad& out) {
  if (!node) return;
  const toml::array* array = node->as_array();
  if (!array || !array->is_array_of_tables()) {
    out.errors.push_back({"routes", "expected [[routes]] tables"});
    return;
  }
  for (std::size_t i = 0; i < array->size(); ++i) {
    SectionReader r((*array)[i].as_table(), "routes[" + std::to_string(i) + "]", "", out.errors, env);
    RouteConfig rt;
    if (!r.string("prefix", rt.prefix) || rt.prefix.empty() || rt.prefix.front() != '/') {
      r.error("prefix", "required: a path prefix starting with '/'");
    } else if (has_space(rt.prefix) || rt.prefix.find("/../") != std::string::npos ||
               rt.prefix.find("/./") != std::string::npos) {
      r.error("prefix", "must be a normalized path (no spaces, no dot segments)");
    }
    if (r.string_list("methods", rt.methods)) {
      for (auto& m : rt.methods) {
        std::transform(m.begin(), m.end(), m.begin(),
                       [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
        bool token =
            !m.empty() && std::all_of(m.begin(), m.end(), [](unsigned char ch) { return std::isalpha(ch); });
        if (!token) r.error("methods", "'" + m + "' is not an HTTP method");
      }
    }
    read_scopes(r, rt.scopes);
    r.boolean("public", rt.is_public);
    if (r.string("upstream", rt.upstream)) {
      const bool http = rt.upstream.rfind("http://", 0) == 0 || rt.upstream.rfind("https://", 0) == 0;
      if (!http || rt.upstream.find_first_of("?# ") != std::string::npos ||
          rt.upstream.find("://") + 3 >= rt.upstream.size())
        r.error("upstream", "expected an http:// or https:// URL such as http://127.0.0.1:3000/mcp");
    }
    if (r.string("upstream_ca_file", rt.upstream_ca_file) && rt.upstream.rfind("https://", 0) != 0)
      r.error("upstream_ca_file", "only meaningful with an https:// upstream");
    if (r.string_table("inject_headers", rt.inject_headers)) {
      for (const auto& [name, value] : rt.inject_headers) {
        if (!is_header_name(name)) r.error("inject_headers." + name, "not a header name");
        if (value.find_first_of("\r\n") != std::string::npos)
          r.error("inject_headers." + name, "must not contain CR or LF");
      }
      if (rt.upstream.empty()) r.error("inject_headers", "only meaningful with an upstream");
    }
    r.boolean("mcp", rt.mcp);
    if (r.string("step_up", rt.step_up) && rt.step_up != "challenge" && rt.step_up != "tool_result")
      r.error("step_up", "expected \"challenge\" (HTTP 403, MCP step-up) or \"tool_result\" (ChatGPT)");
    r.nested("rules");
    const std::string route = "routes[" + std::to_string(i) + "]";
    r.finish_strict();
    if (rt.is_public && !rt.scopes.empty()) r.error("public", "a public route cannot also require scopes");
    load_call_rules((*array)[i].as_table() ? (*array)[i].as_table()->get("rules") : nullptr, route, env, rt,
                    out);
    if (!rt.mcp && !rt.rules.empty()) r.error("rules", "rules judge MCP requests: they need mcp = true");
    c.routes.push_back(std::move(rt));
  }
}

// Every top-level name load_config_text reads; `array` for arrays of tables ([[routes]]).
struct Section {
  std::string_view name;
  bool array;
};
constexpr Section kSections[] = {{"server", false},       {"auth", false},   {"token_cache", false},
                                 {"jwks", false},         {"stytch", false}, {"issuers", true},
                                 {"static_tokens", true}, {"routes", true},  {"gateway", false},
                                 {"admin", false},        {"store", false}};

const toml::table* table_of(const toml::table& root, const char* key, ConfigLoad& out) {
  const toml::node* node = root.get(key);
  if (!node) return nullptr;
  if (!node->is_table()) out.errors.push_back({key, "expected a [" + std::string(key) + "] table"});
  return node->as_table();
}

}  // namespace

EnvironmentLookup process_environment() {
  return [](const std::string& name) -> std::optional<std::string> {
    const char* value = std::getenv(name.c_str());
    if (!value) return std::nullopt;
    return std::string(value);
  };
}

ConfigLoad load_config_text(std::string_view toml_text, const std::string& source,
                            const EnvironmentLookup& env) {
  ConfigLoad out;
  toml::table root;
  try {
    root = toml::parse(toml_text, source);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << "not valid TOML at line " << e.source().begin.line << ", column " << e.source().begin.column
        << ": " << e.description();
    out.errors.push_back({"", msg.str()});
    return out;
  }
  Config c;
  c.source = source;
  load_server(table_of(root, "server", out), env, c, out);
  load_auth(table_of(root, "auth", out), env, c, out);
  load_token_cache(table_of(root, "token_cache", out), env, c, out);
  load_jwks(table_of(root, "jwks", out), env, c, out);
  load_stytch(table_of(root, "stytch", out), env, c, out);
  load_issuers(root.get("issuers"), env, c, out);
  load_static_tokens(root.get("static_tokens"), env, c, out);
  load_routes(root.get("routes"), env, c, out);
  load_gateway(table_of(root, "gateway", out), env, c, out);
  load_admin(table_of(root, "admin", out), env, c, out);
  load_store(table_of(root, "store", out), env, c, out);

  for (const auto& [k, v] : root) {
    std::string name(k.str());
    if (std::none_of(std::begin(kSections), std::end(kSections),
                     [&](const Section& s) { return s.name == name; }))
      out.warnings.push_back(name + ": section not used by this build");
  }
  if (out.errors.empty() && !c.stytch && c.issuers.empty() && c.static_tokens.empty()) {
    out.warnings.push_back(
        "no [stytch], [[issuers]] or [[static_tokens]]: every protected request will be refused");
  }
  if (out.errors.empty()) out.config = std::move(c);
  return out;
}

std::vector<std::string> config_keys() {
  // Every section present (arrays of tables with one empty entry), so that each loader asks for all of its
  // keys; the errors of that empty document do not matter here.
  std::string every_section;
  for (const Section& s : kSections) {
    every_section.append(s.array ? "[[" : "[").append(s.name).append(s.array ? "]]\n" : "]\n");
  }
  every_section += "[[routes.rules]]\n";  // the one nested array of tables
  config::KeyRecording recording;
  load_config_text(every_section, "<config_keys>", [](const std::string&) { return std::nullopt; });
  return recording.keys();
}

ConfigLoad load_config_file(const std::string& path, const EnvironmentLookup& env) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    ConfigLoad out;
    out.errors.push_back({"", "cannot read the configuration file '" + path + "'"});
    return out;
  }
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  return load_config_text(text, path, env);
}

}  // namespace mcpgate
