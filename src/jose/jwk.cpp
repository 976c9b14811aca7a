#include "jose/jwk.hpp"

#include <nlohmann/json.hpp>

#include "jose/base64url.hpp"
#include "jose/jwk_public_key.hpp"

namespace mcpgate::jose {
namespace {

using nlohmann::json;

bool is_rsa_algorithm(Algorithm a) noexcept {
  switch (a) {
    case Algorithm::RS256:
    case Algorithm::RS384:
    case Algorithm::RS512:
    case Algorithm::PS256:
    case Algorithm::PS384:
    case Algorithm::PS512:
      return true;
    default:
      return false;
  }
}

// The key's type alone decides which algorithms may ever use it (RFC 8725 §3.1: one key, one algorithm
// family).
bool family_allows(KeyType type, Algorithm a) noexcept {
  switch (type) {
    case KeyType::RSA:
      return is_rsa_algorithm(a);
    case KeyType::EC_P256:
      return a == Algorithm::ES256;
    case KeyType::EC_P384:
      return a == Algorithm::ES384;
    case KeyType::Ed25519:
      return a == Algorithm::EdDSA;
  }
  return false;
}

// A base64url member that must be present and strict (RFC 7518 §6: "Base64urlUInt" or raw octets).
std::optional<std::string> required_b64(const json& key, const char* name) {
  auto it = key.find(name);
  if (it == key.end() || !it->is_string()) return std::nullopt;
  const auto& text = it->get_ref<const std::string&>();
  if (text.empty()) return std::nullopt;
  return base64url_decode(text);
}

// Builds one Jwk from one member of "keys", or says why it cannot be used.
Reason parse_key(const json& key, Jwk& out) {
  if (!key.is_object()) return Reason::KeyNotObject;
  if (auto it = key.find("kid"); it != key.end()) {
    if (!it->is_string()) return Reason::KeyMemberInvalid;
    out.kid = it->get<std::string>();
  }
  auto kty = key.find("kty");
  if (kty == key.end() || !kty->is_string()) return Reason::KeyMemberInvalid;

  // RFC 7517 §4.2: a key published for encryption must not verify signatures.
  if (auto it = key.find("use"); it != key.end()) {
    if (!it->is_string()) return Reason::KeyMemberInvalid;
    if (it->get_ref<const std::string&>() != "sig") return Reason::KeyUseNotSig;
  }
  // RFC 7517 §4.3: when present, key_ops lists every permitted operation.
  if (auto it = key.find("key_ops"); it != key.end()) {
    if (!it->is_array()) return Reason::KeyMemberInvalid;
    bool verify = false;
    for (const auto& op : *it) {
      if (!op.is_string()) return Reason::KeyMemberInvalid;
      if (op.get_ref<const std::string&>() == "verify") verify = true;
    }
    if (!verify) return Reason::KeyOpsNoVerify;
  }

  const auto& type_name = kty->get_ref<const std::string&>();
  if (type_name == "RSA") {
    out.type = KeyType::RSA;
    auto n = required_b64(key, "n");
    auto e = required_b64(key, "e");
    if (!n || !e) return Reason::KeyMemberInvalid;
    Reason r = rsa_public_key(*n, *e, out.pkey, out.bits);
    if (r != Reason::Ok) return r;
  } else if (type_name == "EC" || type_name == "OKP") {
    auto crv = key.find("crv");
    if (crv == key.end() || !crv->is_string()) return Reason::KeyMemberInvalid;
    const auto& curve = crv->get_ref<const std::string&>();
    if (type_name == "EC" && (curve == "P-256" || curve == "P-384")) {
      out.type = curve == "P-256" ? KeyType::EC_P256 : KeyType::EC_P384;
      out.bits = curve == "P-256" ? 256 : 384;
      auto x = required_b64(key, "x");
      auto y = required_b64(key, "y");
      if (!x || !y) return Reason::KeyMemberInvalid;
      Reason r = ec_public_key(out.type, *x, *y, out.pkey);
      if (r != Reason::Ok) return r;
    } else if (type_name == "OKP" && curve == "Ed25519") {
      out.type = KeyType::Ed25519;
      out.bits = 256;
      auto x = required_b64(key, "x");
      if (!x) return Reason::KeyMemberInvalid;
      Reason r = ed25519_public_key(*x, out.pkey);
      if (r != Reason::Ok) return r;
    } else {
      return Reason::KeyCurveUnsupported;  // P-521, secp256k1, X25519 (not a signing curve), Ed448...
    }
  } else {
    return Reason::KeyTypeUnsupported;  // "oct" included: symmetric keys never come from a public key set
  }

  // RFC 7517 §4.4: the key's own "alg" pins it to one algorithm, which must fit its family.
  if (auto it = key.find("alg"); it != key.end()) {
    if (!it->is_string()) return Reason::KeyAlgorithmUnusable;
    auto alg = algorithm_from_name(it->get_ref<const std::string&>());
    if (!alg || !family_allows(out.type, *alg)) return Reason::KeyAlgorithmUnusable;
    out.alg = alg;
  }
  return Reason::Ok;
}

}  // namespace

bool Jwk::allows(Algorithm a) const noexcept {
  if (!pkey || !family_allows(type, a)) return false;
  return !alg || *alg == a;
}

JwkSet JwkSet::parse(std::string_view json_text) {
  JwkSet set;
  json doc = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object()) {
    set.error_ = Reason::KeySetInvalid;
    return set;
  }
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    set.error_ = Reason::KeySetInvalid;
    return set;
  }
  for (std::size_t i = 0; i < keys->size(); ++i) {
    const json& member = (*keys)[i];
    Jwk key;
    Reason r = parse_key(member, key);
    // Two keys with one kid would make the lookup ambiguous; the first usable one wins (the order the issuer
    // chose).
    if (r == Reason::Ok && !key.kid.empty() && set.find(key.kid) != nullptr) r = Reason::KeyDuplicateKid;
    if (r == Reason::Ok) {
      prepare_verify_templates(key);
      set.keys_.push_back(std::move(key));
    } else {
      SkippedKey skipped;
      skipped.index = i;
      if (member.is_object())
        if (auto kid = member.find("kid"); kid != member.end() && kid->is_string())
          skipped.kid = kid->get<std::string>();
      skipped.reason = r;
      set.skipped_.push_back(std::move(skipped));
    }
  }
  return set;
}

JwkSet JwkSet::parse_single(std::string_view json_text) {
  JwkSet set;
  json doc = json::parse(json_text.begin(), json_text.end(), nullptr, /*allow_exceptions=*/false);
  Jwk key;
  Reason r = doc.is_discarded() ? Reason::KeyNotObject : parse_key(doc, key);
  if (r == Reason::Ok) {
    prepare_verify_templates(key);
    set.keys_.push_back(std::move(key));
  } else {
    set.error_ = r;
    set.skipped_.push_back(SkippedKey{0, key.kid, r});
  }
  return set;
}

const Jwk* JwkSet::find(std::string_view kid) const noexcept {
  if (kid.empty()) return nullptr;  // a key without "kid" is only ever reached by trying each key
  for (const auto& key : keys_)
    if (key.kid == kid) return &key;
  return nullptr;
}

}  // namespace mcpgate::jose
