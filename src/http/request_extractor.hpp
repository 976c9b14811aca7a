// request_extractor.hpp — the extract stage: where the bearer token is, or why the request is malformed.
//
//   std::vector<mcpgate::HeaderField> headers = {{"Authorization", "Bearer eyJ..."}};
//   mcpgate::Result<std::string_view> token = mcpgate::http::extract_bearer(headers, /*query_has_access_token=*/false);
//   token.reason;  // Ok (*token: a view into the header value), MissingCredentials (401, bare challenge)
//                  // or a 400 invalid_request reason
//
// Rules (RFC 6750 §2, §3.1): only the Authorization header carries a token (§2.1); a token in the query
// (§2.3) is refused even when a header is present, so it cannot be logged by proxies and then replayed; more
// than one Authorization header or credential is ambiguous (§3.1 "more than one method"); the scheme is
// matched case- insensitively (RFC 9110 §11.1) and the credential must be a b64token (token68). A header
// value holding CR, LF or NUL (cpp-httplib percent-decodes header values) is refused before anything reads
// it.
#pragma once

#include <mcpgate/guard.hpp>
#include <mcpgate/status.hpp>
#include <span>
#include <string_view>

namespace mcpgate::http {

// The token is a view into the header value.
Result<std::string_view> extract_bearer(std::span<const HeaderField> headers, bool query_has_access_token);

// True when a header value holds CR, LF or NUL (response splitting / smuggling after percent-decoding).
bool has_forbidden_octet(std::string_view value) noexcept;
// ASCII case-insensitive equality of header names.
bool header_name_equals(std::string_view a, std::string_view b) noexcept;

}  // namespace mcpgate::http
