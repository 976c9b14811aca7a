// operator_text.hpp — (internal) making token-supplied strings safe to put in an operator's log detail.
//
//   detail = "kid '" + mcpgate::jose::printable(jws.kid) + "' not in key set";
//
// Only header names, alg/typ/kid and iss ever reach a detail (never claims or signatures); even those come
// from an unauthenticated client, so they are cut short and stripped of anything but printable ASCII (no log
// injection).
#pragma once

#include <string>
#include <string_view>

namespace mcpgate::jose {

inline std::string printable(std::string_view text, std::size_t max_chars = 64) {
  std::string out;
  for (char c : text) {
    if (out.size() >= max_chars) {
      out += "...";
      break;
    }
    out.push_back(c >= 0x20 && c < 0x7f && c != '\'' && c != '"' && c != '\\' ? c : '?');
  }
  return out;
}

}  // namespace mcpgate::jose
