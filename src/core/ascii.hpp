// ascii.hpp — ASCII case for protocol text (schemes, hosts, header names and media types are case-insensitive
// in ASCII only; std::tolower would follow the process locale).
//
//   mcpgate::ascii_lower("HTTPS://MCP.Example.com");   // "https://mcp.example.com"
#pragma once

#include <string>
#include <string_view>

namespace mcpgate {

inline std::string ascii_lower(std::string_view s) {
  std::string out(s);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

}  // namespace mcpgate
