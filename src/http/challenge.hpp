// challenge.hpp — the respond stage for refusals: status, WWW-Authenticate and a small JSON body from one
// Reason.
//
//   mcpgate::http::ChallengeContext ctx{.realm = "mcpgate",
//                                       .resource_metadata =
//                                       "https://h/.well-known/oauth-protected-resource/mcp", .scope =
//                                       "mcp:read mcp:write"};
//   mcpgate::http::Refusal r = mcpgate::http::refusal_for(mcpgate::Reason::Expired, ctx);
//   r.status;    // 401, from mcpgate::http_status — never decided here
//   r.headers;   // WWW-Authenticate: Bearer realm="mcpgate", error="invalid_token", error_description="The
//   token
//                //   has expired.", resource_metadata="https://h/...", scope="mcp:read mcp:write"
//   r.body;      // {"error":"invalid_token","error_description":"The token has expired."}
//
// RFC 6750 §3: no credentials → a bare challenge with no error attribute; invalid_request (400),
// invalid_token (401), insufficient_scope (403, scope = everything the route needs, MCP step-up). realm and
// scope appear at most once; every value is an RFC 9110 §5.6.4 quoted-string with '"' and '\' escaped and
// control characters dropped. 503 reasons carry Retry-After (RFC 9110 §10.2.3) and no challenge: the
// credentials were not judged.
#pragma once

#include <mcpgate/guard.hpp>
#include <mcpgate/status.hpp>
#include <string>
#include <string_view>

namespace mcpgate::http {

struct ChallengeContext {
  std::string_view realm{};
  std::string_view resource_metadata{};  // absolute URL of the path-suffixed RFC 9728 document
  std::string_view scope{};              // the route's scopes, space-separated; omitted when empty
};

struct ChallengeParams {
  std::string_view realm{};
  std::string_view error{};
  std::string_view error_description{};
  std::string_view resource_metadata{};
  std::string_view scope{};
};

// `Bearer realm="...", error="...", error_description="...", resource_metadata="...", scope="..."` (empty
// omitted).
std::string bearer_challenge(const ChallengeParams& params);
// RFC 9110 §5.6.4 quoted-string of `value` (with the surrounding quotes).
std::string quoted_string(std::string_view value);

struct Refusal {
  int status = 500;
  HeaderList headers;
  std::string body;
};

Refusal refusal_for(Reason reason, const ChallengeContext& context, double retry_after_seconds = 0);
// {"error": ..., "error_description": ...} — the JSON body every refusal and 404 uses.
std::string error_body(std::string_view error, std::string_view description);

}  // namespace mcpgate::http
