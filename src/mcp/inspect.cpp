#include "mcp/inspect.hpp"

#include <array>

#include "jose/jws.hpp"

namespace mcpgate::mcp {
namespace {

using nlohmann::json;

constexpr std::string_view kMetaVersion = "io.modelcontextprotocol/protocolVersion";
// Batches were removed from the protocol in this revision.
constexpr std::string_view kNoBatchesFrom = "2025-06-18";

// The methods whose params name what they act on, and which member does.
std::string_view target_member(std::string_view method) noexcept {
  if (method == "tools/call" || method == "prompts/get") return "name";
  if (method == "resources/read" || method == "resources/subscribe" || method == "resources/unsubscribe")
    return "uri";
  return {};
}

bool valid_id(const json& id) {
  return id.is_string() || id.is_number_integer() || id.is_null();
}

Inspection refuse(Verdict verdict, std::string detail, json id = nullptr) {
  Inspection in;
  in.verdict = verdict;
  in.detail = std::move(detail);
  in.id = std::move(id);
  return in;
}

// One message: a Call, its `_meta` protocol version (or ""), or why it is not JSON-RPC 2.0.
struct Message {
  Call call;
  std::string meta_version;
  json id;
  std::string invalid;  // non-empty: why this is not a JSON-RPC 2.0 message
};

Message read_message(const json& m) {
  Message out;
  if (!m.is_object()) {
    out.invalid = "a message is not a JSON object";
    return out;
  }
  const auto jsonrpc = m.find("jsonrpc");
  if (jsonrpc == m.end() || !jsonrpc->is_string() || jsonrpc->get_ref<const std::string&>() != "2.0") {
    out.invalid = "\"jsonrpc\" is not \"2.0\"";
    return out;
  }
  const auto id = m.find("id");
  if (id != m.end()) {
    if (!valid_id(*id)) {
      out.invalid = "\"id\" is not a string, an integer or null";
      return out;
    }
    out.id = *id;
  }
  const auto method = m.find("method");
  if (method == m.end()) {  // a response: the client answering a request of the server
    if (id == m.end() || (m.contains("result") == m.contains("error")))
      out.invalid = "neither a request nor a response";
    return out;
  }
  if (!method->is_string() || method->get_ref<const std::string&>().empty()) {
    out.invalid = "\"method\" is not a non-empty string";
    return out;
  }
  out.call.method = method->get<std::string>();
  out.call.notification = id == m.end();
  out.call.id = out.id;
  const auto params = m.find("params");
  const std::string_view member = target_member(out.call.method);
  // A method that names what it acts on must name it as a string: a rule on the target (a deny) must never be
  // skipped because the name came as a number, an object or positional params that the server may still read.
  if (!member.empty() && (params == m.end() || !params->is_object() || !params->contains(member) ||
                          !(*params)[std::string(member)].is_string())) {
    out.invalid = out.call.method + " needs params." + std::string(member) + " as a string";
    return out;
  }
  if (params == m.end()) return out;
  if (!params->is_object()) {
    if (!params->is_array()) out.invalid = "\"params\" is neither an object nor an array";
    return out;
  }
  if (!member.empty()) {
    out.call.target = (*params)[std::string(member)].get<std::string>();
    out.call.has_target = true;
  }
  if (const auto meta = params->find("_meta"); meta != params->end() && meta->is_object()) {
    const auto v = meta->find(kMetaVersion);
    if (v != meta->end() && v->is_string()) out.meta_version = v->get<std::string>();
  }
  return out;
}

// The header rules for one message; "" when they hold.
std::string header_problem(const Message& m, const Headers& h, std::string_view name, bool stateless) {
  const Call& c = m.call;
  if (h.protocol_version && !m.meta_version.empty() && *h.protocol_version != m.meta_version)
    return "MCP-Protocol-Version does not match params._meta";
  if (c.method.empty()) {  // a response has no method and no name
    if (h.method) return "Mcp-Method on a message without a method";
    if (h.name) return "Mcp-Name on a message without a method";
    return {};
  }
  if (h.method && *h.method != c.method) return "Mcp-Method does not match the body's method";
  if (!h.method && stateless) return "Mcp-Method is required";
  if (h.name && (!c.has_target || name != c.target)) return "Mcp-Name does not match the body";
  if (!h.name && stateless && c.has_target) return "Mcp-Name is required";
  return {};
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    const auto x = static_cast<unsigned char>(a[i]), y = static_cast<unsigned char>(b[i]);
    if ((x >= 'A' && x <= 'Z' ? x + 32 : x) != (y >= 'A' && y <= 'Z' ? y + 32 : y)) return false;
  }
  return true;
}

std::string_view trim(std::string_view s) noexcept {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// "application/json", optionally with "charset=utf-8" (any case, quoted or not) and nothing else.
bool json_in_utf8(std::string_view content_type) noexcept {
  std::size_t semi = content_type.find(';');
  if (!iequals(trim(content_type.substr(0, semi)), "application/json")) return false;
  while (semi != std::string_view::npos) {
    content_type.remove_prefix(semi + 1);
    semi = content_type.find(';');
    const std::string_view param = trim(content_type.substr(0, semi));
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos || !iequals(trim(param.substr(0, eq)), "charset")) return false;
    std::string_view value = trim(param.substr(eq + 1));
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
      value = value.substr(1, value.size() - 2);
    if (!iequals(value, "utf-8")) return false;
  }
  return true;
}

bool base64_value(char c, unsigned& v) noexcept {
  if (c >= 'A' && c <= 'Z')
    v = static_cast<unsigned>(c - 'A');
  else if (c >= 'a' && c <= 'z')
    v = static_cast<unsigned>(c - 'a' + 26);
  else if (c >= '0' && c <= '9')
    v = static_cast<unsigned>(c - '0' + 52);
  else if (c == '+')
    v = 62;
  else if (c == '/')
    v = 63;
  else
    return false;
  return true;
}

// Standard base64 (RFC 4648 §4), padded, nothing else.
std::optional<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3);
  for (std::size_t i = 0; i < in.size(); i += 4) {
    const bool last = i + 4 == in.size();
    std::array<unsigned, 4> v{};
    int pad = 0;
    for (int k = 0; k < 4; ++k) {
      const char c = in[i + static_cast<std::size_t>(k)];
      if (c == '=' && last && k >= 2) {
        ++pad;
        continue;
      }
      if (pad || !base64_value(c, v[static_cast<std::size_t>(k)])) return std::nullopt;
    }
    const unsigned n = v[0] << 18 | v[1] << 12 | v[2] << 6 | v[3];
    out.push_back(static_cast<char>(n >> 16 & 0xff));
    if (pad < 2) out.push_back(static_cast<char>(n >> 8 & 0xff));
    if (pad < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  return out;
}

}  // namespace

