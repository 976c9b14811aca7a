#include "gateway/headers.hpp"

#include <algorithm>
#include <array>
#include <cstring>
#include <string_view>

#include "http/request_extractor.hpp"

namespace mcpgate::gateway {
namespace {

// One character of a canonical name: ASCII lowercase, '_' read as '-'. Never the locale's tolower.
constexpr char canon(char c) noexcept {
  if (c == '_') return '-';
  return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c;
}

// A field name's canonical form, built on the stack: every name of every request and response goes through
// here, and then compares as plain bytes. (A name longer than the buffer is rare, and allocates.)
class Canonical {
 public:
  explicit Canonical(std::string_view name) {
    if (name.size() <= sizeof buf_) {
      for (std::size_t i = 0; i < name.size(); ++i) buf_[i] = canon(name[i]);
      view_ = std::string_view(buf_, name.size());
    } else {
      long_ = canonical_header_name(name);
      view_ = long_;
    }
  }
  Canonical(const Canonical&) = delete;
  Canonical& operator=(const Canonical&) = delete;
  std::string_view view() const noexcept { return view_; }

 private:
  char buf_[96];
  std::string long_;
  std::string_view view_;
};

// The order of the strip list: by length, then bytes (most comparisons end at the length).
bool shorter_or_less(std::string_view a, std::string_view b) noexcept {
  return a.size() != b.size() ? a.size() < b.size() : a < b;
}

constexpr std::array<std::string_view, 9> kHopByHop = {
    "connection", "keep-alive",         "proxy-connection",   "te", "trailer", "transfer-encoding",
    "upgrade",    "proxy-authenticate", "proxy-authorization"};

bool hop_by_hop(std::string_view canonical) noexcept {
  return std::find(kHopByHop.begin(), kHopByHop.end(), canonical) != kHopByHop.end();
}

std::string_view trim(std::string_view s) noexcept {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// Whether a Connection header of `fields` lists the field named `canonical` (RFC 9110 §7.6.1). Such lists
// are rare and short, so they are read where needed rather than collected.
bool named_by_connection(const HeaderList& fields, std::string_view canonical) {
  for (const auto& [k, v] : fields) {
    if (!same_header_name(k, "connection")) continue;
    std::string_view rest = v;
    while (!rest.empty()) {
      const std::size_t comma = rest.find(',');
      const std::string_view item = trim(rest.substr(0, comma));
      if (!item.empty() && same_header_name(item, canonical)) return true;
      if (comma == std::string_view::npos) break;
      rest.remove_prefix(comma + 1);
    }
  }
  return false;
}

bool has_connection_field(const HeaderList& fields) noexcept {
  return std::any_of(fields.begin(), fields.end(),
                     [](const auto& f) { return same_header_name(f.first, "connection"); });
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
  const std::size_t at = out_.size();
  out_.resize(at + name.size() + value.size() + 4);
  char* p = out_.data() + at;
  std::memcpy(p, name.data(), name.size());
  p += name.size();
  *p++ = ':';
  *p++ = ' ';
  std::memcpy(p, value.data(), value.size());
  p += value.size();
  *p++ = '\r';
  *p = '\n';
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
  // The client's id is the sealed one: the upstream gets its own id back (context.session_id) instead.
  if (config.gateway.session_binding) strip_.push_back("mcp-session-id");
  // Identity headers of other proxies (oauth2-proxy, Authelia, IAPs, ingresses): an upstream written for
  // one of them would trust a client's copy.
  for (const auto& name : config.gateway.strip_request_headers) {
    if (name.ends_with('*'))
      strip_prefixes_.push_back(canonical_header_name(std::string_view(name).substr(0, name.size() - 1)));
    else
      strip_.push_back(canonical_header_name(name));
  }
  std::sort(strip_.begin(), strip_.end(), shorter_or_less);
  strip_.erase(std::unique(strip_.begin(), strip_.end()), strip_.end());
}

bool UpstreamHeaderPlan::stripped(std::string_view canonical) const {
  if (std::binary_search(strip_.begin(), strip_.end(), canonical, shorter_or_less)) return true;
  return std::any_of(strip_prefixes_.begin(), strip_prefixes_.end(),
                     [&](const std::string& prefix) { return canonical.starts_with(prefix); });
}

void UpstreamHeaderPlan::write_request_headers(const HeaderList& client, const RequestContext& context,
                                               FieldSink& out) const {
  const bool has_connection = has_connection_field(client);
  std::string_view forwarded_for, forwarded_proto, forwarded_host, host;
  for (const auto& [name, value] : client) {
    const Canonical canonical(name);
    const std::string_view n = canonical.view();
    // A trusted proxy's own X-Forwarded-* (spelled with '-': an '_' spelling is nobody's standard).
    const bool dashed = name.find('_') == std::string::npos;
    if (dashed && n == "x-forwarded-for") forwarded_for = value;
    if (dashed && n == "x-forwarded-proto") forwarded_proto = value;
    if (dashed && n == "x-forwarded-host") forwarded_host = value;
    if (n == "host") host = value;
    if (stripped(n) || (has_connection && named_by_connection(client, n))) continue;
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
  add(out, "X-Forwarded-Proto",
      context.remote_trusted && !forwarded_proto.empty() ? forwarded_proto : context.scheme);
  add(out, "X-Forwarded-Host", context.remote_trusted && !forwarded_host.empty() ? forwarded_host : host);
  add(out, request_id_header_, context.request_id);
  add(out, "Mcp-Session-Id", context.session_id);

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

HeaderList UpstreamHeaderPlan::request_headers(const HeaderList& client,
                                               const RequestContext& context) const {
  HeaderList out;
  ListSink sink(out);
  write_request_headers(client, context, sink);
  return out;
}

void write_response_headers(const HeaderList& upstream, const HeaderList& ours, FieldSink& out) {
  for (const auto& [name, value] : ours) out.field(name, value);
  const bool has_connection = has_connection_field(upstream);
  for (const auto& [name, value] : upstream) {
    const Canonical canonical(name);
    const std::string_view n = canonical.view();
    if (hop_by_hop(n) || n == "content-length" || (has_connection && named_by_connection(upstream, n)))
      continue;
    bool ours_already = false;  // (a loop, not a lambda: clang 14 cannot capture a structured binding)
    for (const auto& f : ours) ours_already = ours_already || same_header_name(f.first, n);
    if (ours_already) continue;
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
