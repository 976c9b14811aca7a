// token_digest.hpp — SHA-256 of a bearer token: the only form in which mcpgate keeps or compares a token.
//
//   mcpgate::auth::TokenDigest d = mcpgate::auth::digest_token(bearer);   // 32 raw bytes
//   std::string hex = mcpgate::auth::digest_hex(d);                       // what [[static_tokens]] sha256
//   holds auto parsed = mcpgate::auth::digest_from_hex(hex);                    // std::nullopt unless 64 hex
//   characters
//
// Keying caches and static tokens by digest means a heap dump or a log line never holds the token itself.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace mcpgate::auth {

using TokenDigest = std::array<std::uint8_t, 32>;

TokenDigest digest_token(std::string_view token) noexcept;
std::string digest_hex(const TokenDigest& digest);
std::optional<TokenDigest> digest_from_hex(std::string_view hex) noexcept;

}  // namespace mcpgate::auth
