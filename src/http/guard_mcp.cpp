// The Guard's MCP stage: an inspected POST body (or, for forward-auth, its SEP-2243 headers) judged by the
// route's [[routes.rules]]. See src/auth/call_rules.hpp for the rule language, src/mcp/inspect.hpp for the
// inspection, docs/authorization.md for which client gets which answer.
#include <algorithm>
#include <optional>

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
    if (http::header_name_equals(f.name, "Mcp-Method"))
      h.view.method = f.value;
    else if (http::header_name_equals(f.name, "Mcp-Name"))
      h.view.name = f.value;
    else if (http::header_name_equals(f.name, "MCP-Protocol-Version"))
      h.view.protocol_version = f.value;
    else if (http::header_name_equals(f.name, "Content-Type"))
      h.view.content_type = f.value, ++content_type;
    else if (http::header_name_equals(f.name, "Content-Encoding"))
      h.view.content_encoding = f.value, ++content_encoding;
    else if (http::header_name_equals(f.name, "Origin"))
      h.origin = f.value, h.has_origin = true;
  }
  h.ambiguous = content_type > 1 || content_encoding > 1;
  return h;
}

Reason reason_of(mcp::Verdict v) noexcept {
  switch (v) {
    case mcp::Verdict::NotJson:
      return Reason::McpNotJson;
    case mcp::Verdict::InvalidRequest:
      return Reason::McpInvalidRequest;
    case mcp::Verdict::HeaderMismatch:
      return Reason::McpHeaderMismatch;
    case mcp::Verdict::UnreadableBody:
      return Reason::McpUnreadableBody;
    case mcp::Verdict::Ok:
      break;
  }
  return Reason::Ok;
}

std::string dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string clip(std::string_view s) {
  return std::string(s.substr(0, kLoggedTargetBytes));
}

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

// A refusal with a JSON body (JSON-RPC error or result): the CORS headers of the request, never cached.
Decision json_answer(HeaderList headers, int status, std::string body, Reason reason) {
  headers.emplace_back("Content-Type", "application/json");
  headers.emplace_back("Cache-Control", "no-store");
  Decision d;
  d.allow = false;
  d.status = status;
  d.reason = reason;
  d.headers = std::move(headers);
  d.body = std::move(body);
  return d;
}

bool names_a_target(std::string_view method) {
  return method == "tools/call" || method == "prompts/get" || method == "resources/read" ||
         method == "resources/subscribe" || method == "resources/unsubscribe";
}

// Forward-auth: no body, only what the SEP-2243 headers say (the upstream must check them against the body).
// nullopt when there is nothing to judge (no Mcp-Method on a route without rules: its scopes decided).
std::optional<mcp::Inspection> inspect_headers(const McpHeaders& h, const auth::RouteRule& route) {
  mcp::Inspection in;
  if (!h.view.method) {
    if (route.calls.empty()) return std::nullopt;
    in.verdict = mcp::Verdict::HeaderMismatch;
    in.detail = "Mcp-Method is required here: forward-auth judges MCP rules from the request headers";
    return in;
  }
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
  if (names_a_target(call.method) && !call.has_target && in.verdict == mcp::Verdict::Ok &&
      !route.calls.empty()) {
    in.verdict = mcp::Verdict::HeaderMismatch;
    in.detail =
        "Mcp-Name is required for " + call.method + " here: forward-auth judges rules from the headers";
  }
  in.calls.push_back(std::move(call));
  return in;
}

// What the rules say of every message of the request; the strictest verdict answers for all of them.
struct Judgment {
  const auth::CallRule* deciding = nullptr;  // the rule that decided (for the access log)
  std::vector<std::string> missing;          // scopes a step-up must add
  bool forbidden = false;
};

Judgment judge_calls(const auth::RouteRule& route, const mcp::Inspection& in, const Principal* who) {
  Judgment j;
  for (const auto& call : in.calls) {
    if (call.method.empty()) continue;  // a response to the server's request: nothing to authorize
    auth::CallVerdict v = route.calls.judge(
        call.method, call.has_target ? std::optional<std::string_view>(call.target) : std::nullopt, who);
    if (v.kind == auth::CallVerdict::Kind::Forbidden) {
      j.forbidden = true;
      j.deciding = v.rule;
      return j;
    }
    if (v.kind == auth::CallVerdict::Kind::NeedsScope) {
      if (j.missing.empty()) j.deciding = v.rule;
      for (auto& s : v.missing)
        if (std::find(j.missing.begin(), j.missing.end(), s) == j.missing.end())
          j.missing.push_back(std::move(s));
    } else if (!j.deciding && v.rule && in.calls.size() == 1) {
      j.deciding = v.rule;
    }
  }
  return j;
}

