#include "gateway/upstream.hpp"

namespace mcpgate::gateway {

std::optional<Upstream> parse_upstream(std::string_view url) {
  Upstream up;
  std::string_view rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    rest = url.substr(8);
    up.tls = true;
  } else {
    return std::nullopt;
  }
  std::size_t slash = rest.find('/');
  up.authority = std::string(rest.substr(0, slash));
  if (up.authority.empty() || up.authority.find_first_of("@?# ") != std::string::npos) return std::nullopt;
  std::string_view auth = up.authority;
  std::string_view port;
  if (auth.front() == '[') {
    const std::size_t close = auth.find(']');
    if (close == std::string_view::npos) return std::nullopt;
    up.host = std::string(auth.substr(1, close - 1));
    if (close + 1 < auth.size()) {
      if (auth[close + 1] != ':') return std::nullopt;
      port = auth.substr(close + 2);
    }
  } else {
    const std::size_t colon = auth.rfind(':');
    up.host = std::string(auth.substr(0, colon));
    if (colon != std::string_view::npos) port = auth.substr(colon + 1);
  }
  if (up.host.empty()) return std::nullopt;
  if (port.empty()) port = up.tls ? "443" : "80";
  for (char c : port)
    if (c < '0' || c > '9') return std::nullopt;
  up.port = std::string(port);
  up.origin = std::string(url.substr(0, url.size() - rest.size())) + up.authority;
  if (slash != std::string_view::npos) {
    up.base_path = std::string(rest.substr(slash));
    while (up.base_path.size() > 1 && up.base_path.back() == '/') up.base_path.pop_back();
    if (up.base_path == "/") up.base_path.clear();
  }
  return up;
}

std::string Upstream::map_path(std::string_view route_prefix, std::string_view path) const {
  if (base_path.empty()) return std::string(path);
  std::string_view prefix = route_prefix;
  if (prefix.size() > 1 && prefix.back() == '/') prefix.remove_suffix(1);
  std::string_view tail = path.rfind(prefix, 0) == 0 ? path.substr(prefix.size()) : path;
  if (!tail.empty() && tail.front() != '/') return base_path + "/" + std::string(tail);
  return base_path + std::string(tail);
}

}  // namespace mcpgate::gateway
