// request_target.hpp — the one place a request target becomes the path rules are judged by.
//
//   mcpgate::http::RequestTarget t = mcpgate::http::parse_request_target("/m%63p/x?a=1&access_token=abc");
//   t.ok;                      // true
//   t.path;                    // "/mcp/x": percent-decoded exactly once
//   t.query_has_access_token;  // true: RFC 6750 §2.3 query tokens are refused, never used
//   parse_request_target("/health/..;/admin").ok;   // false: refused (400), never guessed
//   parse_request_target("/mcp/%252e%252e/health").ok;  // false: decoded once it still holds an escape
//
//   // A value the transport already percent-decoded once (cpp-httplib 0.11.4 decodes every header value,
//   // so X-Original-URI arrives decoded): judged as it is, never decoded a second time.
//   parse_request_target(header_value, TargetEncoding::DecodedByTransport);
//
// Why refuse instead of normalise: the gateway, forward-auth and the embedded Guard judge a path that some
// other program (the upstream, the backend behind nginx) routes on after its own decoding and
// normalisation — once, twice, with or without dot-segment removal, with '\' as '/', with ';' path
// parameters stripped (Tomcat), with '//' merged (nginx). The judged path is only the backend's path when
// no such step can change it, so every byte that one of them treats differently is refused with 400:
// dot segments ("." and "..", raw or encoded), empty segments ("//"), '\' and ';' raw or encoded, an
// encoded '/', '%', '?' or '#', a control byte, a byte outside RFC 3986's path characters, and any
// malformed escape (cpp-httplib also decodes "%uXXXX": refused). What remains decodes to the same string
// however many times it is decoded, and needs no normalisation.
#pragma once

#include <string>
#include <string_view>

namespace mcpgate::http {

enum class TargetEncoding {
  Raw,                 // as it was on the request line (origin-form)
  DecodedByTransport,  // already percent-decoded once by the HTTP library: never decoded again
};

struct RequestTarget {
  bool ok = false;
  std::string path;  // decoded once; what rules match and what the upstream routes on
  bool query_has_access_token = false;
  std::string_view problem;  // why !ok, a short phrase for logs and the 400 body (never request bytes)
};

RequestTarget parse_request_target(std::string_view target, TargetEncoding encoding = TargetEncoding::Raw);
// True when a query string (without '?') has a parameter named access_token (the name percent-decoded).
bool query_has_access_token(std::string_view query);

}  // namespace mcpgate::http
