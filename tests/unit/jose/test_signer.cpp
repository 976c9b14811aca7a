#include "jose/test_signer.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <array>
#include <mutex>
#include <stdexcept>

#include "jose/base64url.hpp"

namespace mcpgate::jose::testing {
namespace {

[[noreturn]] void fail(const char* what) {
  throw std::runtime_error(std::string("test signer: ") + what);
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};

const EVP_MD* digest_for(std::string_view alg) {
  if (alg == "EdDSA") return nullptr;
  std::string_view bits = alg.substr(2);
  if (bits == "256") return EVP_sha256();
  if (bits == "384") return EVP_sha384();
  if (bits == "512") return EVP_sha512();
  fail("unknown algorithm");
}

std::string bn_bytes(const EVP_PKEY* pkey, const char* name, int pad_to = 0) {
  BIGNUM* raw = nullptr;
  if (EVP_PKEY_get_bn_param(pkey, name, &raw) != 1) fail("EVP_PKEY_get_bn_param");
  std::unique_ptr<BIGNUM, BnFree> bn(raw);
  int size = pad_to > 0 ? pad_to : BN_num_bytes(bn.get());
  std::string out(static_cast<std::size_t>(size), '\0');
  if (BN_bn2binpad(bn.get(), reinterpret_cast<unsigned char*>(out.data()), size) != size)
    fail("BN_bn2binpad");
  return out;
}

int coordinate_bytes(KeyKind kind) {
  return kind == KeyKind::P256 ? 32 : 48;
}

std::string sign_with_openssl(const TestKey& key, std::string_view alg, std::string_view input) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  EVP_PKEY_CTX* pctx = nullptr;
  if (!ctx || EVP_DigestSignInit(ctx.get(), &pctx, digest_for(alg), nullptr, key.pkey()) != 1)
    fail("EVP_DigestSignInit");
  if (alg.substr(0, 2) == "PS") {
    if (EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) != 1 ||
        EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) != 1 ||
        EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest_for(alg)) != 1)
      fail("PSS parameters");
  }
  std::size_t size = 0;
  auto data = reinterpret_cast<const unsigned char*>(input.data());
  if (EVP_DigestSign(ctx.get(), nullptr, &size, data, input.size()) != 1) fail("EVP_DigestSign size");
  std::string sig(size, '\0');
  if (EVP_DigestSign(ctx.get(), reinterpret_cast<unsigned char*>(sig.data()), &size, data, input.size()) != 1)
    fail("EVP_DigestSign");
  sig.resize(size);
  return sig;
}

}  // namespace

TestKey TestKey::generate(KeyKind kind) {
  EVP_PKEY* pkey = nullptr;
  switch (kind) {
    case KeyKind::Rsa1024:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(1024));
      break;
    case KeyKind::Rsa2048:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048));
      break;
    case KeyKind::Rsa3072:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(3072));
      break;
    case KeyKind::P256:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
      break;
    case KeyKind::P384:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-384");
      break;
    case KeyKind::Ed25519:
      pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519");
      break;
  }
  if (!pkey) fail("EVP_PKEY_Q_keygen");
  return TestKey(kind, std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free));
}

const TestKey& TestKey::shared(KeyKind kind) {
  static std::mutex mutex;
  static std::array<std::unique_ptr<TestKey>, 6> keys;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = keys[static_cast<std::size_t>(kind)];
  if (!slot) slot = std::make_unique<TestKey>(generate(kind));
  return *slot;
}

