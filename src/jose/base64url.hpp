// base64url.hpp — strict base64url (RFC 4648 §5) as JWS compact serialization requires (RFC 7515 §2).
//
//   auto bytes = mcpgate::jose::base64url_decode("eyJhbGciOiJSUzI1NiJ9");  // std::nullopt if not strict
//   std::string text = mcpgate::jose::base64url_encode(bytes.value());
//
// Strict means: only A-Z a-z 0-9 - _; no padding, no whitespace, no '+' or '/'; a length of 1 mod 4 is refused;
// the unused trailing bits of the last character must be zero (non-canonical encodings would let one token have
// several spellings, which defeats caching by digest and equality checks).
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace mcpgate::jose {

std::optional<std::string> base64url_decode(std::string_view text);
std::string base64url_encode(std::string_view bytes);

}  // namespace mcpgate::jose
