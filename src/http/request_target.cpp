#include "http/request_target.hpp"

namespace mcpgate::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool is_control(unsigned char c) {
  return c < 0x20 || c == 0x7f;
}

// RFC 3986 pchar (unreserved, sub-delims, ':', '@') and '/', without ';' (a path parameter to Tomcat and
// Spring, "/health/..;/admin") — the raw bytes a path may hold besides '%'.
bool is_plain_path_byte(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  return std::string_view("-._~!$&'()*+,=:@/").find(static_cast<char>(c)) != std::string_view::npos;
}

// Decoded octets whose meaning differs between one program and the next: a segment separator ('/', '\'),
// a path parameter (';'), an escape ('%': double encoding), a query or fragment start, a dot (encoded dot
// segments), or a control byte.
bool is_ambiguous_when_decoded(unsigned char c) {
  return is_control(c) || std::string_view("/\\;%?#.").find(static_cast<char>(c)) != std::string_view::npos;
}

// Percent-decodes the name of a query parameter, '+' as space; false on a bad escape.
bool decode_query_name(std::string_view in, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(in[i] == '+' ? ' ' : in[i]);
    }
  }
  return true;
}

// The decoded path, or the phrase saying why it cannot be judged.
std::string_view decode_path(std::string_view raw, TargetEncoding encoding, std::string& out) {
  out.clear();
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    const auto c = static_cast<unsigned char>(raw[i]);
    if (c == '%') {
      // Already decoded once: a '%' left means the client sent "%25" (double encoding) or a malformed
      // escape the transport kept; either way a second decoder (the backend's) would see something else.
      if (encoding == TargetEncoding::DecodedByTransport) return "an escape in an already-decoded path";
      if (i + 2 >= raw.size()) return "a malformed percent-escape";
      const int hi = hex_value(raw[i + 1]), lo = hex_value(raw[i + 2]);
      if (hi < 0 || lo < 0) return "a malformed percent-escape";
      const auto d = static_cast<unsigned char>(hi * 16 + lo);
      if (is_ambiguous_when_decoded(d)) return "an encoded separator, dot, escape or control byte";
      out.push_back(static_cast<char>(d));
      i += 2;
      continue;
    }
    if (c == '\\' || c == ';') return "a backslash or a ';' path parameter";
    if (is_control(c)) return "a control byte";
    // Raw bytes outside RFC 3986 are refused; in a decoded value, UTF-8 (from %C3%A9) may stand.
    if (!is_plain_path_byte(c) && !(encoding == TargetEncoding::DecodedByTransport && c >= 0x80))
      return "a byte that must be percent-encoded";
    out.push_back(static_cast<char>(c));
  }
  return {};
}

// "." and ".." segments and empty segments (but a trailing '/'): removed by some programs, kept by others.
std::string_view check_segments(std::string_view path) {
  std::size_t start = 1;
  while (start <= path.size()) {
    std::size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    const std::string_view segment = path.substr(start, end - start);
    if (segment == "." || segment == "..") return "a dot segment";
    if (segment.empty() && end != path.size()) return "an empty path segment";
    start = end + 1;
  }
  return {};
}

bool query_is_clean(std::string_view query) {
  for (unsigned char c : query)
    if (is_control(c) || c == ' ') return false;
  return true;
}

}  // namespace

bool query_has_access_token(std::string_view query) {
  std::size_t i = 0;
  std::string name;
  while (i <= query.size()) {
    std::size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    std::string_view param = query.substr(i, j - i);
    std::string_view raw_name = param.substr(0, param.find('='));
    // An undecodable name still counts if it spells the name: refuse rather than guess.
    if (!decode_query_name(raw_name, name)) name.assign(raw_name);
    if (name == "access_token") return true;
    i = j + 1;
  }
  return false;
}

RequestTarget parse_request_target(std::string_view target, TargetEncoding encoding) {
  RequestTarget t;
  const std::size_t q = target.find('?');
  const std::string_view raw_path = target.substr(0, q);
  if (q != std::string_view::npos) {
    const std::string_view query = target.substr(q + 1);
    if (!query_is_clean(query)) {
      t.problem = "a control byte or space in the query";
      return t;
    }
    t.query_has_access_token = query_has_access_token(query);
  }
  if (raw_path.empty() || raw_path[0] != '/') {
    t.problem = "not an origin-form path";
    return t;
  }
  std::string decoded;
  if (auto problem = decode_path(raw_path, encoding, decoded); !problem.empty()) {
    t.problem = problem;
    return t;
  }
  if (auto problem = check_segments(decoded); !problem.empty()) {
    t.problem = problem;
    return t;
  }
  t.path = std::move(decoded);
  t.ok = true;
  return t;
}

}  // namespace mcpgate::http
