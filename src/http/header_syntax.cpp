#include "http/header_syntax.hpp"

#include <algorithm>
#include <array>
#include <vector>

#include "http/request_extractor.hpp"

namespace mcpgate::http {
namespace {

bool is_tchar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

// Lower case, '_' as '-': the name as CGI-style stacks (and our own stripping) see it.
std::string folded(std::string_view name) {
  std::string out(name);
  for (char& c : out) c = c == '_' ? '-' : (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  return out;
}

// Names mcpgate reads or whose meaning the upstream shares with us: never accepted in a '_' spelling.
bool read_by_us(std::string_view folded_name) {
  static constexpr std::array<std::string_view, 19> names = {
      "authorization",    "proxy-authorization", "mcp-session-id",   "mcp-protocol-version",
      "mcp-method",       "mcp-name",            "last-event-id",    "origin",
      "host",             "content-length",      "transfer-encoding", "content-type",
      "content-encoding", "connection",          "cookie",           "forwarded",
      "x-real-ip",        "access-control-request-method", "access-control-request-headers"};
  if (std::find(names.begin(), names.end(), folded_name) != names.end()) return true;
  return folded_name.starts_with("x-forwarded-") || folded_name.starts_with("x-original-");
}

bool must_be_single(std::string_view folded_name, std::span<const std::string> singletons) {
  static constexpr std::array<std::string_view, 7> names = {
      "mcp-session-id", "mcp-protocol-version", "mcp-method", "mcp-name", "last-event-id", "host", "origin"};
  if (std::find(names.begin(), names.end(), folded_name) != names.end()) return true;
  return std::any_of(singletons.begin(), singletons.end(),
                     [&](const std::string& s) { return folded(s) == folded_name; });
}

bool value_is_clean(std::string_view value) {
  for (char c : value) {
    const auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && u != '\t') || u == 0x7f) return false;
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
  std::vector<std::string> names;  // folded once: at most server.max_header_count of them
  names.reserve(headers.size());
  for (const auto& h : headers) names.push_back(folded(h.name));
  for (std::size_t i = 0; i < headers.size(); ++i) {
    const bool underscored = headers[i].name.find('_') != std::string_view::npos;
    if (underscored && read_by_us(names[i])) return Reason::HeaderAmbiguous;
    const bool single = must_be_single(names[i], singletons);
    for (std::size_t j = i + 1; j < headers.size(); ++j) {
      if (names[j] != names[i]) continue;
      // The same name twice is a list (RFC 9110 §5.3) unless it must be single; two spellings never are.
      const bool same_spelling = header_name_equals(headers[i].name, headers[j].name);
      if (single || !same_spelling) return Reason::HeaderAmbiguous;
    }
  }
  return Reason::Ok;
}

}  // namespace mcpgate::http
