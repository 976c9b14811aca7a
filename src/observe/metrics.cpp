#include "observe/metrics.hpp"

#include <charconv>
#include <cmath>

namespace mcpgate::observe {
namespace {

constexpr std::string_view kOther = "other";

void append_help_type(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
}

// name{a="x",b="y"} value\n  (labels.size() == values.size(); extra is appended last, e.g. le="0.5")
template <std::size_t N>
void append_sample(std::string& out, std::string_view name, const std::array<std::string_view, N>& keys,
                   const std::array<std::string, N>& values, std::string_view value,
                   std::string_view extra_key = {}, std::string_view extra_value = {}) {
  out.append(name);
  if (N > 0 || !extra_key.empty()) {
    out.push_back('{');
    bool first = true;
    for (std::size_t i = 0; i < N; ++i) {
      if (!first) out.push_back(',');
      first = false;
      out.append(keys[i]).append("=\"").append(escape_label_value(values[i])).append("\"");
    }
    if (!extra_key.empty()) {
      if (!first) out.push_back(',');
      out.append(extra_key).append("=\"").append(escape_label_value(extra_value)).append("\"");
    }
    out.push_back('}');
  }
  out.push_back(' ');
  out.append(value).push_back('\n');
}

std::string integer(std::uint64_t v) {
  return std::to_string(v);
}

// A counter family: HELP and TYPE, then each series of `store` (its map's order: stable across scrapes).
template <std::size_t N, class Store>
void append_counter(std::string& out, std::string_view name, std::string_view help,
                    const std::array<std::string_view, N>& keys, const Store& store) {
  append_help_type(out, name, "counter", help);
  std::lock_guard lock(store.mutex);
  for (const auto& [labels, value] : store.series) append_sample<N>(out, name, keys, labels, integer(value));
}

// mcpgate_upstream_response_seconds: per route, its cumulative buckets (le="..."), then _sum and _count.
template <class Store>
void append_latency_histogram(std::string& out, const Store& store) {
  append_help_type(out, "mcpgate_upstream_response_seconds", "histogram",
                   "Time from forwarding a request to the upstream's response headers, in seconds.");
  std::lock_guard lock(store.mutex);
  for (const auto& [labels, h] : store.series) {
    std::uint64_t cumulative = 0;
    for (std::size_t i = 0; i < h.buckets.size(); ++i) {
      cumulative += h.buckets[i];
      const std::string le =
          i < kUpstreamLatencyBuckets.size() ? format_sample_value(kUpstreamLatencyBuckets[i]) : "+Inf";
      append_sample<1>(out, "mcpgate_upstream_response_seconds_bucket", {"route"}, labels,
                       integer(cumulative), "le", le);
    }
    append_sample<1>(out, "mcpgate_upstream_response_seconds_sum", {"route"}, labels,
                     format_sample_value(h.sum));
    append_sample<1>(out, "mcpgate_upstream_response_seconds_count", {"route"}, labels, integer(h.count));
  }
}

// The families pulled from the snapshot source: the issuers' key set fetches and the verified-token cache.
void append_snapshot(std::string& out, const std::vector<Metrics::IssuerSnapshot>& issuers,
                     const Metrics::CacheSnapshot& cache) {
  append_help_type(out, "mcpgate_jwks_fetches_total", "counter", "JWKS fetches attempted, by issuer.");
  for (const auto& i : issuers)
    append_sample<1>(out, "mcpgate_jwks_fetches_total", {"issuer"}, {i.issuer}, integer(i.fetches));
  append_help_type(out, "mcpgate_jwks_fetch_failures_total", "counter",
                   "JWKS fetches that failed, by issuer.");
  for (const auto& i : issuers)
    append_sample<1>(out, "mcpgate_jwks_fetch_failures_total", {"issuer"}, {i.issuer}, integer(i.failures));
  append_help_type(out, "mcpgate_jwks_key_set_age_seconds", "gauge",
                   "Seconds since the issuer's key set in use was fetched (absent until it has keys).");
  for (const auto& i : issuers)
    if (i.has_keys && i.key_set_age_seconds >= 0)
      append_sample<1>(out, "mcpgate_jwks_key_set_age_seconds", {"issuer"}, {i.issuer},
                       format_sample_value(i.key_set_age_seconds));
  append_help_type(out, "mcpgate_token_cache_hits_total", "counter", "Verified-token cache hits.");
  append_sample<0>(out, "mcpgate_token_cache_hits_total", {}, {}, integer(cache.hits));
  append_help_type(out, "mcpgate_token_cache_misses_total", "counter", "Verified-token cache misses.");
  append_sample<0>(out, "mcpgate_token_cache_misses_total", {}, {}, integer(cache.misses));
}

}  // namespace

std::string escape_label_value(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
        break;
      case '\n':
        out += "\\n";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string format_sample_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  if (ec != std::errc()) return "NaN";
  return std::string(buf, end);
}

Metrics::Metrics() : Metrics(kDefaultMaxLabelSets) {}
Metrics::Metrics(std::size_t max_label_sets) : max_label_sets_(max_label_sets < 1 ? 1 : max_label_sets) {}

template <std::size_t N, class V>
V& Metrics::slot(Store<N, V>& store, std::array<std::string_view, N> labels) {
  if (auto it = store.series.find(labels); it != store.series.end()) return it->second;
  if (store.series.size() - store.folded >= max_label_sets_) {
    // Over the cap: fold the first label (route, or outcome). An attacker-controlled value that reached a
    // label must not grow the scrape (or this map) without bound.
    labels[0] = kOther;
    if (auto it = store.series.find(labels); it != store.series.end()) return it->second;
    if (store.folded >= kOverflowReserve) {
      labels.fill(kOther);
      if (auto it = store.series.find(labels); it != store.series.end()) return it->second;
    }
    ++store.folded;
  }
  std::array<std::string, N> key;
  for (std::size_t i = 0; i < N; ++i) key[i] = std::string(labels[i]);
  return store.series.emplace(std::move(key), V{}).first->second;
}

void Metrics::count_request(std::string_view route, std::string_view method, int status) {
  char buf[16];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, status);
  std::string_view status_text(buf, ec == std::errc() ? static_cast<std::size_t>(end - buf) : 0);
  std::lock_guard lock(requests_.mutex);
  ++slot<3>(requests_, {route, method, status_text});
}

