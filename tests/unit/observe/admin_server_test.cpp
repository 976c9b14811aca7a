// admin_server_test.cpp — the admin listener over real loopback HTTP, and its /metrics scrape checked by the
// reference parser (Debian's python3-prometheus-client, prometheus_client.parser).
//
//   AdminServer admin({.listen_address = "127.0.0.1", .port = 0}, metrics, ready);
//   ASSERT_TRUE(admin.start().ok());
//   httplib::Client c("127.0.0.1", admin.port());  auto r = c.Get("/metrics");
#include "observe/admin_server.hpp"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/child_process.hpp"

namespace mcpgate::observe {
namespace {

AdminServer::Options any_port() {
  return {.listen_address = "127.0.0.1", .port = 0};
}

httplib::Client client_for(const AdminServer& admin) {
  httplib::Client c("127.0.0.1", admin.port());
  c.set_connection_timeout(5, 0);
  c.set_read_timeout(5, 0);
  return c;
}

// A raw loopback TCP connection (closed on destruction), for the clients a well-behaved HTTP client is not:
// one that says nothing, one that stops half-way through the request line.
class RawConnection {
 public:
  explicit RawConnection(int port) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && ::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) close();
  }
  ~RawConnection() { close(); }
  RawConnection(const RawConnection&) = delete;
  RawConnection& operator=(const RawConnection&) = delete;
  RawConnection(RawConnection&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }

  bool connected() const { return fd_ >= 0; }
  bool send(const std::string& text) {
    return connected() &&
           ::send(fd_, text.data(), text.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(text.size());
  }
  // Everything the server sends until it closes or `timeout` has passed (bounded, whatever the server does);
  // *closed tells which of the two ended it.
  std::string receive_all(std::chrono::milliseconds timeout, bool* closed = nullptr) {
    std::string out;
    if (closed) *closed = false;
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (connected()) {
      auto left =
          std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      timeval tv{static_cast<time_t>(left.count() / 1000000),
                 static_cast<suseconds_t>(left.count() % 1000000)};
      ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      char buffer[4096];
      ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
      if (n > 0) {
        out.append(buffer, static_cast<std::size_t>(n));
        continue;
      }
      if (closed) *closed = n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK);
      break;
    }
    return out;
  }

 private:
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd_;
};

TEST(AdminServerTest, HealthzAnswersOk) {
  Metrics metrics;
  AdminServer admin(any_port(), metrics, [] { return mcpgate::Status{}; });
  ASSERT_TRUE(admin.start().ok());
  ASSERT_GT(admin.port(), 0);
  auto c = client_for(admin);
  auto r = c.Get("/healthz");
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(nlohmann::json::parse(r->body), nlohmann::json({{"status", "ok"}}));
}

// A liveness probe must not time out because of idle or slow connections (a restart of a healthy gateway):
// before, two worker threads held by silent connections made /healthz wait for their 5 s timeouts in turn.
TEST(AdminServerTest, HealthzAnswersWhileIdleConnectionsAreOpen) {
  Metrics metrics;
  AdminServer admin(any_port(), metrics, [] { return mcpgate::Status{}; });
  ASSERT_TRUE(admin.start().ok());
  std::vector<RawConnection> idle;
  for (int i = 0; i < 10; ++i) {
    idle.emplace_back(admin.port());  // connects, sends nothing
    ASSERT_TRUE(idle.back().connected());
  }
  for (int i = 0; i < 10; ++i) {
    idle.emplace_back(admin.port());
    ASSERT_TRUE(idle.back().send("GET /metr"));  // half a request line, then silence
  }
  RawConnection probe(admin.port());
  ASSERT_TRUE(probe.send("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"));
  std::string response = probe.receive_all(std::chrono::seconds(3));
  EXPECT_EQ(response.rfind("HTTP/1.1 200", 0), 0u) << "no answer within 3 s: '" << response << "'";
}

// A connection that never sends a request gives its thread back after about a second (the keep-alive wait),
// not after 5 s.
TEST(AdminServerTest, SilentConnectionIsClosedWellBeforeFiveSeconds) {
  Metrics metrics;
  AdminServer admin(any_port(), metrics, [] { return mcpgate::Status{}; });
  ASSERT_TRUE(admin.start().ok());
  RawConnection silent(admin.port());
  ASSERT_TRUE(silent.connected());
  bool closed = false;
  silent.receive_all(std::chrono::milliseconds(3500), &closed);
  EXPECT_TRUE(closed) << "a connection that sent nothing was still open after 3.5 s";
}

TEST(AdminServerTest, ReadyzFollowsTheCallbackInBothStates) {
  Metrics metrics;
  std::atomic<bool> ready{false};
  AdminServer admin(any_port(), metrics, [&] {
    if (!ready)
      return mcpgate::Status{mcpgate::Reason::KeysUnavailable, "jwks not loaded for \"https://a.example\""};
    return mcpgate::Status{};
  });
  ASSERT_TRUE(admin.start().ok());
  auto c = client_for(admin);
  auto r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 503);
  auto body = nlohmann::json::parse(r->body);
  EXPECT_EQ(body["status"], "not_ready");
  EXPECT_EQ(body["detail"], "jwks not loaded for \"https://a.example\"");
  ready = true;
  r = c.Get("/readyz");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(nlohmann::json::parse(r->body), nlohmann::json({{"status", "ready"}}));
}

