// What the request-shape rules cost per request: the one decoding of the target (request_target.hpp) and
// the header syntax check (header_syntax.hpp), on what an MCP client sends — next to the verified-token cache
// hit (token_cache_bench, ~0.8 µs), the cheapest authentication a request can have.
#include <benchmark/benchmark.h>

#include <vector>

#include "http/header_syntax.hpp"
#include "http/request_target.hpp"

namespace {

// The headers of an MCP SDK POST through a proxy (token shortened: only the names and sizes matter here).
const std::vector<mcpgate::HeaderField>& sdk_headers() {
  static const std::vector<mcpgate::HeaderField> h = {
      {"Host", "mcp.example.com"},
      {"User-Agent", "node"},
      {"Accept", "application/json, text/event-stream"},
      {"Accept-Encoding", "gzip, deflate"},
      {"Accept-Language", "*"},
      {"Authorization", "Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6ImsxIn0.eyJzdWIiOiJ1In0.c2ln"},
      {"Connection", "keep-alive"},
      {"Content-Length", "213"},
      {"Content-Type", "application/json"},
      {"Mcp-Protocol-Version", "2025-11-25"},
      {"Mcp-Session-Id", "3f9a6c1e-5b1d-4a0e-9c3e-0d2f1b7a9e44"},
      {"Sec-Fetch-Mode", "cors"},
      {"X-Forwarded-For", "203.0.113.7"},
      {"X-Forwarded-Proto", "https"}};
  return h;
}

void BM_ParseRequestTarget(benchmark::State& state) {
  for (auto _ : state) {
    auto t = mcpgate::http::parse_request_target("/mcp/tools?cursor=abc%3D%3D&limit=50");
    benchmark::DoNotOptimize(t);
  }
}
BENCHMARK(BM_ParseRequestTarget);

void BM_CheckHeaderSyntax(benchmark::State& state) {
  const auto& headers = sdk_headers();
  const std::vector<std::string> singletons = {"X-Original-Method"};
  for (auto _ : state) benchmark::DoNotOptimize(mcpgate::http::check_header_syntax(headers, singletons));
}
BENCHMARK(BM_CheckHeaderSyntax);

}  // namespace

BENCHMARK_MAIN();
