#include "jose/jws.hpp"

#include <algorithm>
#include <cctype>

#include "jose/base64url.hpp"
#include "jose/operator_text.hpp"

namespace mcpgate::jose {
namespace {

using nlohmann::json;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

// RFC 8725 §3.11 and RFC 9068 §2.1: only access-token types (or none) are accepted, so an ID token, a DPoP
// proof (dpop+jwt) or a logout token signed by the same issuer cannot be replayed as an access token. Media
// types compare case-insensitively and may omit "application/" (RFC 7515 §4.1.9), so "application/jwt" is the
// same as "JWT".
bool access_token_type(std::string_view typ) {
  if (typ.size() > 12 && iequals(typ.substr(0, 12), "application/")) typ.remove_prefix(12);
  return iequals(typ, "jwt") || iequals(typ, "at+jwt");
}

Reason fail(Reason r, std::string* detail, std::string text) {
  if (detail) *detail = std::move(text);
  return r;
}

// The "alg" rules (RFC 8725 §3.1, §3.2): the verifier chooses, the token only proposes.
Reason check_algorithm(const json& header, AlgorithmSet allowed, DecodedJws& out, std::string* detail) {
  auto it = header.find("alg");
  if (it == header.end()) return fail(Reason::AlgorithmMissing, detail, "header has no alg");
  if (!it->is_string()) return fail(Reason::HeaderMemberInvalid, detail, "header alg is not a string");
  const auto& name = it->get_ref<const std::string&>();
  if (iequals(name, "none")) return fail(Reason::AlgorithmNone, detail, "alg none");
  if (is_hmac_name(name))
    return fail(Reason::AlgorithmHmac, detail, "alg " + name + " (symmetric) with public keys");
  auto alg = algorithm_from_name(name);
  if (!alg) return fail(Reason::AlgorithmUnknown, detail, "alg '" + printable(name) + "' unknown");
  if (!allowed.contains(*alg))
    return fail(Reason::AlgorithmNotAllowed, detail,
                "alg " + name + " not in allow-list " + allowed.to_string());
  out.alg = *alg;
  return Reason::Ok;
}

Reason check_header(const json& header, AlgorithmSet allowed, DecodedJws& out, std::string* detail) {
  Reason r = check_algorithm(header, allowed, out, detail);
  if (r != Reason::Ok) return r;
  if (auto it = header.find("typ"); it != header.end()) {
    if (!it->is_string()) return fail(Reason::HeaderMemberInvalid, detail, "header typ is not a string");
    const auto& typ = it->get_ref<const std::string&>();
    if (!access_token_type(typ))
      return fail(Reason::TypeRefused, detail, "typ '" + printable(typ) + "' refused");
  }
  // RFC 7515 §4.1.11: a recipient MUST reject a JWS whose "crit" lists an extension it does not understand;
  // we understand none, so any "crit" (even a malformed one) is refused.
  if (header.contains("crit")) return fail(Reason::CritUnsupported, detail, "header carries crit");
  if (auto it = header.find("kid"); it != header.end()) {
    if (!it->is_string()) return fail(Reason::HeaderMemberInvalid, detail, "header kid is not a string");
    out.kid = it->get<std::string>();
    out.has_kid = true;
  }
  // "jku", "x5u", "jwk" and "x5c" are deliberately not read: keys come only from the issuer's configured key
  // set (RFC 8725 §3.10), so a token cannot bring its own key.
  return Reason::Ok;
}

}  // namespace

Reason decode_compact(std::string_view token, AlgorithmSet allowed, DecodedJws& out, std::string* detail) {
  out = DecodedJws{};
  // Bound the work an unauthenticated client can cause before any decoding.
  if (token.size() > kMaxTokenBytes)
    return fail(Reason::TokenTooLarge, detail, "token of " + std::to_string(token.size()) + " bytes");
  const auto dots = std::count(token.begin(), token.end(), '.');
  if (dots == 4) return fail(Reason::JweNotSupported, detail, "five segments (JWE)");
  if (dots != 2) return fail(Reason::MalformedToken, detail, std::to_string(dots + 1) + " segments");
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  std::string_view header_b64 = token.substr(0, first);
  std::string_view payload_b64 = token.substr(first + 1, second - first - 1);
  std::string_view signature_b64 = token.substr(second + 1);
  if (signature_b64.empty()) return fail(Reason::MalformedToken, detail, "empty signature segment");

  auto header_text = base64url_decode(header_b64);
  if (!header_text) return fail(Reason::InvalidBase64Url, detail, "header segment");
  bool duplicate = false;
  if (!parse_json_object_strict(*header_text, out.header, &duplicate))
    return duplicate ? fail(Reason::DuplicateMember, detail, "header repeats a member name")
                     : fail(Reason::HeaderNotJson, detail, "header is not a JSON object");
  Reason r = check_header(out.header, allowed, out, detail);
  if (r != Reason::Ok) return r;

  auto payload_text = base64url_decode(payload_b64);
  if (!payload_text) return fail(Reason::InvalidBase64Url, detail, "payload segment");
  if (!parse_json_object_strict(*payload_text, out.payload, &duplicate))
    return duplicate ? fail(Reason::DuplicateMember, detail, "payload repeats a member name")
                     : fail(Reason::PayloadNotJson, detail, "payload is not a JSON object");

  auto signature = base64url_decode(signature_b64);
  if (!signature) return fail(Reason::InvalidBase64Url, detail, "signature segment");
  out.signature = std::move(*signature);
  out.signing_input.assign(token.substr(0, second));
  return Reason::Ok;
}

}  // namespace mcpgate::jose
