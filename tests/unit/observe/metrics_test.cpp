// metrics_test.cpp — the Prometheus registry's rendering, escaping, cardinality cap and thread safety.
//
//   mcpgate::observe::Metrics m;  m.count_request("/mcp", "POST", 200);
//   EXPECT_NE(m.render().find(R"(mcpgate_requests_total{route="/mcp",method="POST",status="200"} 1)"), npos);
#include "observe/metrics.hpp"

#include <gtest/gtest.h>

#include <limits>
#include <sstream>
#include <thread>
#include <vector>

namespace mcpgate::observe {
namespace {

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);)
    if (l == line) return true;
  return false;
}

TEST(MetricsTest, CountersAppearWithTheirLabelsAndValues) {
  Metrics m;
  m.count_request("/mcp", "POST", 200);
  m.count_request("/mcp", "POST", 200);
  m.count_request("/mcp", "GET", 401);
  m.count_auth("ok_jwt");
  m.count_auth("token_expired");
  m.count_auth("token_expired");
  m.count_upstream_error("/mcp", "refused");
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(mcpgate_requests_total{route="/mcp",method="POST",status="200"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_requests_total{route="/mcp",method="GET",status="401"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_auth_total{outcome="ok_jwt"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_auth_total{outcome="token_expired"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_upstream_errors_total{route="/mcp",kind="refused"} 1)")) << text;
}

TEST(MetricsTest, GaugesMoveUpAndDown) {
  Metrics m;
  m.add_in_flight(3);
  m.add_in_flight(-1);
  m.add_open_streams(1);
  m.add_open_streams(1);
  m.add_open_streams(-2);
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, "mcpgate_in_flight_requests 2")) << text;
  EXPECT_TRUE(has_line(text, "mcpgate_open_streams 0")) << text;
}

TEST(MetricsTest, HistogramBucketsAreCumulativeWithInfSumAndCount) {
  Metrics m;
  m.observe_upstream_latency("/mcp", 0.003);  // le=0.005
  m.observe_upstream_latency("/mcp", 0.005);  // le=0.005 (upper bound inclusive)
  m.observe_upstream_latency("/mcp", 0.2);    // le=0.25
  m.observe_upstream_latency("/mcp", 100);    // only +Inf
  std::string text = m.render();
  const std::string p = R"(mcpgate_upstream_response_seconds_bucket{route="/mcp",le=")";
  EXPECT_TRUE(has_line(text, p + R"(0.005"} 2)")) << text;
  EXPECT_TRUE(has_line(text, p + R"(0.1"} 2)")) << text;
  EXPECT_TRUE(has_line(text, p + R"(0.25"} 3)")) << text;
  EXPECT_TRUE(has_line(text, p + R"(30"} 3)")) << text;
  EXPECT_TRUE(has_line(text, p + R"(+Inf"} 4)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_upstream_response_seconds_count{route="/mcp"} 4)")) << text;
  const std::string sum = R"(mcpgate_upstream_response_seconds_sum{route="/mcp"} )";
  auto at = text.find(sum);
  ASSERT_NE(at, std::string::npos) << text;
  EXPECT_NEAR(std::stod(text.substr(at + sum.size())), 100.208, 1e-9);
  EXPECT_TRUE(has_line(text, "# TYPE mcpgate_upstream_response_seconds histogram")) << text;
}

TEST(MetricsTest, LabelValuesAreEscaped) {
  EXPECT_EQ(escape_label_value(R"(a\b"c)"
                               "\nd"),
            R"(a\\b\"c\nd)");
  Metrics m;
  m.count_upstream_error("/we\"ird\\route\n", "reset");
  EXPECT_TRUE(
      has_line(m.render(), R"(mcpgate_upstream_errors_total{route="/we\"ird\\route\n",kind="reset"} 1)"))
      << m.render();
}

TEST(MetricsTest, EveryFamilyHasHelpAndTypeEvenWhenEmpty) {
  Metrics m;
  std::string text = m.render();
  for (const char* family :
       {"mcpgate_requests_total counter", "mcpgate_auth_total counter",
        "mcpgate_upstream_errors_total counter", "mcpgate_upstream_response_seconds histogram",
        "mcpgate_in_flight_requests gauge", "mcpgate_open_streams gauge",
        "mcpgate_jwks_fetches_total counter", "mcpgate_jwks_fetch_failures_total counter",
        "mcpgate_jwks_key_set_age_seconds gauge", "mcpgate_token_cache_hits_total counter",
        "mcpgate_token_cache_misses_total counter"}) {
    std::string f(family);
    std::string name = f.substr(0, f.find(' '));
    EXPECT_TRUE(has_line(text, "# TYPE " + f)) << f;
    EXPECT_NE(text.find("# HELP " + name + " "), std::string::npos) << name;
  }
}

