// libFuzzer target: arbitrary bytes as an upstream's list answer (JSON or SSE), through the filter the gateway
// runs before a client sees a tools/prompts/resources list on a route with rules (src/mcp/list_filter.cpp).
//
//   cmake --build build-fuzz --target fuzz_list_filter && build-fuzz/tests/fuzz/fuzz_list_filter -max_total_time=60
//
// Invariants beyond "no crash": a JSON answer that filters is JSON again; filtering the output once more hides
// nothing (every hidden item is gone); filtering the same input twice gives the same bytes.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "mcp/list_filter.hpp"

using namespace mcpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  const unsigned flags = in.empty() ? 0 : static_cast<unsigned char>(in.front());
  if (!in.empty()) in.remove_prefix(1);
  const bool sse = flags & 1;
  const mcp::ListKind kind = static_cast<mcp::ListKind>((flags >> 1) % 4);
  const mcp::ListRequests asked = {{nlohmann::json(1), kind}, {nlohmann::json("a"), mcp::ListKind::Tools}};
  const mcp::ItemJudge judge = [](std::string_view, std::string_view target) {
    mcp::ItemVerdict v;
    v.hide = target.find('x') != std::string_view::npos;
    v.scopes = {"mcp:read"};
    return v;
  };
  const mcp::ListOptions options{.private_cache = (flags & 8) != 0};
  const mcp::Filtered f = mcp::filter_list(in, sse, asked, judge, options);
  if (!f.ok) return 0;
  if (!sse && nlohmann::json::parse(f.body, nullptr, false).is_discarded()) std::abort();
  const mcp::Filtered again = mcp::filter_list(f.body, sse, asked, judge, options);
  if (!again.ok || again.hidden != 0) std::abort();
  const mcp::Filtered same = mcp::filter_list(in, sse, asked, judge, options);
  if (same.body != f.body || same.hidden != f.hidden) std::abort();
  return 0;
}