void Metrics::count_auth(std::string_view outcome) {
  std::lock_guard lock(auth_.mutex);
  ++slot<1>(auth_, {outcome});
}

namespace {
// The methods of the MCP specification (2025-03-26 to 2026-07-28): the only values of the method label.
constexpr std::string_view kMcpMethods[] = {"initialize",
                                            "ping",
                                            "tools/list",
                                            "tools/call",
                                            "prompts/list",
                                            "prompts/get",
                                            "resources/list",
                                            "resources/templates/list",
                                            "resources/read",
                                            "resources/subscribe",
                                            "resources/unsubscribe",
                                            "completion/complete",
                                            "logging/setLevel",
                                            "subscriptions/listen",
                                            "sampling/createMessage",
                                            "elicitation/create",
                                            "roots/list",
                                            "tasks/get",
                                            "tasks/result",
                                            "tasks/list",
                                            "tasks/cancel",
                                            "notifications/initialized",
                                            "notifications/cancelled",
                                            "notifications/progress",
                                            "notifications/roots/list_changed",
                                            "batch"};

std::string_view mcp_method_label(std::string_view method) {
  for (std::string_view m : kMcpMethods)
    if (m == method) return m;
  return method.empty() ? std::string_view("none") : std::string_view("other");
}
}  // namespace

void Metrics::count_mcp(std::string_view route, std::string_view method, std::string_view target,
                        std::string_view decision) {
  std::lock_guard lock(mcp_.mutex);
  ++slot<4>(mcp_, {route, mcp_method_label(method), target, decision});
}

void Metrics::count_upstream_error(std::string_view route, std::string_view kind) {
  std::lock_guard lock(upstream_errors_.mutex);
  ++slot<2>(upstream_errors_, {route, kind});
}

void Metrics::observe_upstream_latency(std::string_view route, double seconds) {
  if (std::isnan(seconds)) return;  // a NaN would poison _sum for the process's whole life
  if (seconds < 0) seconds = 0;
  std::size_t bucket = 0;
  while (bucket < kUpstreamLatencyBuckets.size() && seconds > kUpstreamLatencyBuckets[bucket]) ++bucket;
  std::lock_guard lock(upstream_latency_.mutex);
  HistogramValue& h = slot<1>(upstream_latency_, {route});
  ++h.buckets[bucket];
  h.sum += seconds;
  ++h.count;
}

void Metrics::add_in_flight(int delta) {
  in_flight_.fetch_add(delta, std::memory_order_relaxed);
}
void Metrics::add_open_streams(int delta) {
  open_streams_.fetch_add(delta, std::memory_order_relaxed);
}

void Metrics::set_snapshot_source(SnapshotSource source) {
  std::lock_guard lock(source_mutex_);
  source_ = std::move(source);
}

std::size_t Metrics::label_sets(std::string_view family) const {
  auto size_of = [](const auto& store) {
    std::lock_guard lock(store.mutex);
    return store.series.size();
  };
  if (family == "mcpgate_requests_total") return size_of(requests_);
  if (family == "mcpgate_auth_total") return size_of(auth_);
  if (family == "mcpgate_upstream_errors_total") return size_of(upstream_errors_);
  if (family == "mcpgate_mcp_requests_total") return size_of(mcp_);
  if (family == "mcpgate_upstream_response_seconds") return size_of(upstream_latency_);
  return 0;
}

std::string Metrics::render() const {
  std::string out;
  out.reserve(4096);
  append_counter<3>(out, "mcpgate_requests_total",
                    "Requests answered, by configured route, method and status.",
                    {"route", "method", "status"}, requests_);
  append_counter<1>(out, "mcpgate_auth_total",
                    "Authentication outcomes: ok_jwt, ok_static, ok_public, or the refusal reason.",
                    {"outcome"}, auth_);
  append_counter<4>(out, "mcpgate_mcp_requests_total",
                    "MCP requests judged, by route, JSON-RPC method, target (when enabled) and decision.",
                    {"route", "method", "target", "decision"}, mcp_);
  append_counter<2>(out, "mcpgate_upstream_errors_total",
                    "Upstream requests that failed before a response, by route and kind.", {"route", "kind"},
                    upstream_errors_);
  append_latency_histogram(out, upstream_latency_);

  append_help_type(out, "mcpgate_in_flight_requests", "gauge", "Requests being handled now.");
  append_sample<0>(out, "mcpgate_in_flight_requests", {}, {}, std::to_string(in_flight_.load()));
  append_help_type(out, "mcpgate_open_streams", "gauge", "Streaming (SSE) responses open now.");
  append_sample<0>(out, "mcpgate_open_streams", {}, {}, std::to_string(open_streams_.load()));

  // Pulled outside every lock above: the source takes the authenticator's own locks.
  SnapshotSource source;
  {
    std::lock_guard lock(source_mutex_);
    source = source_;
  }
  std::vector<IssuerSnapshot> issuers;
  CacheSnapshot cache;
  if (source) source(issuers, cache);
  if (issuers.size() > max_label_sets_) issuers.resize(max_label_sets_);  // issuers come from configuration
  append_snapshot(out, issuers, cache);
  return out;
}

}  // namespace mcpgate::observe
