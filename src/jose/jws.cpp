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

// The "alg" rules (RFC 8725 §3.1, §3.2): the verifier chooses, the token only proposes.
Status check_algorithm(const json& header, AlgorithmSet allowed, DecodedJws& out) {
  auto it = header.find("alg");
  if (it == header.end()) return Status{Reason::AlgorithmMissing, "header has no alg"};
  if (!it->is_string()) return Status{Reason::HeaderMemberInvalid, "header alg is not a string"};
  const auto& name = it->get_ref<const std::string&>();
  if (iequals(name, "none")) return Status{Reason::AlgorithmNone, "alg none"};
  if (is_hmac_name(name))
    return Status{Reason::AlgorithmHmac, "alg " + name + " (symmetric) with public keys"};
  auto alg = algorithm_from_name(name);
  if (!alg) return Status{Reason::AlgorithmUnknown, "alg '" + printable(name) + "' unknown"};
  if (!allowed.contains(*alg))
    return Status{Reason::AlgorithmNotAllowed, "alg " + name + " not in allow-list " + allowed.to_string()};
  out.alg = *alg;
  return {};
}

Status check_header(const json& header, AlgorithmSet allowed, DecodedJws& out) {
  if (Status s = check_algorithm(header, allowed, out); !s.ok()) return s;
  if (auto it = header.find("typ"); it != header.end()) {
    if (!it->is_string()) return Status{Reason::HeaderMemberInvalid, "header typ is not a string"};
    const auto& typ = it->get_ref<const std::string&>();
    if (!access_token_type(typ)) return Status{Reason::TypeRefused, "typ '" + printable(typ) + "' refused"};
  }
  // RFC 7515 §4.1.11: a recipient MUST reject a JWS whose "crit" lists an extension it does not understand;
  // we understand none, so any "crit" (even a malformed one) is refused.
  if (header.contains("crit")) return Status{Reason::CritUnsupported, "header carries crit"};
  if (auto it = header.find("kid"); it != header.end()) {
    if (!it->is_string()) return Status{Reason::HeaderMemberInvalid, "header kid is not a string"};
    out.kid = it->get<std::string>();
    out.has_kid = true;
  }
  // "jku", "x5u", "jwk" and "x5c" are deliberately not read: keys come only from the issuer's configured key
  // set (RFC 8725 §3.10), so a token cannot bring its own key.
  return {};
}

}  // namespace

Result<DecodedJws> decode_compact(std::string_view token, AlgorithmSet allowed) {
  DecodedJws out;
  // Bound the work an unauthenticated client can cause before any decoding.
  if (token.size() > kMaxTokenBytes)
    return Status{Reason::TokenTooLarge, "token of " + std::to_string(token.size()) + " bytes"};
  const auto dots = std::count(token.begin(), token.end(), '.');
  if (dots == 4) return Status{Reason::JweNotSupported, "five segments (JWE)"};
  if (dots != 2) return Status{Reason::MalformedToken, std::to_string(dots + 1) + " segments"};
  const std::size_t first = token.find('.');
  const std::size_t second = token.find('.', first + 1);
  std::string_view header_b64 = token.substr(0, first);
  std::string_view payload_b64 = token.substr(first + 1, second - first - 1);
  std::string_view signature_b64 = token.substr(second + 1);
  if (signature_b64.empty()) return Status{Reason::MalformedToken, "empty signature segment"};

  auto header_text = base64url_decode(header_b64);
  if (!header_text) return Status{Reason::InvalidBase64Url, "header segment"};
  switch (parse_json_object_strict(*header_text, out.header)) {
    case StrictJson::Ok:
      break;
    case StrictJson::DuplicateName:
      return Status{Reason::DuplicateMember, "header repeats a member name"};
    default:
      return Status{Reason::HeaderNotJson, "header is not a JSON object"};
  }
  if (Status s = check_header(out.header, allowed, out); !s.ok()) return s;

  auto payload_text = base64url_decode(payload_b64);
  if (!payload_text) return Status{Reason::InvalidBase64Url, "payload segment"};
  switch (parse_json_object_strict(*payload_text, out.payload)) {
    case StrictJson::Ok:
      break;
    case StrictJson::DuplicateName:
      return Status{Reason::DuplicateMember, "payload repeats a member name"};
    default:
      return Status{Reason::PayloadNotJson, "payload is not a JSON object"};
  }

  auto signature = base64url_decode(signature_b64);
  if (!signature) return Status{Reason::InvalidBase64Url, "signature segment"};
  out.signature = std::move(*signature);
  out.signing_input.assign(token.substr(0, second));
  return out;
}

}  // namespace mcpgate::jose
