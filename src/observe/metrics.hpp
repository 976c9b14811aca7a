// metrics.hpp — the gateway's Prometheus registry: counters, gauges and one histogram, rendered in the text
// exposition format 0.0.4 for the admin listener's GET /metrics.
//
//   mcpgate::observe::Metrics metrics;
//   metrics.add_in_flight(+1);
//   metrics.count_auth("ok_jwt");                          // or mcpgate::reason_name(reason)
//   metrics.observe_upstream_latency("/mcp", 0.042);       // seconds to upstream response headers
//   metrics.count_request("/mcp", "POST", 200);            // route = the configured prefix, never a raw path
//   metrics.add_in_flight(-1);
//   metrics.set_snapshot_source([&](auto& issuers, auto& cache) { authenticator.snapshot(issuers, cache); });
//   std::string body = metrics.render();                   // HELP + TYPE for every family, stable order
//
// Thread-safe; the hot path is one mutex per family and a lookup in a small ordered map (the order is also
// the render order, so successive scrapes list series identically). Label cardinality is bounded even if a
// caller passes something unbounded: each family keeps at most `max_label_sets` distinct label sets; past
// that a new set is folded into route="other" (the first label: route, or outcome), and once
// kOverflowReserve folded sets exist too, every label of a further new set becomes "other". The
// JWKS and token-cache families are not stored here: they are pulled from the snapshot source at render time.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate::observe {

// Upper bounds (seconds) of mcpgate_upstream_response_seconds; +Inf is implied.
inline constexpr std::array<double, 12> kUpstreamLatencyBuckets = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                                                   0.5,   1,    2.5,   5,    10,  30};

class Metrics {
 public:
  // Distinct label sets per family before folding into "other" (route values come from configuration, so a
  // real deployment stays far below this).
  static constexpr std::size_t kDefaultMaxLabelSets = 1000;
  // Folded ("other") label sets allowed beyond the cap before every label becomes "other".
  static constexpr std::size_t kOverflowReserve = 64;

  Metrics();
  explicit Metrics(std::size_t max_label_sets);
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // counters
  void count_request(std::string_view route, std::string_view method,
                     int status);  // mcpgate_requests_total{route,method,status}
  void count_auth(
      std::string_view outcome);  // mcpgate_auth_total{outcome}: ok_jwt|ok_static|ok_public|<Reason>
  void count_upstream_error(std::string_view route,
                            std::string_view kind);  // mcpgate_upstream_errors_total{route,kind}
  // mcpgate_mcp_requests_total{route,method,target,decision}: MCP requests the gateway judged. `method` is
  // folded to "other" unless it is a method of the MCP specification (clients choose it); `target` is "" unless
  // the caller opted in (gateway.metrics_targets); decision: allow|step_up|denied|invalid.
  void count_mcp(std::string_view route, std::string_view method, std::string_view target,
                 std::string_view decision);
  // histogram mcpgate_upstream_response_seconds{route}: time to the upstream's response headers.
  void observe_upstream_latency(std::string_view route, double seconds);
  // gauges
  void add_in_flight(int delta);     // mcpgate_in_flight_requests
  void add_open_streams(int delta);  // mcpgate_open_streams

  // Pulled at render time from other components (the authenticator's caches).
  struct IssuerSnapshot {
    std::string issuer;
    std::uint64_t fetches = 0, failures = 0;
    double key_set_age_seconds = -1;  // < 0: no keys yet
    bool has_keys = false;
  };
  struct CacheSnapshot {
    std::uint64_t hits = 0, misses = 0;
  };
  using SnapshotSource = std::function<void(std::vector<IssuerSnapshot>&, CacheSnapshot&)>;
  // mcpgate_jwks_fetches_total{issuer}, mcpgate_jwks_fetch_failures_total{issuer},
  // mcpgate_jwks_key_set_age_seconds{issuer} (only for issuers that have keys),
  // mcpgate_token_cache_hits_total, mcpgate_token_cache_misses_total. Called from render(), outside every
  // lock of this registry.
  void set_snapshot_source(SnapshotSource source);

  // The whole registry in text format 0.0.4: HELP and TYPE lines for every family (also when it has no
  // series yet), label values escaped (\\ \" \n), series in a stable order.
  std::string render() const;

  // How many distinct label sets a stored family holds now (0 for an unknown name): for tests and
  // diagnostics of the cardinality cap.
  std::size_t label_sets(std::string_view family) const;

 private:
  struct HistogramValue {
    std::array<std::uint64_t, kUpstreamLatencyBuckets.size() + 1> buckets{};  // per bucket, last = +Inf
    double sum = 0;
    std::uint64_t count = 0;
  };

  struct LabelLess {
    using is_transparent = void;
    template <class A, class B>
    bool operator()(const A& a, const B& b) const {
      for (std::size_t i = 0; i < a.size(); ++i) {
        int c = std::string_view(a[i]).compare(std::string_view(b[i]));
        if (c != 0) return c < 0;
      }
      return false;
    }
  };
  template <std::size_t N, class V>
  struct Store {
    mutable std::mutex mutex;
    std::map<std::array<std::string, N>, V, LabelLess> series;
    std::size_t folded = 0;  // label sets created by folding, beyond the cap
  };
  // Finds or creates the series for `labels` (caller holds the mutex), applying the cardinality cap.
  template <std::size_t N, class V>
  V& slot(Store<N, V>& store, std::array<std::string_view, N> labels);

  std::size_t max_label_sets_;
  Store<3, std::uint64_t> requests_;         // route, method, status
  Store<1, std::uint64_t> auth_;             // outcome
  Store<2, std::uint64_t> upstream_errors_;  // route, kind
  Store<4, std::uint64_t> mcp_;              // route, method, target, decision
  Store<1, HistogramValue> upstream_latency_;
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<std::int64_t> open_streams_{0};
  mutable std::mutex source_mutex_;
  SnapshotSource source_;
};

// Label value escaping of the text format: backslash, double quote and line feed.
std::string escape_label_value(std::string_view value);
// A sample value as the text format writes it: integers without exponent, NaN, +Inf, -Inf.
std::string format_sample_value(double value);

}  // namespace mcpgate::observe