std::optional<std::string> decode_header_value(std::string_view value) {
  constexpr std::string_view open = "=?base64?", close = "?=";
  if (value.size() < open.size() + close.size() || !value.starts_with(open) || !value.ends_with(close))
    return std::string(value);
  return base64_decode(value.substr(open.size(), value.size() - open.size() - close.size()));
}

Inspection inspect(std::string_view body, const Headers& headers) {
  if (headers.content_type && !json_in_utf8(*headers.content_type))
    return refuse(Verdict::UnreadableBody, "the body is read only as application/json in UTF-8");
  if (headers.content_encoding && !iequals(trim(*headers.content_encoding), "identity"))
    return refuse(Verdict::UnreadableBody, "a content-coded body is not read");
  json doc;
  switch (jose::parse_json_strict(body, doc, kMaxJsonDepth)) {
    case jose::StrictJson::Ok:
      break;
    case jose::StrictJson::DuplicateName:
      return refuse(Verdict::NotJson, "a member name appears twice in one object");
    case jose::StrictJson::TooDeep:
      return refuse(Verdict::NotJson, "nested more than 64 deep");
    case jose::StrictJson::NotJson:
      return refuse(Verdict::NotJson, "not JSON");
  }
  std::optional<std::string> name;
  if (headers.name) {
    name = decode_header_value(*headers.name);
    if (!name) return refuse(Verdict::HeaderMismatch, "Mcp-Name is not valid =?base64?...?=");
  }
  const bool batch = doc.is_array();
  const std::string header_version(headers.protocol_version.value_or(""));
  if (batch && (doc.empty() || (!header_version.empty() && header_version >= kNoBatchesFrom)))
    return refuse(Verdict::InvalidRequest,
                  doc.empty() ? "an empty batch" : "batches are not part of this protocol version");

  std::vector<Message> messages;
  if (batch) {
    for (const auto& element : doc) messages.push_back(read_message(element));
  } else {
    messages.push_back(read_message(doc));
  }
  Inspection in;
  in.batch = batch;
  if (!batch) in.id = messages.front().id;
  for (const Message& m : messages) {
    if (!m.invalid.empty()) return refuse(Verdict::InvalidRequest, m.invalid, in.id);
    const std::string& version = !header_version.empty() ? header_version : m.meta_version;
    if (batch && !version.empty() && version >= kNoBatchesFrom)
      return refuse(Verdict::InvalidRequest, "batches are not part of this protocol version");
    const bool stateless = !version.empty() && version >= kStatelessRevision;
    if (std::string why = header_problem(m, headers, name.value_or(""), stateless); !why.empty())
      return refuse(Verdict::HeaderMismatch, std::move(why), in.id);
    if (in.protocol_version.empty()) in.protocol_version = version;
    in.calls.push_back(m.call);
  }
  return in;
}

int error_code(Verdict verdict) noexcept {
  switch (verdict) {
    case Verdict::NotJson:
      return -32700;
    case Verdict::InvalidRequest:
    case Verdict::UnreadableBody:
      return -32600;
    case Verdict::HeaderMismatch:
      return -32020;
    case Verdict::Ok:
      break;
  }
  return 0;
}

int http_status(Verdict verdict) noexcept {
  if (verdict == Verdict::Ok) return 200;
  return verdict == Verdict::UnreadableBody ? 415 : 400;
}

std::string error_body(const Inspection& in) {
  std::string message = in.verdict == Verdict::NotJson          ? "Parse error"
                        : in.verdict == Verdict::HeaderMismatch ? "Header mismatch"
                                                                : "Invalid Request";
  if (!in.detail.empty()) message += ": " + in.detail;
  return json{
      {"jsonrpc", "2.0"}, {"id", in.id}, {"error", {{"code", error_code(in.verdict)}, {"message", message}}}}
      .dump();
}

}  // namespace mcpgate::mcp
