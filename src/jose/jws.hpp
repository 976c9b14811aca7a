// jws.hpp — decoding a compact JWS (RFC 7515 §7.1) and checking its signature (RFC 7518 §3.3–3.5, RFC 8037
// §3.1).
//
//   mcpgate::Result<mcpgate::jose::DecodedJws> jws = mcpgate::jose::decode_compact(token, allowed_algorithms);
//   if (!jws.ok()) return jws.status();                              // format, header; no crypto yet
//   mcpgate::Reason r = mcpgate::jose::verify_signature(*jws, key);  // one EVP_DigestVerify
//
// Most callers want the whole path instead: jose::verify_jwt (verifier.hpp).
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

// A refusal's detail gives operator specifics ("alg PS256 not in allow-list RS256"): header names and alg/typ
// values at most, never claims or signatures.
Result<DecodedJws> decode_compact(std::string_view token, AlgorithmSet allowed);

// Checks jws.signature over jws.signing_input with `key`. Refuses (KeyAlgorithmMismatch) when
// !key.allows(jws.alg); ECDSA signatures must be raw r||s of exactly 2*curve bytes (SignatureLength), never
// DER; RSA signatures exactly the modulus length and Ed25519 ones 64 bytes. Thread-safe: one EVP_MD_CTX per
// call, the key's EVP_PKEY only read.
Reason verify_signature(const DecodedJws& jws, const Jwk& key);

// Parses any JSON text (RFC 8259, nothing after the value, no comments), refusing duplicate member names at any
// depth and more than `max_depth` nested objects and arrays (0: no limit). `out` is set only on Ok.
enum class StrictJson { Ok, NotJson, DuplicateName, TooDeep };
StrictJson parse_json_strict(std::string_view text, nlohmann::json& out, std::size_t max_depth);

// The same for a JWS header or JWT payload: a JSON object (anything else is NotJson), no depth limit.
StrictJson parse_json_object_strict(std::string_view text, nlohmann::json& out);

}  // namespace mcpgate::jose
