// The metadata documents: protected-resource metadata (RFC 9728) at both well-known paths, and the
// authorization server's metadata (RFC 8414) at its issuer and on the MCP origin.
#include <algorithm>

#include "cli/doctor_checks.hpp"

namespace mcpgate::cli {
namespace {

const httplib::Headers kAcceptJson = {{"Accept", "application/json"}};

bool lists(const nlohmann::json& doc, const char* member, std::string_view value) {
  auto it = doc.find(member);
  if (it == doc.end() || !it->is_array()) return false;
  return std::any_of(it->begin(), it->end(), [&](const auto& v) { return v.is_string() && v == value; });
}

bool has_string(const nlohmann::json& doc, const char* member) {
  auto it = doc.find(member);
  return it != doc.end() && it->is_string() && !it->get<std::string>().empty();
}

// RFC 9728 §3.3 / MCP: at least one authorization server, named by its issuer URL.
bool check_authorization_servers(const nlohmann::json& doc, const std::string& where, ClientSet who,
                                 CheckResult& r) {
  auto servers = doc.find("authorization_servers");
  if (servers != doc.end() && servers->is_array() && !servers->empty() &&
      std::all_of(servers->begin(), servers->end(), [](const auto& s) { return s.is_string(); }))
    return true;
  r.fail(
      who, where + ": `authorization_servers` is missing or empty",
      "List the authorization server's issuer URL in `authorization_servers` (mcpgate: configure [stytch] or "
      "[[issuers]]).");
  return false;
}

// The RFC 8414 §3.1 location (well-known inserted before the issuer's path), then OIDC Discovery's.
std::vector<std::string> metadata_urls(const std::string& issuer) {
  std::vector<std::string> urls;
  if (auto as = TargetUrl::parse(issuer)) urls.push_back(as->well_known("oauth-authorization-server"));
  std::string base = issuer;
  while (!base.empty() && base.back() == '/') base.pop_back();
  urls.push_back(base + "/.well-known/openid-configuration");
  return urls;
}

void check_as_endpoints(const nlohmann::json& doc, const std::string& issuer, CheckResult& r) {
  if (!has_string(doc, "issuer") || doc["issuer"] != issuer)
    r.fail(kAllClients,
           "the metadata's `issuer` is " + (doc.contains("issuer") ? doc["issuer"].dump() : "missing") +
               ", not \"" + issuer + "\" (RFC 8414 §3.3)",
           "Make `authorization_servers` name exactly the issuer the authorization server publishes.");
  for (const char* member : {"authorization_endpoint", "token_endpoint"})
    if (!has_string(doc, member))
      r.fail(kAllClients, std::string("no `") + member + "`",
             "Publish complete RFC 8414 metadata (authorization_endpoint and token_endpoint).");
  if (!lists(doc, "code_challenge_methods_supported", "S256"))
    r.fail(
        kAllClients,
        "`code_challenge_methods_supported` does not list S256: clients refuse an AS without PKCE",
        "Enable PKCE with S256 at the authorization server and list it in code_challenge_methods_supported.");
}

void check_as_client_support(const nlohmann::json& doc, CheckResult& r) {
  const auto cimd = doc.find("client_id_metadata_document_supported");
  if (!has_string(doc, "registration_endpoint") && !(cimd != doc.end() && *cimd == true))
    r.findings.push_back(
        {"neither `registration_endpoint` (DCR) nor `client_id_metadata_document_supported: "
         "true` (CIMD): Claude cannot register itself",
         "Enable Dynamic Client Registration (Stytch: Connected Apps, allow DCR) or Client ID "
         "Metadata Documents at the authorization server.",
         kClaude, kChatGpt | kClaudeCode});
  if (!lists(doc, "token_endpoint_auth_methods_supported", "none"))
    r.findings.push_back(
        {"`token_endpoint_auth_methods_supported` does not list \"none\": public clients cannot "
         "redeem their code",
         "Allow public clients (token_endpoint_auth_method none, with PKCE) at the authorization "
         "server.",
         kClaude | kClaudeCode, kChatGpt});
  if (!doc.contains("scopes_supported"))
    r.warn(kAllClients, "no `scopes_supported`: clients that take their scopes from it will ask for none",
           "Publish scopes_supported in the authorization server's metadata.");
}

}  // namespace

CheckResult check_prm_path(const TargetUrl& url, const Probe& probe, Discovery& found) {
  CheckResult r{"prm.path", kAllClients, "", {}};
  const std::string where = url.well_known("oauth-protected-resource");
  found.prm_path = probe.get(where, kAcceptJson);
  found.prm_path_doc = expect_json_document(
      found.prm_path, r, kAllClients,
      "Serve RFC 9728 metadata at " + where +
          " (mcpgate does for public_url's path; route /.well-known/ to mcpgate behind a proxy).");
  if (!found.prm_path_doc) return r;
  const nlohmann::json& doc = *found.prm_path_doc;
  if (!has_string(doc, "resource")) {
    r.fail(kAllClients, where + ": no `resource` (RFC 9728 §2: REQUIRED)",
           "Publish `resource` equal to " + url.text + ".");
  } else if (auto differs = describe_resource_mismatch(doc["resource"].get<std::string>(), url.text);
             !differs.empty()) {
    r.fail(kAllClients, differs + " (RFC 9728 §3.3: clients compare them exactly)",
           "Make `resource` exactly the URL users type (mcpgate: [server] public_url = \"" + url.text +
               "\"), or have them type " + doc["resource"].get<std::string>() + ".");
  }
  check_authorization_servers(doc, where, kAllClients, r);
  r.verified = where + ": resource " + url.text + ", authorization_servers " +
               (doc.contains("authorization_servers") ? doc["authorization_servers"].dump() : "");
  return r;
}

CheckResult check_prm_root(const TargetUrl& url, const Probe& probe, Discovery& found) {
  CheckResult r{"prm.root", kChatGpt | kClaudeCode, "", {}};
  const std::string where = url.origin() + "/.well-known/oauth-protected-resource";
  found.prm_root = probe.get(where, kAcceptJson);
  found.prm_root_doc = expect_json_document(
      found.prm_root, r, r.clients,
      "Serve the primary resource's metadata at " + where + " too (mcpgate does; ChatGPT reads this one).");
  if (!found.prm_root_doc) return r;
  check_authorization_servers(*found.prm_root_doc, where, r.clients, r);
  r.verified = where + ": 200 JSON, authorization_servers " +
               found.prm_root_doc->value("authorization_servers", nlohmann::json::array()).dump();
  return r;
}

CheckResult check_as_metadata(const Probe& probe, const Discovery& found) {
  CheckResult r{"as.metadata", kAllClients, "", {}};
  const std::string issuer = found.authorization_server();
  if (issuer.empty()) {
    r.fail(kAllClients, "no protected-resource metadata named an authorization server to check",
           "Fix prm.path first: its authorization_servers names the server clients log in at.");
    return r;
  }
  std::optional<nlohmann::json> doc;
  std::string tried, used;
  for (const auto& where : metadata_urls(issuer)) {
    Exchange answer = probe.get(where, kAcceptJson);
    if (answer.answered() && answer.status == 200 && answer.is_json() && !answer.is_html())
      doc = answer.json_object();
    if (doc) {
      used = where;
      break;
    }
    tried += (tried.empty() ? "" : "; ") + where + " answered " + answer.summary();
  }
  if (!doc) {
    r.fail(kAllClients, "no authorization-server metadata for " + issuer + ": " + tried,
           "Serve RFC 8414 metadata at " + metadata_urls(issuer).front() + ".");
    return r;
  }
  check_as_endpoints(*doc, issuer, r);
  check_as_client_support(*doc, r);
  r.verified = used + ": issuer, endpoints, S256, " +
               std::string(has_string(*doc, "registration_endpoint") ? "DCR" : "CIMD") +
               ", public clients, scopes_supported";
  return r;
}

CheckResult check_as_on_mcp_origin(const TargetUrl& url, const Probe& probe) {
  CheckResult r{"as.on_mcp_origin", kChatGpt | kClaude, "", {}};
  std::vector<std::string> where = {url.origin() + "/.well-known/oauth-authorization-server"};
  if (url.well_known("oauth-authorization-server") != where.front())
    where.push_back(url.well_known("oauth-authorization-server"));
  std::string served, missing;
  for (const auto& w : where) {
    Exchange answer = probe.get(w, kAcceptJson);
    const bool ok = answer.answered() && answer.status == 200 && answer.is_json() && !answer.is_html() &&
                    answer.json_object();
    if (ok)
      served += (served.empty() ? "" : ", ") + w;
    else
      missing += (missing.empty() ? "" : "; ") + w + " answered " + answer.summary();
  }
  if (served.empty()) {
    r.findings.push_back(
        {"no authorization-server metadata on the MCP origin: " + missing,
         "Serve the authorization server's metadata on the MCP origin (mcpgate: [server] "
         "mirror_authorization_server = true with [stytch]; route /.well-known/ to mcpgate).",
         kChatGpt, kClaude});
    return r;
  }
  r.verified = "200 JSON at " + served + (missing.empty() ? "" : " (not at " + missing + ")");
  return r;
}

}  // namespace mcpgate::cli
