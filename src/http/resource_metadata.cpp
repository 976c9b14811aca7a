#include "http/resource_metadata.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "core/ascii.hpp"

namespace mcpgate::http {
namespace {

void add_unique(std::vector<std::string>& v, const std::string& s) {
  if (!s.empty() && std::find(v.begin(), v.end(), s) == v.end()) v.push_back(s);
}

std::string strip_trailing_slashes(std::string path) {
  while (!path.empty() && path.back() == '/') path.pop_back();
  return path;
}

}  // namespace

Result<CanonicalUrl> canonicalize_resource_url(std::string_view url) {
  auto fail = [](const char* why) { return Status{Reason::ConfigInvalid, why}; };
  std::size_t colon = url.find("://");
  if (colon == std::string_view::npos) return fail("not an absolute URL");
  std::string scheme = ascii_lower(url.substr(0, colon));
  if (scheme != "https" && scheme != "http") return fail("the scheme must be https (or http)");
  std::string_view rest = url.substr(colon + 3);
  rest = rest.substr(0, rest.find('#'));  // RFC 8707 §2: no fragment
  if (rest.find('?') != std::string_view::npos)
    return fail("a resource URL must not carry a query (RFC 8707 §2)");
  std::size_t slash = rest.find('/');
  std::string_view authority = rest.substr(0, slash);
  std::string path = slash == std::string_view::npos ? "" : std::string(rest.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos)
    return fail("the URL needs a host (no userinfo)");
  std::string host = ascii_lower(authority);
  // Drop the scheme's default port (RFC 3986 §6.2.3).
  std::string default_port = scheme == "https" ? ":443" : ":80";
  if (host.size() > default_port.size() && host.ends_with(default_port))
    host.resize(host.size() - default_port.size());
  return CanonicalUrl{scheme + "://" + host, strip_trailing_slashes(path)};
}

std::vector<std::string> authorization_servers(const Config& config) {
  std::vector<std::string> out;
  if (config.stytch && !config.stytch->domain.empty()) {
    auto c = canonicalize_resource_url(config.stytch->domain);
    add_unique(out, c.ok() ? c->url() : config.stytch->domain);
  }
  for (const auto& i : config.issuers) add_unique(out, i.issuer);
  return out;
}

Result<ResourceMetadata> ResourceMetadata::create(const Config& config) {
  auto base = canonicalize_resource_url(config.server.public_url);
  if (!base.ok()) return Status{Reason::ConfigInvalid, "server.public_url: " + base.detail};
  ResourceMetadata m;
  m.origin_ = base->origin;
  std::vector<std::string> paths;
  for (const auto& p : config.server.resources) add_unique(paths, strip_trailing_slashes(p));
  if (config.server.resources.empty()) paths.push_back(base->path);

  if (!config.server.scopes_supported.empty()) {
    m.scopes_ = config.server.scopes_supported;
  } else {
    for (const auto& r : config.routes) {
      for (const auto& s : r.scopes) add_unique(m.scopes_, s);
      for (const auto& rule : r.rules) {  // what a step-up may ask for is supported too
        for (const auto& s : rule.scopes) add_unique(m.scopes_, s);
        for (const auto& s : rule.any_scopes) add_unique(m.scopes_, s);
      }
    }
  }
  auto servers = authorization_servers(config);
  if (servers.empty()) {
    // RFC 9728 §2 / MCP authorization: a document MUST name at least one authorization server. Without one,
    // only static tokens can work: serve no document rather than an invalid one.
    if (config.static_tokens.empty()) {
      return Status{Reason::ConfigInvalid,
                    "server: no authorization server to advertise and no static token "
                    "(configure [stytch], [[issuers]] or [[static_tokens]])"};
    }
    m.advertised_ = false;
  }
  for (const auto& path : paths) {
    ProtectedResource r;
    r.path = path;
    r.url = m.origin_ + path;
    r.metadata_path = std::string(kProtectedResourceWellKnown) + path;
    r.metadata_url = m.advertised_ ? m.origin_ + r.metadata_path : std::string();
    nlohmann::ordered_json doc;
    doc["resource"] = r.url;
    doc["authorization_servers"] = servers;
    if (!m.scopes_.empty()) doc["scopes_supported"] = m.scopes_;
    doc["bearer_methods_supported"] = {"header"};  // RFC 6750 §2.1 only: query and body tokens are refused
    if (!config.server.resource_name.empty()) doc["resource_name"] = config.server.resource_name;
    if (!config.server.resource_documentation.empty())
      doc["resource_documentation"] = config.server.resource_documentation;
    r.json = doc.dump();
    m.resources_.push_back(std::move(r));
  }
  if (!config.server.primary_resource.empty()) {
    std::string wanted = strip_trailing_slashes(config.server.primary_resource);
    auto it = std::find_if(m.resources_.begin(), m.resources_.end(),
                           [&](const auto& r) { return r.path == wanted; });
    if (it == m.resources_.end())
      return Status{Reason::ConfigInvalid,
                    "server.primary_resource: '" + wanted + "' is not one of server.resources"};
    m.primary_ = static_cast<std::size_t>(it - m.resources_.begin());
  }
  return m;
}

const ProtectedResource* ResourceMetadata::document_at(std::string_view path) const noexcept {
  if (!advertised_) return nullptr;
  if (path == kProtectedResourceWellKnown) return &primary();
  for (const auto& r : resources_)
    if (path == r.metadata_path) return &r;
  return nullptr;
}

const ProtectedResource& ResourceMetadata::resource_for(std::string_view path) const noexcept {
  const ProtectedResource* best = nullptr;
  for (const auto& r : resources_) {
    bool under = r.path.empty() || path == r.path || (path.starts_with(r.path) && path[r.path.size()] == '/');
    if (under && (!best || r.path.size() > best->path.size())) best = &r;
  }
  return best ? *best : primary();
}

std::vector<std::string> advertised_resource_urls(const Config& config) {
  std::vector<std::string> out;
  auto m = ResourceMetadata::create(config);
  if (!m.ok()) return out;
  for (const auto& r : m->resources()) add_unique(out, r.url);
  return out;
}

}  // namespace mcpgate::http