nlohmann::json TestKey::public_jwk(std::string_view kid) const {
  nlohmann::json jwk = nlohmann::json::object();
  switch (kind_) {
    case KeyKind::Rsa1024:
    case KeyKind::Rsa2048:
    case KeyKind::Rsa3072:
      jwk["kty"] = "RSA";
      jwk["n"] = base64url_encode(bn_bytes(pkey(), OSSL_PKEY_PARAM_RSA_N));
      jwk["e"] = base64url_encode(bn_bytes(pkey(), OSSL_PKEY_PARAM_RSA_E));
      break;
    case KeyKind::P256:
    case KeyKind::P384:
      jwk["kty"] = "EC";
      jwk["crv"] = kind_ == KeyKind::P256 ? "P-256" : "P-384";
      jwk["x"] = base64url_encode(bn_bytes(pkey(), OSSL_PKEY_PARAM_EC_PUB_X, coordinate_bytes(kind_)));
      jwk["y"] = base64url_encode(bn_bytes(pkey(), OSSL_PKEY_PARAM_EC_PUB_Y, coordinate_bytes(kind_)));
      break;
    case KeyKind::Ed25519: {
      std::string raw(32, '\0');
      std::size_t size = raw.size();
      if (EVP_PKEY_get_raw_public_key(pkey(), reinterpret_cast<unsigned char*>(raw.data()), &size) != 1)
        fail("EVP_PKEY_get_raw_public_key");
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = base64url_encode(raw);
      break;
    }
  }
  if (!kid.empty()) jwk["kid"] = std::string(kid);
  return jwk;
}

std::string TestKey::public_pem() const {
  BIO* bio = BIO_new(BIO_s_mem());
  if (!bio || PEM_write_bio_PUBKEY(bio, pkey()) != 1) fail("PEM_write_bio_PUBKEY");
  char* data = nullptr;
  long size = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<std::size_t>(size));
  BIO_free(bio);
  return pem;
}

std::string TestKey::sign(std::string_view alg, std::string_view input) const {
  std::string sig = sign_with_openssl(*this, alg, input);
  if (alg.substr(0, 2) != "ES") return sig;
  // DER ECDSA-Sig-Value → fixed-width r||s (RFC 7518 §3.4).
  const unsigned char* p = reinterpret_cast<const unsigned char*>(sig.data());
  ECDSA_SIG* parsed = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
  if (!parsed) fail("d2i_ECDSA_SIG");
  const int n = coordinate_bytes(kind_);
  std::string raw(static_cast<std::size_t>(2 * n), '\0');
  auto out = reinterpret_cast<unsigned char*>(raw.data());
  bool ok = BN_bn2binpad(ECDSA_SIG_get0_r(parsed), out, n) == n &&
            BN_bn2binpad(ECDSA_SIG_get0_s(parsed), out + n, n) == n;
  ECDSA_SIG_free(parsed);
  if (!ok) fail("BN_bn2binpad r||s");
  return raw;
}

std::string TestKey::sign_der_ecdsa(std::string_view alg, std::string_view input) const {
  return sign_with_openssl(*this, alg, input);
}

std::string jwks_json(const std::vector<nlohmann::json>& keys) {
  nlohmann::json doc = {{"keys", nlohmann::json::array()}};
  for (const auto& k : keys) doc["keys"].push_back(k);
  return doc.dump();
}

std::string signing_input(const nlohmann::json& header, const nlohmann::json& payload) {
  return base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());
}

std::string sign_token(const TestKey& key, std::string_view alg, const nlohmann::json& header,
                       const nlohmann::json& payload) {
  std::string input = signing_input(header, payload);
  return input + "." + base64url_encode(key.sign(alg, input));
}

std::string hmac_token(std::string_view alg, std::string_view secret, const nlohmann::json& header,
                       const nlohmann::json& payload) {
  std::string input = signing_input(header, payload);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_size = 0;
  if (!HMAC(digest_for(alg), secret.data(), static_cast<int>(secret.size()),
            reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &mac_size))
    fail("HMAC");
  return input + "." + base64url_encode(std::string(reinterpret_cast<char*>(mac), mac_size));
}

std::string tamper_segment(std::string_view token, int segment, std::size_t offset) {
  std::string out(token);
  std::size_t start = 0;
  for (int i = 0; i < segment; ++i) start = out.find('.', start) + 1;
  std::size_t pos = start + offset;
  // Swap within a pair of alphabet characters whose 6-bit values differ only in the top bits, so the
  // trailing-bit canonicality of the last character is preserved even when `pos` is the segment's last
  // character.
  char& c = out[pos];
  c = (c == 'A') ? 'g' : (c == 'g') ? 'A' : (c >= 'B' && c <= 'Z') ? 'A' : 'g';
  return out;
}

}  // namespace mcpgate::jose::testing
