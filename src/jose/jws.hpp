// jws.hpp — decoding a compact JWS (RFC 7515 §7.1) and checking its signature (RFC 7518 §3.3–3.5, RFC 8037
// §3.1).
//
//   mcpgate::jose::DecodedJws jws;
//   Reason r = mcpgate::jose::decode_compact(token, allowed_algorithms, jws);  // format, header; no crypto
//   if (r == Reason::Ok) r = mcpgate::jose::verify_signature(jws, key);        // one EVP_DigestVerify
//
// decode_compact refuses, before any signature work: tokens over 16 KiB, anything but exactly three segments
// (five is a JWE), non-strict base64url, non-object or duplicate-member JSON in header or payload, a
// missing/unknown/"none"/ HMAC/not-allowed 'alg', a 'typ' other than absent/JWT/at+jwt/application/at+jwt,
// and any 'crit'. 'jku', 'x5u', 'jwk' and 'x5c' header members are never used to find a key.
#pragma once

#include <mcpgate/status.hpp>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "jose/algorithm.hpp"
#include "jose/jwk.hpp"

namespace mcpgate::jose {

inline constexpr std::size_t kMaxTokenBytes = 16 * 1024;

struct DecodedJws {
  Algorithm alg = Algorithm::RS256;
  std::string kid;  // empty when the header has none
  bool has_kid = false;
  nlohmann::json header;      // the parsed header object
  nlohmann::json payload;     // the parsed payload object (claims are not checked here)
  std::string signing_input;  // "<b64 header>.<b64 payload>", exactly as received
  std::string signature;      // raw signature bytes (for ECDSA: r||s)
};

// On failure, *detail (when given) receives operator specifics ("alg PS256 not in allow-list RS256"); it
// holds header names and alg/typ values at most, never claims or signatures.
Reason decode_compact(std::string_view token, AlgorithmSet allowed, DecodedJws& out,
                      std::string* detail = nullptr);

// Checks jws.signature over jws.signing_input with `key`. Refuses (KeyAlgorithmMismatch) when
// !key.allows(jws.alg); ECDSA signatures must be raw r||s of exactly 2*curve bytes (SignatureLength), never
// DER; RSA signatures exactly the modulus length and Ed25519 ones 64 bytes. Thread-safe: one EVP_MD_CTX per
// call, the key's EVP_PKEY only read.
Reason verify_signature(const DecodedJws& jws, const Jwk& key);

// Parses JSON text as an object, refusing duplicate member names at any depth. Returns false on any problem.
bool parse_json_object_strict(std::string_view text, nlohmann::json& out, bool* duplicate = nullptr);

// Parses any JSON text (RFC 8259, nothing after the value, no comments), refusing duplicate member names at any
// depth and more than `max_depth` nested objects and arrays (0: no limit). `out` is set only on Ok.
enum class StrictJson { Ok, NotJson, DuplicateName, TooDeep };
StrictJson parse_json_strict(std::string_view text, nlohmann::json& out, std::size_t max_depth);

}  // namespace mcpgate::jose
