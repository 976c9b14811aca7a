#include "http/request_target.hpp"

#include <vector>

namespace mcpgate::http {
namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Percent-decodes; false on a bad escape or a decoded NUL. `reject_slash` refuses %2F in paths: a decoded '/'
// would change the segment structure between us and the upstream.
bool percent_decode(std::string_view in, std::string& out, bool reject_slash, bool plus_is_space) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      char d = static_cast<char>(hi * 16 + lo);
      if (d == '\0' || (reject_slash && d == '/')) return false;
      out.push_back(d);
      i += 2;
    } else if (c == '\0') {
      return false;
    } else {
      out.push_back(plus_is_space && c == '+' ? ' ' : c);
    }
  }
  return true;
}

}  // namespace

std::string normalize_path(std::string_view decoded_path) {
  std::vector<std::string_view> segments;
  std::size_t i = 0;
  bool trailing_slash = false;
  while (i <= decoded_path.size()) {
    std::size_t j = decoded_path.find('/', i);
    if (j == std::string_view::npos) j = decoded_path.size();
    std::string_view seg = decoded_path.substr(i, j - i);
    trailing_slash = false;
    if (seg == "..") {
      if (!segments.empty()) segments.pop_back();
      trailing_slash = true;
    } else if (seg == ".") {
      trailing_slash = true;
    } else if (!seg.empty()) {
      segments.push_back(seg);
    } else if (j == decoded_path.size() && i > 0) {
      trailing_slash = true;  // the path ends in '/'
    }
    i = j + 1;
  }
  std::string out;
  for (auto s : segments) {
    out.push_back('/');
    out.append(s);
  }
  if (out.empty() || trailing_slash) out.push_back('/');
  return out;
}

bool query_has_access_token(std::string_view query) {
  std::size_t i = 0;
  std::string name;
  while (i <= query.size()) {
    std::size_t j = query.find('&', i);
    if (j == std::string_view::npos) j = query.size();
    std::string_view param = query.substr(i, j - i);
    std::string_view raw_name = param.substr(0, param.find('='));
    // An undecodable name still counts if it spells the name: refuse rather than guess.
    if (!percent_decode(raw_name, name, false, true)) name.assign(raw_name);
    if (name == "access_token") return true;
    i = j + 1;
  }
  return false;
}

RequestTarget parse_request_target(std::string_view target) {
  RequestTarget t;
  std::size_t q = target.find('?');
  std::string_view raw_path = target.substr(0, q);
  if (std::size_t h = raw_path.find('#'); h != std::string_view::npos) raw_path = raw_path.substr(0, h);
  if (q != std::string_view::npos) {
    std::string_view query = target.substr(q + 1);
    query = query.substr(0, query.find('#'));
    t.query_has_access_token = query_has_access_token(query);
  }
  if (raw_path.empty() || raw_path[0] != '/') return t;
  std::string decoded;
  if (!percent_decode(raw_path, decoded, true, false)) return t;
  t.path = normalize_path(decoded);
  t.ok = true;
  return t;
}

}  // namespace mcpgate::http
