#include "http/header_syntax.hpp"

#include <algorithm>
#include <array>

#include "http/request_extractor.hpp"

namespace mcpgate::http {
namespace {

// RFC 9110 §5.6.2 tchar, as a table: every byte of every header name goes through it.
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<std::size_t>(c)] =
        (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  return t;
}();

bool is_tchar(char c) {
  return kTchar[static_cast<unsigned char>(c)];
}

char fold(char c) {
  return c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

// Equal as CGI-style stacks (and our own stripping) see names: case-insensitive, '_' as '-'. No allocation:
// this runs over every header of every request.
bool folded_equal(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (fold(a[i]) != fold(b[i])) return false;
  return true;
}

bool folded_starts_with(std::string_view name, std::string_view prefix) {
  return name.size() >= prefix.size() && folded_equal(name.substr(0, prefix.size()), prefix);
}

// Names mcpgate reads or whose meaning the upstream shares with us: never accepted in a '_' spelling.
bool read_by_us(std::string_view name) {
  static constexpr std::array<std::string_view, 19> names = {"authorization",
                                                             "proxy-authorization",
                                                             "mcp-session-id",
                                                             "mcp-protocol-version",
                                                             "mcp-method",
                                                             "mcp-name",
                                                             "last-event-id",
                                                             "origin",
                                                             "host",
                                                             "content-length",
                                                             "transfer-encoding",
                                                             "content-type",
                                                             "content-encoding",
                                                             "connection",
                                                             "cookie",
                                                             "forwarded",
                                                             "x-real-ip",
                                                             "access-control-request-method",
                                                             "access-control-request-headers"};
  for (std::string_view n : names)
    if (folded_equal(name, n)) return true;
  return folded_starts_with(name, "x-forwarded-") || folded_starts_with(name, "x-original-");
}

bool must_be_single(std::string_view name, std::span<const std::string> singletons) {
  static constexpr std::array<std::string_view, 7> names = {
      "mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name", "last-event-id", "host", "origin"};
  for (std::string_view n : names)
    if (folded_equal(name, n)) return true;
  for (const auto& s : singletons)
    if (folded_equal(name, s)) return true;
  return false;
}

bool value_is_clean(std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 ? u != '\t' : u == 0x7f) return false;
  }
  return true;
}

}  // namespace

bool is_token(std::string_view text) noexcept {
  return !text.empty() && std::all_of(text.begin(), text.end(), is_tchar);
}

Reason check_header_syntax(std::span<const HeaderField> headers, std::span<const std::string> singletons) {
  for (const auto& h : headers) {
    if (!is_token(h.name)) return Reason::HeaderNameInvalid;
    if (!value_is_clean(h.value)) return Reason::InvalidHeaderValue;
  }
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const std::string_view name = headers[i].name;
    if (name.find('_') != std::string_view::npos && read_by_us(name)) return Reason::HeaderAmbiguous;
    const bool single = must_be_single(name, singletons);
    for (std::size_t j = i + 1; j < headers.size(); ++j) {
      if (!folded_equal(headers[j].name, name)) continue;
      // The same name twice is a list (RFC 9110 §5.3) unless it must be single; two spellings never are.
      if (single || !header_name_equals(name, headers[j].name)) return Reason::HeaderAmbiguous;
    }
  }
  return Reason::Ok;
}

}  // namespace mcpgate::http