Decision forbidden_answer(const mcp::Inspection& in, HeaderList cors) {
  const bool notification = in.calls.size() == 1 && in.calls.front().notification;
  json body = {{"jsonrpc", "2.0"},
               {"id", notification ? json(nullptr) : in.id},
               {"error", {{"code", kForbiddenCode}, {"message", "Forbidden: this request is not allowed"}}}};
  return json_answer(std::move(cors), 403, dump(body), Reason::CallDenied);
}

// ChatGPT (Apps SDK): the step-up as a tool result the model sees, with the challenge the host acts on.
Decision in_band_step_up(const mcp::Inspection& in, const http::Refusal& challenge, const std::string& scope,
                         HeaderList cors) {
  std::string www_authenticate;
  for (const auto& [k, v] : challenge.headers)
    if (k == "WWW-Authenticate") www_authenticate = v;
  json result = {
      {"content", json::array({{{"type", "text"},
                                {"text", "This tool needs more access. Sign in again to grant: " + scope}}})},
      {"isError", true},
      {"_meta", {{"mcp/www_authenticate", json::array({www_authenticate})}}}};
  json body = {{"jsonrpc", "2.0"}, {"id", in.id}, {"result", std::move(result)}};
  return json_answer(std::move(cors), 200, dump(body), Reason::InsufficientScope);
}

}  // namespace

bool Guard::Impl::inspects(std::string_view method, std::string_view path) const {
  // Any spelling: forward-auth takes the method from a header, and an upstream that upper-cases "post" must
  // not receive a body the rules never saw.
  if (method.size() != 4 || (method[0] | 0x20) != 'p' || (method[1] | 0x20) != 'o' ||
      (method[2] | 0x20) != 's' || (method[3] | 0x20) != 't')
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

  mcp::Inspection in;
  if (!req.body) {
    std::optional<mcp::Inspection> from_headers = inspect_headers(h, route);
    if (!from_headers) return out;
    in = std::move(*from_headers);
  } else if (h.ambiguous) {
    in.verdict = mcp::Verdict::UnreadableBody;
    in.detail = "Content-Type or Content-Encoding appears twice";
  } else {
    in = mcp::inspect(*req.body, h.view);
  }
  if (!in.calls.empty()) {
    out.mcp_method = in.batch ? "batch" : clip(in.calls.front().method);
    if (!in.batch && in.calls.front().has_target) out.mcp_target = clip(in.calls.front().target);
  }
  if (in.verdict != mcp::Verdict::Ok) {
    out.decision = json_answer(std::move(cors), mcp::http_status(in.verdict), mcp::error_body(in),
                               reason_of(in.verdict));
    return out;
  }

  const Judgment j = judge_calls(route, in, req.principal);
  if (j.deciding) out.rule = j.deciding->name;
  if (j.forbidden) {
    out.decision = forbidden_answer(in, std::move(cors));
  } else if (!j.missing.empty() && req.principal) {
    out.decision = step_up(req, route, in, j.missing, std::move(cors), out.step_up_in_band);
  } else if (j.missing.empty() && !route.calls.empty()) {
    out.lists = mcp::list_requests(in.calls);
    out.stateless = in.protocol_version == mcp::kStatelessRevision;
  }
  return out;
}

// The 403 insufficient_scope challenge asking for the union of scopes, or (ChatGPT, one tools/call, route
// step_up = "tool_result") the same challenge inside a 200 tool result.
Decision Guard::Impl::step_up(const CallRequest& req, const auth::RouteRule& route, const mcp::Inspection& in,
                              const std::vector<std::string>& missing, HeaderList cors, bool& in_band) const {
  const std::string scope = union_scope(*req.principal, route.scopes, missing);
  http::Refusal r = http::refusal_for(Reason::InsufficientScope,
                                      {.realm = config_.server.realm,
                                       .resource_metadata = metadata_->resource_for(req.path).metadata_url,
                                       .scope = scope});
  in_band = req.in_band_step_up && route.step_up_in_band && !in.batch && in.calls.size() == 1 &&
            in.calls.front().method == "tools/call" && !in.calls.front().notification;
  if (in_band) return in_band_step_up(in, r, scope, std::move(cors));
  for (auto& header : r.headers) cors.push_back(std::move(header));
  Decision d;
  d.allow = false;
  d.status = r.status;
  d.reason = Reason::InsufficientScope;
  d.headers = std::move(cors);
  d.body = std::move(r.body);
  return d;
}

mcp::Filtered Guard::Impl::filter_list(std::string_view path, const Principal* principal,
                                       const CallOutcome& call, std::string_view body,
                                       bool event_stream) const {
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
        if (std::find(item.scopes.begin(), item.scopes.end(), s) == item.scopes.end())
          item.scopes.push_back(s);
      if (!v.rule->any_scopes.empty()) item.scopes.push_back(v.rule->any_scopes.front());
    }
    return item;
  };
  return mcp::filter_list(body, event_stream, call.lists, judge, {.private_cache = call.stateless});
}

}  // namespace mcpgate