TEST(AdminServerTest, AnythingElseIs404) {
  Metrics metrics;
  AdminServer admin(any_port(), metrics, [] { return mcpgate::Status{}; });
  ASSERT_TRUE(admin.start().ok());
  auto c = client_for(admin);
  for (const char* path : {"/", "/metrics/", "/healthz/x", "/mcp", "/.well-known/oauth-protected-resource"}) {
    auto r = c.Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
  }
  auto post = c.Post("/metrics", "x", "text/plain");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 404);
}

TEST(AdminServerTest, MetricsHasThePrometheusContentTypeAndTheRegistry) {
  Metrics metrics;
  metrics.count_request("/mcp", "POST", 200);
  AdminServer admin(any_port(), metrics, [] { return mcpgate::Status{}; });
  ASSERT_TRUE(admin.start().ok());
  auto c = client_for(admin);
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  EXPECT_EQ(r->body, metrics.render());
}

TEST(AdminServerTest, StartTwiceFailsAndStopIsIdempotent) {
  Metrics metrics;
  AdminServer admin(any_port(), metrics, [] { return mcpgate::Status{}; });
  ASSERT_TRUE(admin.start().ok());
  mcpgate::Status again = admin.start();
  EXPECT_EQ(again.reason, mcpgate::Reason::ListenFailed);
  EXPECT_FALSE(again.detail.empty());
  int port = admin.port();
  admin.stop();
  admin.stop();
  httplib::Client c("127.0.0.1", port);
  c.set_connection_timeout(2, 0);
  EXPECT_FALSE(c.Get("/healthz"));  // nobody listens any more
}

TEST(AdminServerTest, StopRightAfterStartReturns) {
  Metrics metrics;
  for (int i = 0; i < 20; ++i) {
    AdminServer admin(any_port(), metrics, [] { return mcpgate::Status{}; });
    ASSERT_TRUE(admin.start().ok());
    admin.stop();
  }
}

TEST(AdminServerTest, BusyPortIsReportedNotThrown) {
  Metrics metrics;
  AdminServer first(any_port(), metrics, [] { return mcpgate::Status{}; });
  ASSERT_TRUE(first.start().ok());
  AdminServer second({.listen_address = "127.0.0.1", .port = first.port()}, metrics,
                     [] { return mcpgate::Status{}; });
  mcpgate::Status busy = second.start();
  EXPECT_EQ(busy.reason, mcpgate::Reason::ListenFailed);
  EXPECT_NE(busy.detail.find(std::to_string(first.port())), std::string::npos) << busy.detail;
}

// prometheus_client.parser is the reference Python implementation of the text format; it raises on
// malformed lines. The script prints every sample as JSON: [family, type, sample name, labels, value].
constexpr const char* kParseScript = R"PY(
import json, sys
from prometheus_client.parser import text_string_to_metric_families
out = []
for fam in text_string_to_metric_families(open(sys.argv[1], encoding='utf-8').read()):
    for s in fam.samples:
        out.append([fam.name, fam.type, s.name, s.labels, repr(float(s.value))])
print(json.dumps(out))
)PY";

struct ParsedSample {
  std::string family, type, name;
  std::map<std::string, std::string> labels;
  double value;
};

std::vector<ParsedSample> parse_with_prometheus_client(const std::string& text, testing::ProcessOutput* raw) {
  char path[] = "/tmp/mcpgate-metrics-XXXXXX";
  int fd = mkstemp(path);
  EXPECT_GE(fd, 0);
  close(fd);
  std::ofstream(path, std::ios::binary) << text;
  *raw = testing::run_process({"/usr/bin/python3", "-c", kParseScript, path}, {}, std::chrono::seconds(60));
  std::remove(path);
  std::vector<ParsedSample> samples;
  if (raw->exit_code != 0) return samples;
  for (const auto& s : nlohmann::json::parse(raw->stdout_text))
    samples.push_back({s[0], s[1], s[2], s[3].get<std::map<std::string, std::string>>(),
                       std::stod(s[4].get<std::string>())});
  return samples;
}

TEST(AdminServerTest, ReferenceParserRejectsMalformedText) {
  testing::ProcessOutput raw;
  parse_with_prometheus_client("# TYPE x counter\nx{a=\"un\"escaped\"} 1\n", &raw);
  EXPECT_NE(raw.exit_code, 0) << raw.stdout_text;  // the check below can fail
}

