#include "gateway/headers.hpp"

#include <algorithm>
#include <cctype>

#include "http/request_extractor.hpp"

namespace mcpgate::gateway {
namespace {

const std::set<std::string>& hop_by_hop() {
  static const std::set<std::string> names = {
      "connection", "keep-alive",         "proxy-connection",   "te", "trailer", "transfer-encoding",
      "upgrade",    "proxy-authenticate", "proxy-authorization"};
  return names;
}

// Names listed in the Connection header (RFC 9110 §7.6.1), canonical.
std::set<std::string> connection_options(const HeaderList& headers) {
  std::set<std::string> out;
  for (const auto& [k, v] : headers) {
    if (canonical_header_name(k) != "connection") continue;
    std::size_t start = 0;
    while (start <= v.size()) {
      std::size_t comma = v.find(',', start);
      std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      item.erase(0, item.find_first_not_of(" \t"));
      item.erase(item.find_last_not_of(" \t") + 1);
      if (!item.empty()) out.insert(canonical_header_name(item));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return out;
}

std::string claim_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array() &&
      std::all_of(value.begin(), value.end(), [](const auto& v) { return v.is_string(); })) {
    std::string joined;
    for (const auto& v : value) joined += (joined.empty() ? "" : " ") + v.get<std::string>();
    return joined;
  }
  return value.dump();
}

void add(HeaderList& out, const std::string& name, const std::string& value) {
  if (value.empty() || http::has_forbidden_octet(value)) return;  // a claim with CR/LF never becomes a header
  out.emplace_back(name, value);
}

}  // namespace

std::string canonical_header_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

UpstreamHeaderPlan::UpstreamHeaderPlan(const Config& config, const RouteConfig& route)
    : server_(config.server),
      claim_to_headers_(config.gateway.claim_to_headers),
      request_id_header_(config.gateway.request_id_header) {
  for (const auto& name : hop_by_hop()) strip_.insert(name);
  for (const char* name : {"authorization", "host", "content-length", "x-forwarded-for", "x-forwarded-proto",
                           "x-forwarded-host", "forwarded", "x-real-ip"})
    strip_.insert(name);
  for (const auto* name : {&server_.subject_header, &server_.scopes_header, &server_.client_id_header,
                           &server_.organization_header, &server_.source_header})
    strip_.insert(canonical_header_name(*name));
  for (const auto& [claim, header] : claim_to_headers_) strip_.insert(canonical_header_name(header));
  for (const auto& [header, value] : route.inject_headers) strip_.insert(canonical_header_name(header));
  strip_.insert(canonical_header_name(request_id_header_));
  // Identity headers of other proxies (oauth2-proxy, Authelia, IAPs, ingresses): an upstream written for
  // one of them would trust a client's copy.
  for (const auto& name : config.gateway.strip_request_headers) {
    if (name.ends_with('*'))
      strip_prefixes_.push_back(canonical_header_name(std::string_view(name).substr(0, name.size() - 1)));
    else
      strip_.insert(canonical_header_name(name));
  }
}

bool UpstreamHeaderPlan::stripped(std::string_view canonical) const {
  if (strip_.count(std::string(canonical)) > 0) return true;
  for (const auto& prefix : strip_prefixes_)
    if (canonical.starts_with(prefix)) return true;
  return false;
}

HeaderList UpstreamHeaderPlan::request_headers(const HeaderList& client, const RequestContext& context) const {
  HeaderList out;
  const std::set<std::string> named_by_connection = connection_options(client);
  std::string forwarded_for, forwarded_proto, forwarded_host, host;
  for (const auto& [name, value] : client) {
    const std::string canonical = canonical_header_name(name);
    // A trusted proxy's own X-Forwarded-* (spelled with '-': an '_' spelling is nobody's standard).
    const bool dashed = name.find('_') == std::string::npos;
    if (dashed && canonical == "x-forwarded-for") forwarded_for = value;
    if (dashed && canonical == "x-forwarded-proto") forwarded_proto = value;
    if (dashed && canonical == "x-forwarded-host") forwarded_host = value;
    if (canonical == "host") host = value;
    if (stripped(canonical) || named_by_connection.count(canonical)) continue;
    // The listener's parser already refused these; a plan used elsewhere never writes a broken line either.
    if (name.empty() || http::has_forbidden_octet(name) || http::has_forbidden_octet(value) ||
        name.find_first_of(": ") != std::string::npos)
      continue;
    out.emplace_back(name, value);
  }
  // X-Forwarded-*: extended only when the peer is a trusted proxy; otherwise what we saw ourselves.
  const std::string peer(context.remote_addr);
  add(out, "X-Forwarded-For",
      context.remote_trusted && !forwarded_for.empty() ? forwarded_for + ", " + peer : peer);
  add(out, "X-Forwarded-Proto",
      context.remote_trusted && !forwarded_proto.empty() ? forwarded_proto : std::string(context.scheme));
  add(out, "X-Forwarded-Host", context.remote_trusted && !forwarded_host.empty() ? forwarded_host : host);
  add(out, request_id_header_, std::string(context.request_id));

  if (const Principal* p = context.principal) {
    add(out, server_.subject_header, p->subject);
    std::string scopes;
    for (const auto& s : p->scopes) scopes += (scopes.empty() ? "" : " ") + s;
    add(out, server_.scopes_header, scopes);
    add(out, server_.client_id_header, p->client_id);
    if (p->organization) add(out, server_.organization_header, p->organization->id);
    add(out, server_.source_header, std::string(source_name(p->source)));
    for (const auto& [claim, header] : claim_to_headers_) {
      auto it = p->claims.find(claim);
      if (it != p->claims.end() && !it->is_null()) add(out, header, claim_text(*it));
    }
  }
  for (const auto& [name, value] : context.injected) {
    if (!http::has_forbidden_octet(value)) out.emplace_back(name, value);
  }
  return out;
}

void copy_response_headers(const HeaderList& upstream, HeaderList& res) {
  const std::set<std::string> named_by_connection = connection_options(upstream);
  std::set<std::string> ours;  // set before the upstream answered (CORS from the Guard, X-Request-Id)
  for (const auto& [name, value] : res) ours.insert(canonical_header_name(name));
  for (const auto& [name, value] : upstream) {
    const std::string canonical = canonical_header_name(name);
    if (hop_by_hop().count(canonical) || named_by_connection.count(canonical) ||
        canonical == "content-length" || ours.count(canonical))
      continue;
    if (http::has_forbidden_octet(value)) continue;
    res.emplace_back(name, value);
  }
}

}  // namespace mcpgate::gateway
