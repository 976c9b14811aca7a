// jwk_public_key.hpp — (internal) raw JWK key material → OpenSSL 3 public key, with the key-size and curve
// checks.
//
//   std::shared_ptr<EVP_PKEY> pkey;
//   int bits = 0;
//   Reason r = mcpgate::jose::rsa_public_key(n_bytes, e_bytes, pkey, bits);   // KeyRsaTooSmall below 2048
//   bits r = mcpgate::jose::ec_public_key(KeyType::EC_P256, x_bytes, y_bytes, pkey);  // KeyPointInvalid off
//   the curve r = mcpgate::jose::ed25519_public_key(x_bytes, pkey);
//
// Built with OSSL_PARAM_BLD + EVP_PKEY_fromdata (no deprecated RSA_* / EC_KEY_* calls). The resulting
// EVP_PKEY is never modified afterwards, so it may be shared read-only across threads (OpenSSL 3 threading
// rules).
#pragma once

#include <mcpgate/status.hpp>
#include <memory>
#include <string_view>

#include "jose/jwk.hpp"

namespace mcpgate::jose {

inline constexpr int kMinRsaBits = 2048;
// Above this a single verification costs real CPU time; no issuer publishes such keys, so treat them as
// hostile.
inline constexpr int kMaxRsaBits = 16384;

// n and e as big-endian unsigned bytes (leading zero bytes allowed).
Reason rsa_public_key(std::string_view n, std::string_view e, std::shared_ptr<EVP_PKEY>& out, int& bits);
// x and y must each be exactly the curve's coordinate length (32 for P-256, 48 for P-384; RFC 7518 §6.2.1.2).
Reason ec_public_key(KeyType curve, std::string_view x, std::string_view y, std::shared_ptr<EVP_PKEY>& out);
// x must be exactly 32 bytes (RFC 8037 §2).
Reason ed25519_public_key(std::string_view x, std::shared_ptr<EVP_PKEY>& out);

// Coordinate length in bytes of an EC curve (32, 48), 0 for non-EC types.
int ec_coordinate_bytes(KeyType type) noexcept;

}  // namespace mcpgate::jose