TEST(AdminServerTest, ScrapedMetricsParseAsPrometheusText) {
  Metrics metrics;
  metrics.count_request("/mcp", "POST", 200);
  metrics.count_request("/mcp", "POST", 200);
  metrics.count_request("/odd \"route\"\\\n", "GET", 404);
  metrics.count_auth("ok_static");
  metrics.count_auth("token_expired");
  metrics.count_upstream_error("/mcp", "timeout");
  for (double s : {0.004, 0.03, 0.03, 0.7, 45.0}) metrics.observe_upstream_latency("/mcp", s);
  metrics.add_in_flight(2);
  metrics.add_open_streams(1);
  metrics.set_snapshot_source(
      [](std::vector<Metrics::IssuerSnapshot>& issuers, Metrics::CacheSnapshot& cache) {
        issuers.push_back({"https://a.example", 4, 1, 30.25, true});
        issuers.push_back({"stytch.com/project-test-1", 1, 1, -1, false});
        cache = {10, 5};
      });
  AdminServer admin(any_port(), metrics, [] { return mcpgate::Status{}; });
  ASSERT_TRUE(admin.start().ok());
  auto c = client_for(admin);
  auto r = c.Get("/metrics");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);

  testing::ProcessOutput raw;
  auto samples = parse_with_prometheus_client(r->body, &raw);
  ASSERT_EQ(raw.exit_code, 0) << raw.stderr_text << "\n" << r->body;

  auto find = [&](const std::string& name,
                  const std::map<std::string, std::string>& labels) -> const ParsedSample* {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return &s;
    return nullptr;
  };
  auto value = [&](const std::string& name, const std::map<std::string, std::string>& labels) {
    const ParsedSample* s = find(name, labels);
    EXPECT_NE(s, nullptr) << name;
    return s ? s->value : -1.0;
  };
  EXPECT_EQ(value("mcpgate_requests_total", {{"route", "/mcp"}, {"method", "POST"}, {"status", "200"}}), 2);
  // The escaped label value comes back exactly as it was counted.
  EXPECT_EQ(value("mcpgate_requests_total",
                  {{"route", "/odd \"route\"\\\n"}, {"method", "GET"}, {"status", "404"}}),
            1);
  EXPECT_EQ(value("mcpgate_auth_total", {{"outcome", "token_expired"}}), 1);
  EXPECT_EQ(value("mcpgate_upstream_errors_total", {{"route", "/mcp"}, {"kind", "timeout"}}), 1);
  EXPECT_EQ(value("mcpgate_in_flight_requests", {}), 2);
  EXPECT_EQ(value("mcpgate_open_streams", {}), 1);
  EXPECT_EQ(value("mcpgate_jwks_fetches_total", {{"issuer", "https://a.example"}}), 4);
  EXPECT_EQ(value("mcpgate_jwks_fetch_failures_total", {{"issuer", "stytch.com/project-test-1"}}), 1);
  EXPECT_EQ(value("mcpgate_jwks_key_set_age_seconds", {{"issuer", "https://a.example"}}), 30.25);
  EXPECT_EQ(find("mcpgate_jwks_key_set_age_seconds", {{"issuer", "stytch.com/project-test-1"}}), nullptr);
  EXPECT_EQ(value("mcpgate_token_cache_hits_total", {}), 10);
  EXPECT_EQ(value("mcpgate_token_cache_misses_total", {}), 5);

  // The histogram: the parser groups _bucket/_sum/_count under one histogram family; buckets are cumulative,
  // non-decreasing, end with +Inf equal to _count.
  std::vector<std::pair<double, double>> buckets;
  for (const auto& s : samples)
    if (s.name == "mcpgate_upstream_response_seconds_bucket" && s.labels.at("route") == "/mcp") {
      EXPECT_EQ(s.family, "mcpgate_upstream_response_seconds");
      EXPECT_EQ(s.type, "histogram");
      buckets.emplace_back(std::stod(s.labels.at("le")), s.value);
    }
  ASSERT_EQ(buckets.size(), kUpstreamLatencyBuckets.size() + 1);
  for (std::size_t i = 1; i < buckets.size(); ++i) {
    EXPECT_LT(buckets[i - 1].first, buckets[i].first);
    EXPECT_LE(buckets[i - 1].second, buckets[i].second);
  }
  EXPECT_TRUE(std::isinf(buckets.back().first));
  EXPECT_EQ(buckets.back().second, 5);
  EXPECT_EQ(value("mcpgate_upstream_response_seconds_bucket", {{"route", "/mcp"}, {"le", "0.005"}}), 1);
  EXPECT_EQ(value("mcpgate_upstream_response_seconds_bucket", {{"route", "/mcp"}, {"le", "0.05"}}), 3);
  EXPECT_EQ(value("mcpgate_upstream_response_seconds_bucket", {{"route", "/mcp"}, {"le", "1"}}), 4);
  EXPECT_EQ(value("mcpgate_upstream_response_seconds_bucket", {{"route", "/mcp"}, {"le", "30"}}), 4);
  EXPECT_EQ(value("mcpgate_upstream_response_seconds_count", {{"route", "/mcp"}}), 5);
  EXPECT_NEAR(value("mcpgate_upstream_response_seconds_sum", {{"route", "/mcp"}}), 45.764, 1e-9);

  // Counter families come back typed as counters (the parser strips _total from the family name).
  for (const auto& s : samples)
    if (s.name.ends_with("_total")) {
      EXPECT_EQ(s.type, "counter") << s.name;
    }
}

}  // namespace
}  // namespace mcpgate::observe
