// libFuzzer target: arbitrary bytes as an MCP POST body, with SEP-2243 headers taken from the input's first
// bytes, through the inspector the gateway runs before it forwards a body (src/mcp/inspect.cpp).
//
//   cmake --build build-fuzz --target fuzz_jsonrpc_inspect && build-fuzz/tests/fuzz/fuzz_jsonrpc_inspect -max_total_time=60
//
// Invariants beyond "no crash": an Ok verdict has at least one call; a call with a target has a method that
// names one; when a present Mcp-Method header passed, it equals every call's method; a refusal carries a
// JSON-RPC code and an error body that is itself JSON; inspecting the same input twice gives the same verdict.
#include <cstdint>
#include <cstdlib>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "mcp/inspect.hpp"

using namespace mcpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  // Layout: one flags byte, then up to three NUL-terminated header values, then the body.
  mcp::Headers headers;
  const unsigned flags = in.empty() ? 0 : static_cast<unsigned char>(in.front());
  if (!in.empty()) in.remove_prefix(1);
  auto take = [&in]() {
    const std::size_t end = in.find('\0');
    const std::string_view v = in.substr(0, end);
    in.remove_prefix(end == std::string_view::npos ? in.size() : end + 1);
    return v;
  };
  const std::string_view method = take(), name = take(), version = take();
  if (flags & 1) headers.method = method;
  if (flags & 2) headers.name = name;
  if (flags & 4) headers.protocol_version = version;

  const mcp::Inspection r = mcp::inspect(in, headers);
  if (r.verdict == mcp::Verdict::Ok) {
    if (r.calls.empty()) std::abort();
    for (const auto& c : r.calls) {
      if (c.has_target && c.method != "tools/call" && c.method != "prompts/get" &&
          c.method != "resources/read" && c.method != "resources/subscribe" &&
          c.method != "resources/unsubscribe")
        std::abort();
      if (headers.method && c.method != *headers.method) std::abort();
    }
  } else {
    if (mcp::error_code(r.verdict) == 0) std::abort();
    const auto body = nlohmann::json::parse(mcp::error_body(r), nullptr, false);
    if (body.is_discarded() || body["error"]["code"] != mcp::error_code(r.verdict)) std::abort();
  }
  if (mcp::inspect(in, headers).verdict != r.verdict) std::abort();
  return 0;
}
