// header_syntax.hpp — a header block is judged only when the upstream will read it the same way.
//
//   std::vector<mcpgate::HeaderField> fields = {{"X-Auth-Subject ", "evil"}};   // space before the colon
//   mcpgate::http::check_header_syntax(fields, {});      // Reason::HeaderNameInvalid → 400
//   mcpgate::http::check_header_syntax({{"Mcp-Session-Id", "a"}, {"Mcp_Session_Id", "b"}}, {});
//                                                        // Reason::HeaderAmbiguous → 400
//
// Why (RFC 9112 §5.1, §5.2; RFC 9110 §5.5, §5.6.2): cpp-httplib 0.11.4 keeps whitespace before the colon
// in the name ("X-Auth-Subject " — which other servers trim and then trust) and takes an obs-fold line
// (" X-Auth-Subject: x") as a header of its own; both would be forwarded verbatim. A field name that is
// not a token is refused, and so is a value holding a control byte other than HTAB. CGI, WSGI and Rack
// turn '-' into '_' (HTTP_MCP_SESSION_ID), so "Mcp_Session_Id" beside, or instead of, the
// "Mcp-Session-Id" that we check would be read upstream as the one we did not check: a '_' spelling of a
// name that is present in another spelling, or of a name mcpgate itself reads, is refused. Headers that
// must appear once (the session id, the protocol version, Host, Origin, the forward-auth headers) appear
// once.
#pragma once

#include <mcpgate/guard.hpp>
#include <mcpgate/status.hpp>
#include <span>
#include <string>
#include <string_view>

namespace mcpgate::http {

// RFC 9110 §5.6.2 token.
bool is_token(std::string_view text) noexcept;
// `singletons`: extra names (any case) that must appear at most once, e.g. the forward-auth headers.
Reason check_header_syntax(std::span<const HeaderField> headers, std::span<const std::string> singletons);

}  // namespace mcpgate::http
