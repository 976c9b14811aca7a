#include "auth/token_digest.hpp"

#include <openssl/sha.h>

namespace mcpgate::auth {

TokenDigest digest_token(std::string_view token) noexcept {
  // The one-shot SHA256() (not deprecated in OpenSSL 3): no EVP_MD fetch, no context allocation — this runs
  // on every request, cache hits included.
  TokenDigest out{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out.data());
  return out;
}

std::string digest_hex(const TokenDigest& digest) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  out.reserve(64);
  for (auto b : digest) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

std::optional<TokenDigest> digest_from_hex(std::string_view hex) noexcept {
  if (hex.size() != 64) return std::nullopt;
  auto nibble = [](char c) -> int {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
  };
  TokenDigest out{};
  for (std::size_t i = 0; i < 32; ++i) {
    int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[i] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  return out;
}

}  // namespace mcpgate::auth
