// store/keyring.hpp — AES-256-GCM under a ring of master keys (OpenSSL EVP).
//
//   auto ring = Keyring::parse("k2:BASE64,k1:BASE64");   // first = active: encrypts; every key decrypts
//   if (!ring.ok()) fail(ring.status());
//   auto aad = *row_associated_data(kAadCurrent, "github", "token", "", "", ring.value->active_id());
//   Sealed box = ring.value->seal(plaintext, aad);        // fresh 96-bit nonce from RAND_bytes, 16-byte tag
//   auto back = ring.value->open(box, aad);               // StoreDecryptFailed on any tamper, never partial
//   text
//
// Why: NIST SP 800-38D §8.2.2 (random 96-bit IVs) and §5.2.1.2 (full 128-bit tags). The associated data binds
// a ciphertext to its row, so copying ciphertext from one row to another fails authentication.
#pragma once

#include <array>
#include <mcpgate/token_store.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate::store {

inline constexpr std::size_t kKeyBytes = 32;
inline constexpr std::size_t kNonceBytes = 12;
inline constexpr std::size_t kTagBytes = 16;

struct Sealed {
  std::string key_id;
  std::string nonce;       // kNonceBytes
  std::string ciphertext;  // same length as the plaintext
  std::string tag;         // kTagBytes
};

// The layouts of a row's associated data (service_tokens.aad_version), fields length-prefixed (4-byte
// big-endian) so ("ab","c") and ("a","bc") differ.
inline constexpr int kAadSchema1 = 1;  // "…v1", service, key name, subject, key id: rows from schema 1
inline constexpr int kAadCurrent = 2;  // "…v2", service, key name, issuer, subject, key id: rows written now

// Layout 1 has no issuer field, so it stands only for rows whose issuer is empty: nullopt for layout 1 with
// an issuer (a legacy row moved to an issuer behind the store's back) and for an unknown layout.
std::optional<std::string> row_associated_data(int layout, std::string_view service,
                                               std::string_view key_name, std::string_view issuer,
                                               std::string_view subject, std::string_view key_id);

class Keyring {
 public:
  struct Key {
    std::string id;
    std::array<unsigned char, kKeyBytes> bytes{};
  };

  // "id:base64,id:base64" or the same one per line; blank lines and '#' comments ignored in files.
  static Result<Keyring> parse(std::string_view text);
  // A fresh "id:base64" line for `mcpgate secrets keygen`.
  static std::string generate(std::string_view id);

  Keyring() = default;
  Keyring(const Keyring&) = default;
  Keyring& operator=(const Keyring&) = default;
  ~Keyring();

  bool empty() const noexcept { return keys_.empty(); }
  const std::string& active_id() const { return keys_.front().id; }
  bool has(std::string_view id) const noexcept;
  std::vector<std::string> ids() const;

  Sealed seal(std::string_view plaintext, std::string_view associated_data) const;
  Result<std::string> open(const Sealed& sealed, std::string_view associated_data) const;

 private:
  std::vector<Key> keys_;
};

}  // namespace mcpgate::store
