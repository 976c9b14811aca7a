#include "http/request_extractor.hpp"

namespace mcpgate::http {
namespace {

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// RFC 6750 §2.1: b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
bool is_b64token(std::string_view v) {
  std::size_t i = 0;
  while (i < v.size()) {
    char c = v[i];
    bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '.' || c == '_' || c == '~' || c == '+' || c == '/';
    if (!ok) break;
    ++i;
  }
  if (i == 0) return false;
  while (i < v.size() && v[i] == '=') ++i;
  return i == v.size();
}

// RFC 9110 §5.6.2 token characters (an auth-scheme is a token).
bool is_tchar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string_view trim(std::string_view v) {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

}  // namespace

bool has_forbidden_octet(std::string_view value) noexcept {
  for (char c : value)
    if (c == '\r' || c == '\n' || c == '\0') return true;
  return false;
}

bool header_name_equals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(a[i]) != lower(b[i])) return false;
  return true;
}

Result<std::string_view> extract_bearer(std::span<const HeaderField> headers, bool query_has_access_token) {
  const HeaderField* authorization = nullptr;
  int count = 0;
  for (const auto& h : headers) {
    if (!header_name_equals(h.name, "authorization")) continue;
    if (has_forbidden_octet(h.value)) return Status{Reason::InvalidHeaderValue};
    authorization = &h;
    ++count;
  }
  if (query_has_access_token) return Status{Reason::TokenInQuery};
  if (count > 1) return Status{Reason::DuplicateAuthorization};
  if (count == 0) return Status{Reason::MissingCredentials};

  std::string_view value = trim(authorization->value);
  if (value.empty()) return Status{Reason::MalformedAuthorization};
  std::size_t scheme_end = 0;
  while (scheme_end < value.size() && is_tchar(value[scheme_end])) ++scheme_end;
  std::string_view scheme = value.substr(0, scheme_end);
  std::string_view rest = value.substr(scheme_end);
  if (!rest.empty() && rest.front() != ' ')
    return Status{Reason::MalformedAuthorization};  // "Bearer:x", "a,b"
  std::string_view credentials = trim(rest);
  if (!header_name_equals(scheme, "bearer")) {
    // "Basic dXNl...", "Token abc": a credential of another scheme; a bare value ("eyJ...") has no scheme at
    // all.
    return Status{credentials.empty() ? Reason::MalformedAuthorization : Reason::UnsupportedScheme};
  }
  if (credentials.find(',') != std::string_view::npos) return Status{Reason::DuplicateAuthorization};
  if (!is_b64token(credentials)) return Status{Reason::MalformedAuthorization};
  return credentials;
}

}  // namespace mcpgate::http
