#include "gateway/headers.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "http/request_extractor.hpp"

namespace mcpgate::gateway {
namespace {

// One character of a canonical name: ASCII lowercase, '_' read as '-'. Never the locale's tolower.
constexpr char canon(char c) noexcept {
  if (c == '_') return '-';
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// Orders a name (any spelling) against a canonical one, as their canonical forms compare.
int compare_canonical(std::string_view name, std::string_view canonical) noexcept {
  const std::size_t n = std::min(name.size(), canonical.size());
  for (std::size_t i = 0; i < n; ++i) {
    const char a = canon(name[i]), b = canonical[i];
    if (a != b) return static_cast<unsigned char>(a) < static_cast<unsigned char>(b) ? -1 : 1;
  }
  return name.size() == canonical.size() ? 0 : name.size() < canonical.size() ? -1 : 1;
}

bool starts_with_canonical(std::string_view name, std::string_view canonical_prefix) noexcept {
  return name.size() >= canonical_prefix.size() &&
         compare_canonical(name.substr(0, canonical_prefix.size()), canonical_prefix) == 0;
}

constexpr std::array<std::string_view, 9> kHopByHop = {
    "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding",
    "upgrade",    "proxy-authenticate", "proxy-authorization"};

bool hop_by_hop(std::string_view name) noexcept {
  return std::any_of(kHopByHop.begin(), kHopByHop.end(),
                     [&](std::string_view h) { return compare_canonical(name, h) == 0; });
}

std::string_view trim(std::string_view s) noexcept {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Whether a Connection header of `fields` lists `name` (RFC 9110 §7.6.1). Such lists are rare and short,
// so they are read where needed rather than collected.
bool named_by_connection(const HeaderList& fields, std::string_view name) {
  for (const auto& [k, v] : fields) {
    if (compare_canonical(k, "connection") != 0) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty() && same_header_name(item, name)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool has_connection_field(const HeaderList& fields) noexcept {
  return std::any_of(fields.begin(), fields.end(),
                     [](const auto& f) { return compare_canonical(f.first, "connection") == 0; });
}

std::string claim_text(const nlohmann::json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_array() &&
      std::all_of(value.begin(), value.end(), [](const auto& v) { return v.is_string(); })) {
    std::string joined;
    for (const auto& v : value) {
      if (!joined.empty()) joined += ' ';
      joined += v.get_ref<const std::string&>();
    }
    return joined;
  }
  return value.dump();
}

void add(FieldSink& out, std::string_view name, std::string_view value) {
  if (value.empty() || http::has_forbidden_octet(value)) return;  // a claim with CR/LF never becomes a header
  out.field(name, value);
}

class ListSink final : public FieldSink {
 public:
  explicit ListSink(HeaderList& out) : out_(out) {}
  void field(std::string_view name, std::string_view value) override { out_.emplace_back(name, value); }

 private:
  HeaderList& out_;
};

}  // namespace

std::string canonical_header_name(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = canon(c);
  return out;
}

bool same_header_name(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (canon(a[i]) != canon(b[i])) return false;
  return true;
}

void HeadWriter::field(std::string_view name, std::string_view value) {
  out_.append(name).append(": ").append(value).append("\r\n");
}

UpstreamHeaderPlan::UpstreamHeaderPlan(const Config& config, const RouteConfig& route)
    : server_(config.server),
      claim_to_headers_(config.gateway.claim_to_headers),
      request_id_header_(config.gateway.request_id_header) {
  for (std::string_view name : kHopByHop) strip_.emplace_back(name);
  for (const char* name : {"authorization", "host", "content-length", "x-forwarded-for", "x-forwarded-proto",
                           "x-forwarded-host", "forwarded", "x-real-ip"})
    strip_.emplace_back(name);
  for (const auto* name : {&server_.subject_header, &server_.scopes_header, &server_.client_id_header,
                           &server_.organization_header, &server_.source_header})
    strip_.push_back(canonical_header_name(*name));
  for (const auto& [claim, header] : claim_to_headers_) strip_.push_back(canonical_header_name(header));
  for (const auto& [header, value] : route.inject_headers) strip_.push_back(canonical_header_name(header));
  strip_.push_back(canonical_header_name(request_id_header_));
  // Identity headers of other proxies (oauth2-proxy, Authelia, IAPs, ingresses): an upstream written for
  // one of them would trust a client's copy.
  for (const auto& name : config.gateway.strip_request_headers) {
    if (name.ends_with('*'))
      strip_prefixes_.push_back(canonical_header_name(std::string_view(name).substr(0, name.size() - 1)));
    else
      strip_.push_back(canonical_header_name(name));
  }
  std::sort(strip_.begin(), strip_.end());
  strip_.erase(std::unique(strip_.begin(), strip_.end()), strip_.end());
}

bool UpstreamHeaderPlan::stripped(std::string_view name) const {
  const auto it = std::lower_bound(strip_.begin(), strip_.end(), name, [](const std::string& s, std::string_view n) {
    return compare_canonical(n, s) > 0;  // s < n
  });
  if (it != strip_.end() && compare_canonical(name, *it) == 0) return true;
  return std::any_of(strip_prefixes_.begin(), strip_prefixes_.end(),
                     [&](const std::string& prefix) { return starts_with_canonical(name, prefix); });
}

void UpstreamHeaderPlan::write_request_headers(const HeaderList& client, const RequestContext& context,
                                               FieldSink& out) const {
  const bool has_connection = has_connection_field(client);
  std::string_view forwarded_for, forwarded_proto, forwarded_host, host;
  for (const auto& [name, value] : client) {
    // A trusted proxy's own X-Forwarded-* (spelled with '-': an '_' spelling is nobody's standard).
    const bool dashed = name.find('_') == std::string::npos;
    if (dashed && compare_canonical(name, "x-forwarded-for") == 0) forwarded_for = value;
    if (dashed && compare_canonical(name, "x-forwarded-proto") == 0) forwarded_proto = value;
    if (dashed && compare_canonical(name, "x-forwarded-host") == 0) forwarded_host = value;
    if (compare_canonical(name, "host") == 0) host = value;
    if (stripped(name) || (has_connection && named_by_connection(client, name))) continue;
    // The listener's parser already refused these; a plan used elsewhere never writes a broken line either.
    if (name.empty() || http::has_forbidden_octet(name) || http::has_forbidden_octet(value) ||
        name.find_first_of(": ") != std::string::npos)
      continue;
    out.field(name, value);
  }
  // X-Forwarded-*: extended only when the peer is a trusted proxy; otherwise what we saw ourselves.
  if (context.remote_trusted && !forwarded_for.empty()) {
    std::string chain;
    chain.append(forwarded_for).append(", ").append(context.remote_addr);
    add(out, "X-Forwarded-For", chain);
  } else {
    add(out, "X-Forwarded-For", context.remote_addr);
  }
  add(out, "X-Forwarded-Proto", context.remote_trusted && !forwarded_proto.empty() ? forwarded_proto : context.scheme);
  add(out, "X-Forwarded-Host", context.remote_trusted && !forwarded_host.empty() ? forwarded_host : host);
  add(out, request_id_header_, context.request_id);

  if (const Principal* p = context.principal) {
    add(out, server_.subject_header, p->subject);
    std::string scopes;
    for (const auto& s : p->scopes) {
      if (!scopes.empty()) scopes += ' ';
      scopes += s;
    }
    add(out, server_.scopes_header, scopes);
    add(out, server_.client_id_header, p->client_id);
    if (p->organization) add(out, server_.organization_header, p->organization->id);
    add(out, server_.source_header, source_name(p->source));
    for (const auto& [claim, header] : claim_to_headers_) {
      auto it = p->claims.find(claim);
      if (it != p->claims.end() && !it->is_null()) add(out, header, claim_text(*it));
    }
  }
  for (const auto& [name, value] : context.injected) {
    if (!http::has_forbidden_octet(value)) out.field(name, value);
  }
}

HeaderList UpstreamHeaderPlan::request_headers(const HeaderList& client, const RequestContext& context) const {
  HeaderList out;
  ListSink sink(out);
  write_request_headers(client, context, sink);
  return out;
}

void write_response_headers(const HeaderList& upstream, const HeaderList& ours, FieldSink& out) {
  for (const auto& [name, value] : ours) out.field(name, value);
  const bool has_connection = has_connection_field(upstream);
  for (const auto& [name, value] : upstream) {
    if (hop_by_hop(name) || compare_canonical(name, "content-length") == 0 ||
        (has_connection && named_by_connection(upstream, name)))
      continue;
    if (std::any_of(ours.begin(), ours.end(), [&](const auto& f) { return same_header_name(f.first, name); }))
      continue;
    if (http::has_forbidden_octet(value)) continue;
    out.field(name, value);
  }
}

void copy_response_headers(const HeaderList& upstream, HeaderList& ours) {
  HeaderList all;
  ListSink sink(all);
  write_response_headers(upstream, ours, sink);
  ours = std::move(all);
}

}  // namespace mcpgate::gateway
