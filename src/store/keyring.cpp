#include "store/keyring.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace mcpgate::store {
namespace {

using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;

CipherCtx new_ctx() {
  CipherCtx ctx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free);
  if (!ctx) throw std::bad_alloc();
  return ctx;
}

void append_field(std::string& out, std::string_view field) {
  const auto n = static_cast<std::uint32_t>(field.size());
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(field);
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool valid_id(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
          c == '_' || c == '.'))
      return false;
  return true;
}

Status invalid(std::string detail) {
  return {Reason::StoreKeyInvalid, std::move(detail)};
}

}  // namespace

std::optional<std::string> row_associated_data(int layout, std::string_view service,
                                               std::string_view key_name, std::string_view issuer,
                                               std::string_view subject, std::string_view key_id) {
  std::string aad;
  if (layout == kAadSchema1 && issuer.empty()) {
    aad = "mcpgate.service_tokens.v1";
  } else if (layout == kAadCurrent) {
    aad = "mcpgate.service_tokens.v2";
  } else {
    return std::nullopt;
  }
  append_field(aad, service);
  append_field(aad, key_name);
  if (layout == kAadCurrent) append_field(aad, issuer);
  append_field(aad, subject);
  append_field(aad, key_id);
  return aad;
}

Keyring::~Keyring() {
  for (auto& k : keys_) OPENSSL_cleanse(k.bytes.data(), k.bytes.size());
}

Result<Keyring> Keyring::parse(std::string_view text) {
  Keyring ring;
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t end = text.find_first_of(",\n", pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view entry = trim(text.substr(pos, end - pos));
    pos = end + 1;
    if (entry.empty() || entry.front() == '#') continue;
    const auto colon = entry.find(':');
    if (colon == std::string_view::npos) return {std::nullopt, invalid("an entry has no 'id:' prefix")};
    std::string_view id = entry.substr(0, colon);
    std::string_view b64 = entry.substr(colon + 1);
    if (!valid_id(id))
      return {std::nullopt, invalid("key id '" + std::string(id) + "' is not [A-Za-z0-9._-]{1,64}")};
    if (ring.has(id)) return {std::nullopt, invalid("key id '" + std::string(id) + "' appears twice")};
    // Standard base64 of 32 bytes: 44 characters with one '=' of padding.
    unsigned char decoded[48];
    if (b64.size() != 44 ||
        EVP_DecodeBlock(decoded, reinterpret_cast<const unsigned char*>(b64.data()),
                        static_cast<int>(b64.size())) != 33 ||
        b64[43] != '=' || b64[42] == '=') {
      OPENSSL_cleanse(decoded, sizeof decoded);
      return {std::nullopt, invalid("key '" + std::string(id) + "' is not base64 of exactly 32 bytes")};
    }
    Key key;
    key.id = std::string(id);
    std::copy(decoded, decoded + kKeyBytes, key.bytes.begin());
    OPENSSL_cleanse(decoded, sizeof decoded);
    ring.keys_.push_back(std::move(key));
  }
  if (ring.keys_.empty()) return {std::nullopt, invalid("no master key given")};
  return {std::move(ring), {}};
}

std::string Keyring::generate(std::string_view id) {
  unsigned char raw[kKeyBytes];
  if (RAND_bytes(raw, sizeof raw) != 1) throw std::runtime_error("RAND_bytes failed");
  unsigned char b64[64];
  const int n = EVP_EncodeBlock(b64, raw, sizeof raw);
  OPENSSL_cleanse(raw, sizeof raw);
  std::string line =
      std::string(id) + ":" + std::string(reinterpret_cast<char*>(b64), static_cast<std::size_t>(n));
  OPENSSL_cleanse(b64, sizeof b64);
  return line;
}

bool Keyring::has(std::string_view id) const noexcept {
  for (const auto& k : keys_)
    if (k.id == id) return true;
  return false;
}

std::vector<std::string> Keyring::ids() const {
  std::vector<std::string> out;
  for (const auto& k : keys_) out.push_back(k.id);
  return out;
}

Sealed Keyring::seal(std::string_view plaintext, std::string_view associated_data) const {
  const Key& key = keys_.front();
  Sealed out;
  out.key_id = key.id;
  out.nonce.resize(kNonceBytes);
  out.tag.resize(kTagBytes);
  out.ciphertext.resize(plaintext.size());
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.nonce.data()), kNonceBytes) != 1)
    throw std::runtime_error("RAND_bytes failed");
  auto ctx = new_ctx();
  int len = 0;
  auto* ct = reinterpret_cast<unsigned char*>(out.ciphertext.data());
  if (EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, key.bytes.data(),
                         reinterpret_cast<const unsigned char*>(out.nonce.data())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) != 1 ||
      EVP_EncryptUpdate(ctx.get(), ct, &len, reinterpret_cast<const unsigned char*>(plaintext.data()),
                        static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), ct + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTagBytes, out.tag.data()) != 1)
    throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

Result<std::string> Keyring::open(const Sealed& sealed, std::string_view associated_data) const {
  const Key* key = nullptr;
  for (const auto& k : keys_)
    if (k.id == sealed.key_id) key = &k;
  if (!key) return {std::nullopt, {Reason::StoreKeyMissing, "key id '" + sealed.key_id + "'"}};
  // A truncated tag weakens authentication (SP 800-38D Appendix C): demand exactly 16 bytes.
  if (sealed.nonce.size() != kNonceBytes || sealed.tag.size() != kTagBytes)
    return {std::nullopt, {Reason::StoreDecryptFailed, "nonce or tag has the wrong length"}};
  std::string plain(sealed.ciphertext.size(), '\0');
  auto* pt = reinterpret_cast<unsigned char*>(plain.data());
  auto ctx = new_ctx();
  int len = 0;
  std::string tag = sealed.tag;
  bool ok =
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonceBytes, nullptr) == 1 &&
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, key->bytes.data(),
                         reinterpret_cast<const unsigned char*>(sealed.nonce.data())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), nullptr, &len,
                        reinterpret_cast<const unsigned char*>(associated_data.data()),
                        static_cast<int>(associated_data.size())) == 1 &&
      EVP_DecryptUpdate(ctx.get(), pt, &len, reinterpret_cast<const unsigned char*>(sealed.ciphertext.data()),
                        static_cast<int>(sealed.ciphertext.size())) == 1 &&
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTagBytes, tag.data()) == 1 &&
      EVP_DecryptFinal_ex(ctx.get(), pt + len, &len) == 1;
  if (!ok) {
    // GCM releases plaintext before the tag is checked; wipe it so no unauthenticated byte escapes.
    OPENSSL_cleanse(plain.data(), plain.size());
    return {std::nullopt,
            {Reason::StoreDecryptFailed, "authentication tag mismatch under key id '" + key->id + "'"}};
  }
  return {std::move(plain), {}};
}

}  // namespace mcpgate::store
