// The Guard's MCP stage: an inspected POST body (or, for forward-auth, its SEP-2243 headers) judged by the
// route's [[routes.rules]]. See src/auth/call_rules.hpp for the rule language, src/mcp/inspect.hpp for the
// inspection, docs/authorization.md for which client gets which answer.
#include <algorithm>

#include "http/challenge.hpp"
#include "http/guard.hpp"
#include "http/request_extractor.hpp"
#include "mcp/inspect.hpp"

namespace mcpgate {
namespace {

using nlohmann::json;

// -32000..-32099 are the implementation's own (JSON-RPC 2.0 §5.1); the TypeScript SDK takes -32000 (connection
// closed), -32001 (request timeout) and -32042 (URL elicitation). -32020 is SEP-2243's HeaderMismatch.
constexpr int kForbiddenCode = -32003;
constexpr std::size_t kLoggedTargetBytes = 256;

struct McpHeaders {
  mcp::Headers view;
  std::string_view origin;
  bool has_origin = false;
  bool ambiguous = false;  // Content-Type or Content-Encoding twice: which one would the upstream read?
};

McpHeaders mcp_headers(std::span<const HeaderField> headers) {
  McpHeaders h;
  int content_type = 0, content_encoding = 0;
  for (const auto& f : headers) {
    if (http::header_name_equals(f.name, "Mcp-Method")) h.view.method = f.value;
    else if (http::header_name_equals(f.name, "Mcp-Name")) h.view.name = f.value;
    else if (http::header_name_equals(f.name, "MCP-Protocol-Version")) h.view.protocol_version = f.value;
    else if (http::header_name_equals(f.name, "Content-Type")) h.view.content_type = f.value, ++content_type;
    else if (http::header_name_equals(f.name, "Content-Encoding")) h.view.content_encoding = f.value, ++content_encoding;
    else if (http::header_name_equals(f.name, "Origin")) h.origin = f.value, h.has_origin = true;
  }
  h.ambiguous = content_type > 1 || content_encoding > 1;
  return h;
}

Reason reason_of(mcp::Verdict v) noexcept {
  switch (v) {
    case mcp::Verdict::NotJson: return Reason::McpNotJson;
    case mcp::Verdict::InvalidRequest: return Reason::McpInvalidRequest;
    case mcp::Verdict::HeaderMismatch: return Reason::McpHeaderMismatch;
    case mcp::Verdict::UnreadableBody: return Reason::McpUnreadableBody;
    case mcp::Verdict::Ok: break;
  }
  return Reason::Ok;
}

std::string dump(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string clip(std::string_view s) { return std::string(s.substr(0, kLoggedTargetBytes)); }

// The scope a step-up asks for: what the token holds, what the route needs, what the rules need (MCP
// authorization: the client asks for exactly this; 2026-07-28 clients also take the union themselves).
std::string union_scope(const Principal& who, const std::vector<std::string>& route,
                        const std::vector<std::string>& missing) {
  std::vector<std::string> all;
  auto add = [&](const std::string& s) {
    if (std::find(all.begin(), all.end(), s) == all.end()) all.push_back(s);
  };
  for (const auto& s : who.scopes) add(s);
  for (const auto& s : route) add(s);
  for (const auto& s : missing) add(s);
  std::string out;
  for (const auto& s : all) out += (out.empty() ? "" : " ") + s;
  return out;
}

}  // namespace

bool Guard::Impl::inspects(std::string_view method, std::string_view path) const {
  // Any spelling: forward-auth takes the method from a header, and an upstream that upper-cases "post" must
  // not receive a body the rules never saw.
  if (method.size() != 4 || (method[0] | 0x20) != 'p' || (method[1] | 0x20) != 'o' || (method[2] | 0x20) != 's' ||
      (method[3] | 0x20) != 't')
    return false;
  const auto rules = rules_.load();
  return rules->match(method, path).mcp;
}

CallOutcome Guard::Impl::decide_call(const CallRequest& req) const {
  const std::shared_ptr<const auth::RouteRules> rules = rules_.load();
  const auth::RouteRule& route = rules->match("POST", req.path);
  CallOutcome out;
  out.decision.allow = true;
  if (!route.mcp) return out;
  const McpHeaders h = mcp_headers(req.headers);
  HeaderList cors;
  if (h.has_origin) cors_->add_response_headers(h.origin, cors);
  auto refuse_json = [&](int status, std::string body, Reason reason) {
    HeaderList headers = cors;
    headers.emplace_back("Content-Type", "application/json");
    headers.emplace_back("Cache-Control", "no-store");
    out.decision = {};
    out.decision.allow = false;
    out.decision.status = status;
    out.decision.reason = reason;
    out.decision.headers = std::move(headers);
    out.decision.body = std::move(body);
    return out;
  };

  mcp::Inspection in;
  if (req.body) {
    if (h.ambiguous) {
      in.verdict = mcp::Verdict::UnreadableBody;
      in.detail = "Content-Type or Content-Encoding appears twice";
    } else {
      in = mcp::inspect(*req.body, h.view);
    }
  } else {
    // Forward-auth: no body, only what the headers say (the upstream must check them against the body).
    if (!h.view.method) {
      if (route.calls.empty()) return out;  // no rule to apply: the route's scopes decided
      in.verdict = mcp::Verdict::HeaderMismatch;
      in.detail = "Mcp-Method is required here: forward-auth judges MCP rules from the request headers";
    } else {
      mcp::Call call;
      call.method = std::string(*h.view.method);
      if (h.view.name) {
        auto name = mcp::decode_header_value(*h.view.name);
        if (!name) {
          in.verdict = mcp::Verdict::HeaderMismatch;
          in.detail = "Mcp-Name is not valid base64";
        } else {
          call.target = std::move(*name);
          call.has_target = true;
        }
      }
      // A method that names a tool, prompt or resource without Mcp-Name would slip past every rule on a target.
      const bool named = call.method == "tools/call" || call.method == "prompts/get" ||
                         call.method == "resources/read" || call.method == "resources/subscribe" ||
                         call.method == "resources/unsubscribe";
      if (named && !call.has_target && in.verdict == mcp::Verdict::Ok && !route.calls.empty()) {
        in.verdict = mcp::Verdict::HeaderMismatch;
        in.detail = "Mcp-Name is required for " + call.method + " here: forward-auth judges rules from the headers";
      }
      in.calls.push_back(std::move(call));
    }
  }
  if (!in.calls.empty()) {
    out.mcp_method = in.batch ? "batch" : clip(in.calls.front().method);
    if (!in.batch && in.calls.front().has_target) out.mcp_target = clip(in.calls.front().target);
  }
  if (in.verdict != mcp::Verdict::Ok)
    return refuse_json(mcp::http_status(in.verdict), mcp::error_body(in), reason_of(in.verdict));

  // Every message judged on its own; the strictest verdict answers for the request.
  const auth::CallRule* deciding = nullptr;
  std::vector<std::string> missing;
  bool forbidden = false;
  for (const auto& call : in.calls) {
    if (call.method.empty()) continue;  // a response to the server's request: nothing to authorize
    auth::CallVerdict v = route.calls.judge(call.method,
                                            call.has_target ? std::optional<std::string_view>(call.target)
                                                            : std::nullopt,
                                            req.principal);
    if (v.kind == auth::CallVerdict::Kind::Forbidden) {
      forbidden = true;
      deciding = v.rule;
      break;
    }
    if (v.kind == auth::CallVerdict::Kind::NeedsScope) {
      if (missing.empty()) deciding = v.rule;
      for (auto& s : v.missing)
        if (std::find(missing.begin(), missing.end(), s) == missing.end()) missing.push_back(std::move(s));
    } else if (!deciding && v.rule && in.calls.size() == 1) {
      deciding = v.rule;
    }
  }
  if (deciding) out.rule = deciding->name;
  if (!forbidden && missing.empty() && !route.calls.empty()) {
    out.lists = mcp::list_requests(in.calls);
    out.stateless = in.protocol_version == mcp::kStatelessRevision;
  }
  if (forbidden) {
    const bool notification = in.calls.size() == 1 && in.calls.front().notification;
    json body = {{"jsonrpc", "2.0"},
                 {"id", notification ? json(nullptr) : in.id},
                 {"error", {{"code", kForbiddenCode}, {"message", "Forbidden: this request is not allowed"}}}};
    return refuse_json(403, dump(body), Reason::CallDenied);
  }
  if (!missing.empty() && req.principal) {
    const auto& resource = metadata_->resource_for(req.path);
    const std::string scope = union_scope(*req.principal, route.scopes, missing);
    http::Refusal r = http::refusal_for(Reason::InsufficientScope, {.realm = config_.server.realm,
                                                                    .resource_metadata = resource.metadata_url,
                                                                    .scope = scope});
    const bool in_band = req.in_band_step_up && route.step_up_in_band && !in.batch && in.calls.size() == 1 &&
                         in.calls.front().method == "tools/call" && !in.calls.front().notification;
    if (in_band) {
      // ChatGPT (Apps SDK): a tool result the model sees, with the challenge the host acts on.
      std::string challenge;
      for (const auto& [k, v] : r.headers)
        if (k == "WWW-Authenticate") challenge = v;
      json result = {
          {"content", json::array({{{"type", "text"},
                                    {"text", "This tool needs more access. Sign in again to grant: " + scope}}})},
          {"isError", true},
          {"_meta", {{"mcp/www_authenticate", json::array({challenge})}}}};
      json body = {{"jsonrpc", "2.0"}, {"id", in.id}, {"result", std::move(result)}};
      out.step_up_in_band = true;
      out.decision = {};
      out.decision.allow = false;
      out.decision.status = 200;
      out.decision.reason = Reason::InsufficientScope;
      out.decision.headers = cors;
      out.decision.headers.emplace_back("Content-Type", "application/json");
      out.decision.headers.emplace_back("Cache-Control", "no-store");
      out.decision.body = dump(body);
      return out;
    }
    for (auto& hd : r.headers) cors.push_back(std::move(hd));
    out.decision = {};
    out.decision.allow = false;
    out.decision.status = r.status;
    out.decision.reason = Reason::InsufficientScope;
    out.decision.headers = std::move(cors);
    out.decision.body = std::move(r.body);
    return out;
  }
  return out;
}

mcp::Filtered Guard::Impl::filter_list(std::string_view path, const Principal* principal, const CallOutcome& call,
                                       std::string_view body, bool event_stream) const {
  const std::shared_ptr<const auth::RouteRules> rules = rules_.load();
  const auth::RouteRule& route = rules->match("POST", path);
  auto judge = [&](std::string_view method, std::string_view target) {
    const auth::CallVerdict v = route.calls.judge(method, target, principal);
    mcp::ItemVerdict item;
    // Hidden: what no token of this principal could use. Kept: what it may call now, and what a step-up
    // grants (the client must see a tool to call it and be asked for the scope).
    item.hide = v.kind == auth::CallVerdict::Kind::Forbidden;
    item.scopes = route.scopes;
    if (v.rule) {
      for (const auto& s : v.rule->scopes)
        if (std::find(item.scopes.begin(), item.scopes.end(), s) == item.scopes.end()) item.scopes.push_back(s);
      if (!v.rule->any_scopes.empty()) item.scopes.push_back(v.rule->any_scopes.front());
    }
    return item;
  };
  return mcp::filter_list(body, event_stream, call.lists, judge, {.private_cache = call.stateless});
}

}  // namespace mcpgate
