#include "auth/token_digest.hpp"

#include <openssl/evp.h>
#include <openssl/sha.h>

namespace mcpgate::auth {

TokenDigest digest_token(std::string_view token) noexcept {
  // This runs on every request, cache hits included. OpenSSL 3's one-shot SHA256() fetches the algorithm
  // and allocates a context on each call; here the algorithm is fetched once and each thread keeps one context.
  static EVP_MD* const sha256 = EVP_MD_fetch(nullptr, "SHA256", nullptr);
  struct Context {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    ~Context() { EVP_MD_CTX_free(ctx); }
  };
  static thread_local Context local;
  TokenDigest out{};
  unsigned int n = 0;
  // After the first use the context keeps its algorithm: initialising with none reuses it (and its
  // provider state) instead of allocating a new one.
  const EVP_MD* const md = local.ctx && EVP_MD_CTX_get0_md(local.ctx) == sha256 ? nullptr : sha256;
  if (!sha256 || !local.ctx || EVP_DigestInit_ex2(local.ctx, md, nullptr) != 1 ||
      EVP_DigestUpdate(local.ctx, token.data(), token.size()) != 1 ||
      EVP_DigestFinal_ex(local.ctx, out.data(), &n) != 1) {
    SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), out.data());
  }
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
