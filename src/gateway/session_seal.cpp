#include "gateway/session_seal.hpp"

#include <openssl/crypto.h>

#include "jose/base64url.hpp"

namespace mcpgate::gateway {
namespace {

constexpr std::string_view kPrefix = "ms1.";
constexpr std::string_view kAadLabel = "mcpgate session id v1\n";
constexpr std::size_t kMaxSealed = 4096;  // a header value, not a payload

void put_length(std::string& out, std::size_t n) {
  for (int shift = 24; shift >= 0; shift -= 8) out.push_back(static_cast<char>((n >> shift) & 0xFF));
}

std::optional<std::size_t> get_length(std::string_view& in) {
  if (in.size() < 4) return std::nullopt;
  std::size_t n = 0;
  for (int i = 0; i < 4; ++i) n = (n << 8) | static_cast<unsigned char>(in[static_cast<std::size_t>(i)]);
  in.remove_prefix(4);
  if (n > in.size()) return std::nullopt;
  return n;
}

std::string aad_of(std::string_view route) {
  std::string aad(kAadLabel);
  aad.append(route);
  return aad;
}

}  // namespace

Result<SessionSeal> SessionSeal::create(std::string_view keys) {
  SessionSeal s;
  const std::string text = keys.empty() ? store::Keyring::generate("process") : std::string(keys);
  auto ring = store::Keyring::parse(text);
  if (!ring.ok()) return {std::nullopt, ring.status()};
  s.ring_ = std::move(*ring.value);
  s.ephemeral_ = keys.empty();
  return {std::move(s), {}};
}

std::string SessionSeal::seal(std::string_view owner, std::string_view upstream_id,
                              std::string_view route) const {
  std::string plain;
  plain.reserve(8 + owner.size() + upstream_id.size());
  put_length(plain, owner.size());
  plain.append(owner);
  put_length(plain, upstream_id.size());
  plain.append(upstream_id);
  const store::Sealed box = ring_.seal(plain, aad_of(route));
  OPENSSL_cleanse(plain.data(), plain.size());
  std::string packed;
  packed.push_back(static_cast<char>(box.key_id.size()));
  packed.append(box.key_id).append(box.nonce).append(box.tag).append(box.ciphertext);
  return std::string(kPrefix) + jose::base64url_encode(packed);
}

std::optional<std::string> SessionSeal::open(std::string_view sealed, std::string_view owner,
                                             std::string_view route) const {
  if (sealed.size() > kMaxSealed || !sealed.starts_with(kPrefix)) return std::nullopt;
  const auto packed = jose::base64url_decode(sealed.substr(kPrefix.size()));
  if (!packed || packed->empty()) return std::nullopt;
  std::string_view in(*packed);
  const std::size_t id_len = static_cast<unsigned char>(in.front());
  in.remove_prefix(1);
  if (in.size() < id_len + store::kNonceBytes + store::kTagBytes) return std::nullopt;
  store::Sealed box;
  box.key_id = std::string(in.substr(0, id_len));
  in.remove_prefix(id_len);
  box.nonce = std::string(in.substr(0, store::kNonceBytes));
  in.remove_prefix(store::kNonceBytes);
  box.tag = std::string(in.substr(0, store::kTagBytes));
  in.remove_prefix(store::kTagBytes);
  box.ciphertext = std::string(in);
  if (!ring_.has(box.key_id)) return std::nullopt;
  auto plain = ring_.open(box, aad_of(route));
  if (!plain.ok()) return std::nullopt;
  std::string_view p(*plain.value);
  const auto owner_len = get_length(p);
  if (!owner_len) return std::nullopt;
  const std::string_view sealed_owner = p.substr(0, *owner_len);
  p.remove_prefix(*owner_len);
  const auto id_size = get_length(p);
  if (!id_size || *id_size != p.size()) return std::nullopt;
  // Constant time is not needed for a value we just authenticated, but it costs nothing.
  if (sealed_owner.size() != owner.size() ||
      CRYPTO_memcmp(sealed_owner.data(), owner.data(), owner.size()) != 0)
    return std::nullopt;
  return std::string(p);
}

}  // namespace mcpgate::gateway