TEST(MetricsTest, CardinalityCapFoldsNewRoutesIntoOther) {
  Metrics m(10);
  for (int i = 0; i < 50; ++i) m.count_request("/r" + std::to_string(i), "GET", 200);
  EXPECT_EQ(m.label_sets("mcpgate_requests_total"), 11u);  // 10 routes + route="other"
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(mcpgate_requests_total{route="/r0",method="GET",status="200"} 1)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_requests_total{route="other",method="GET",status="200"} 40)"))
      << text;
  EXPECT_EQ(text.find("/r10\""), std::string::npos);
  // An existing series keeps counting after the cap is reached.
  m.count_request("/r3", "GET", 200);
  EXPECT_TRUE(has_line(m.render(), R"(mcpgate_requests_total{route="/r3",method="GET",status="200"} 2)"));
}

TEST(MetricsTest, FoldedLabelSetsAreBoundedEvenWhenOtherLabelsVary) {
  Metrics m(5);
  for (int i = 0; i < 5000; ++i) {
    m.count_upstream_error("/r" + std::to_string(i), "kind" + std::to_string(i));
    m.count_auth("outcome" + std::to_string(i));
    m.observe_upstream_latency("/r" + std::to_string(i), 0.01);
  }
  EXPECT_LE(m.label_sets("mcpgate_upstream_errors_total"), 5 + Metrics::kOverflowReserve + 1);
  EXPECT_EQ(m.label_sets("mcpgate_auth_total"), 6u);  // one label: folding it leaves one "other" set
  EXPECT_EQ(m.label_sets("mcpgate_upstream_response_seconds"), 6u);
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(mcpgate_upstream_errors_total{route="other",kind="other"} )" +
                                 std::to_string(5000 - 5 - Metrics::kOverflowReserve)))
      << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_auth_total{outcome="other"} 4995)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_upstream_response_seconds_count{route="other"} 4995)")) << text;
}

TEST(MetricsTest, SnapshotSourceFamiliesRenderPerIssuer) {
  Metrics m;
  m.set_snapshot_source([](std::vector<Metrics::IssuerSnapshot>& issuers, Metrics::CacheSnapshot& cache) {
    issuers.push_back({"https://a.example", 7, 2, 12.5, true});
    issuers.push_back({"https://b.example", 3, 3, -1, false});
    cache = {40, 9};
  });
  std::string text = m.render();
  EXPECT_TRUE(has_line(text, R"(mcpgate_jwks_fetches_total{issuer="https://a.example"} 7)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_jwks_fetch_failures_total{issuer="https://a.example"} 2)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_jwks_key_set_age_seconds{issuer="https://a.example"} 12.5)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_jwks_fetches_total{issuer="https://b.example"} 3)")) << text;
  EXPECT_TRUE(has_line(text, R"(mcpgate_jwks_fetch_failures_total{issuer="https://b.example"} 3)")) << text;
  EXPECT_EQ(text.find(R"(mcpgate_jwks_key_set_age_seconds{issuer="https://b.example"})"), std::string::npos);
  EXPECT_TRUE(has_line(text, "mcpgate_token_cache_hits_total 40")) << text;
  EXPECT_TRUE(has_line(text, "mcpgate_token_cache_misses_total 9")) << text;
}

TEST(MetricsTest, RenderOrderIsStableAndSorted) {
  Metrics m;
  m.count_request("/zeta", "GET", 200);
  m.count_request("/alpha", "GET", 200);
  std::string first = m.render();
  EXPECT_EQ(first, m.render());
  EXPECT_LT(first.find("/alpha"), first.find("/zeta"));
  EXPECT_LT(first.find("# TYPE mcpgate_requests_total"), first.find("# TYPE mcpgate_auth_total"));
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Metrics m;
  constexpr int kThreads = 4, kEach = 5000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&] {
      for (int i = 0; i < kEach; ++i) {
        m.add_in_flight(1);
        m.count_request("/mcp", "POST", 200);
        m.observe_upstream_latency("/mcp", 0.01);
        m.add_in_flight(-1);
        if (i % 100 == 0) (void)m.render();
      }
    });
  for (auto& t : threads) t.join();
  std::string text = m.render();
  const std::string total = std::to_string(kThreads * kEach);
  EXPECT_TRUE(has_line(text, R"(mcpgate_requests_total{route="/mcp",method="POST",status="200"} )" + total));
  EXPECT_TRUE(has_line(text, R"(mcpgate_upstream_response_seconds_count{route="/mcp"} )" + total));
  EXPECT_TRUE(has_line(text, "mcpgate_in_flight_requests 0"));
}

TEST(MetricsTest, SampleValuesUseTheTextFormatSpellings) {
  EXPECT_EQ(format_sample_value(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(format_sample_value(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(format_sample_value(std::numeric_limits<double>::quiet_NaN()), "NaN");
  EXPECT_EQ(format_sample_value(0.025), "0.025");
  EXPECT_EQ(format_sample_value(30), "30");
}

}  // namespace
}  // namespace mcpgate::observe
