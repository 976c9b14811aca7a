// inspect.hpp — what one POST body asks an MCP server to do, and whether its headers say the same (MCP
// 2026-07-28, SEP-2243). Pure: no I/O; fuzzed (tests/fuzz/fuzz_jsonrpc_inspect.cpp).
//
//   mcpgate::mcp::Inspection in = mcpgate::mcp::inspect(body, {.method = header("Mcp-Method"),
//                                                             .name = header("Mcp-Name"),
//                                                             .protocol_version = header("MCP-Protocol-Version")});
//   if (in.verdict != mcpgate::mcp::Verdict::Ok)
//     answer(400, mcpgate::mcp::error_body(in));          // -32020 HeaderMismatch, -32700, -32600
//   else for (const auto& call : in.calls) authorize(call.method, call.target);
//
// Why the body is read although the headers exist: a gateway that authorizes on `Mcp-Method`/`Mcp-Name` while
// the server executes the body is a confused deputy. So a header that is present must say what the body says,
// and on 2026-07-28 (the header's or the body's `_meta` version) a required header that is absent is refused
// too: `Mcp-Method` on every request and notification, `Mcp-Name` when the body names a tool, prompt or
// resource. `MCP-Protocol-Version` and `params._meta["io.modelcontextprotocol/protocolVersion"]` must agree when
// both are there. The JSON is strict (RFC 8259, nothing after the value, duplicate member names refused at any
// depth: two parsers must never read two different methods out of one body), nested at most 64 deep.
//
// Batches (a JSON array of messages) exist only before 2025-06-18: with a later version, or on 2026-07-28, an
// array is refused; otherwise each element is judged on its own and a present `Mcp-Method`/`Mcp-Name` must match
// every element that has a method.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate::mcp {

// The HTTP headers of the request, as sent (absent = nullopt). `Mcp-Name` may use SEP-2243's
// "=?base64?...?=" form for a value that cannot be a plain header value; it is decoded before comparing.
struct Headers {
  std::optional<std::string_view> method{};            // Mcp-Method
  std::optional<std::string_view> name{};              // Mcp-Name
  std::optional<std::string_view> protocol_version{};  // MCP-Protocol-Version
  // How the body's bytes are to be read. Servers decode by the charset before parsing (a UTF-7 body can hide a
  // second "name" in what UTF-8 reads as one string), so only JSON in UTF-8, never content-coded, is read.
  std::optional<std::string_view> content_type{};      // Content-Type
  std::optional<std::string_view> content_encoding{};  // Content-Encoding
};

// One JSON-RPC message of the body.
struct Call {
  std::string method;  // "" for a response (a client answering a server's request)
  // params.name (tools/call, prompts/get) or params.uri (resources/read, resources/subscribe,
  // resources/unsubscribe): what rules match on; has_target false when the method names nothing.
  std::string target;
  bool has_target = false;
  bool notification = false;  // a method without an id
  nlohmann::json id;          // the message's id (null for a notification)
};

enum class Verdict {
  Ok,
  NotJson,         // -32700: not strict JSON, a duplicate member name, nested too deep
  InvalidRequest,  // -32600: not a JSON-RPC 2.0 message (or a batch where none is allowed, or an empty one)
  HeaderMismatch,  // -32020: a header says something else than the body, or a required one is missing
  UnreadableBody,  // -32600, HTTP 415: not application/json in UTF-8, or a content-coding
};

struct Inspection {
  Verdict verdict = Verdict::Ok;
  std::vector<Call> calls;       // Ok: every message in order (one unless a batch)
  std::string protocol_version;  // the header's, else the body's _meta one, else ""
  bool batch = false;
  nlohmann::json id;   // the single message's id for the error answer (null for a batch or none)
  std::string detail;  // not Ok: which rule, naming the header or member ("Mcp-Name does not match")
};

// The revision that made the headers required and removed sessions.
inline constexpr std::string_view kStatelessRevision = "2026-07-28";
// How deep objects and arrays may nest (a body deeper than this is NotJson).
inline constexpr std::size_t kMaxJsonDepth = 64;

Inspection inspect(std::string_view body, const Headers& headers);

// The JSON-RPC code of a verdict that is not Ok (-32700, -32600, -32020), and the error body the gateway
// answers with (HTTP 400): {"jsonrpc":"2.0","id":<id>,"error":{"code":..,"message":..}}.
int error_code(Verdict verdict) noexcept;
int http_status(Verdict verdict) noexcept;  // 200 for Ok, 415 for UnreadableBody, else 400
std::string error_body(const Inspection& inspection);

// SEP-2243 header values: "=?base64?<standard base64>?=" decodes to its bytes; any other value is itself.
// nullopt when the sentinel form is there but its base64 is not valid.
std::optional<std::string> decode_header_value(std::string_view value);

}  // namespace mcpgate::mcp
