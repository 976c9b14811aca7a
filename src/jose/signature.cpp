// verify_signature (declared in jws.hpp): one EVP_DigestVerify per call over the key's immutable EVP_PKEY,
// on a copy of a context prepared once per (key, algorithm) when the key set was parsed.
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>

#include <array>
#include <memory>

#include "jose/jwk_public_key.hpp"
#include "jose/jws.hpp"

namespace mcpgate::jose {
namespace {

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const noexcept { EVP_MD_CTX_free(c); }
};
struct EcdsaSigFree {
  void operator()(ECDSA_SIG* s) const noexcept { ECDSA_SIG_free(s); }
};

const EVP_MD* digest_for(Algorithm alg) noexcept {
  switch (alg) {
    case Algorithm::RS256:
    case Algorithm::PS256:
    case Algorithm::ES256:
      return EVP_sha256();
    case Algorithm::RS384:
    case Algorithm::PS384:
    case Algorithm::ES384:
      return EVP_sha384();
    case Algorithm::RS512:
    case Algorithm::PS512:
      return EVP_sha512();
    case Algorithm::EdDSA:
      return nullptr;  // Ed25519 hashes internally (RFC 8032 §5.1.7); EVP wants a NULL digest
  }
  return nullptr;
}

bool is_pss(Algorithm alg) noexcept {
  return alg == Algorithm::PS256 || alg == Algorithm::PS384 || alg == Algorithm::PS512;
}

// RFC 7518 §3.4: the JWS signature is r||s, each left-padded to the coordinate size. EVP verifies the DER
// ECDSA-Sig-Value, so re-encode; never accept DER from the token (it would allow several spellings of one
// signature).
std::optional<std::string> ecdsa_raw_to_der(std::string_view raw) {
  const int half = static_cast<int>(raw.size() / 2);
  auto bytes = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, EcdsaSigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(bytes, half, nullptr);
  BIGNUM* s = BN_bin2bn(bytes + half, half, nullptr);
  if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  int size = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (size <= 0) return std::nullopt;
  std::string der(static_cast<std::size_t>(size), '\0');
  auto out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != size) return std::nullopt;
  return der;
}

// Expected signature length for the key, or 0 when only the signature scheme itself decides.
std::size_t expected_signature_bytes(const Jwk& key) {
  switch (key.type) {
    case KeyType::RSA:
      return static_cast<std::size_t>(EVP_PKEY_get_size(key.pkey.get()));  // RFC 8017 §8.2.2 step 1: k octets
    case KeyType::EC_P256:
    case KeyType::EC_P384:
      return 2 * static_cast<std::size_t>(ec_coordinate_bytes(key.type));
    case KeyType::Ed25519:
      return 64;  // RFC 8032 §5.1.7
  }
  return 0;
}

// EVP_DigestVerifyInit plus the RSA padding the JWS algorithm names.
bool init_verify(EVP_MD_CTX* ctx, Algorithm alg, const Jwk& key) {
  EVP_PKEY_CTX* pctx = nullptr;
  if (EVP_DigestVerifyInit(ctx, &pctx, digest_for(alg), nullptr, key.pkey.get()) != 1) return false;
  if (key.type != KeyType::RSA) return true;
  if (is_pss(alg)) {
    // RFC 7518 §3.5: MGF1 with the same hash, salt as long as the hash output.
    return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
           EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
           EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, digest_for(alg)) == 1;
  }
  return EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;  // RFC 7518 §3.3
}

}  // namespace

struct VerifyTemplates {
  std::array<EVP_MD_CTX*, kAlgorithmCount> ctx{};
  VerifyTemplates() = default;
  VerifyTemplates(const VerifyTemplates&) = delete;
  VerifyTemplates& operator=(const VerifyTemplates&) = delete;
  ~VerifyTemplates() {
    for (auto* c : ctx) EVP_MD_CTX_free(c);
  }
};

void prepare_verify_templates(Jwk& key) {
  auto templates = std::make_shared<VerifyTemplates>();
  for (int i = 0; i < kAlgorithmCount; ++i) {
    const auto alg = static_cast<Algorithm>(i);
    if (!key.allows(alg)) continue;
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    if (ctx && init_verify(ctx, alg, key)) {
      templates->ctx[static_cast<std::size_t>(i)] = ctx;
    } else {
      EVP_MD_CTX_free(ctx);
    }
  }
  ERR_clear_error();
  key.templates = std::move(templates);
}

Reason verify_signature(const DecodedJws& jws, const Jwk& key) {
  if (!key.allows(jws.alg)) return Reason::KeyAlgorithmMismatch;
  if (jws.signature.size() != expected_signature_bytes(key)) return Reason::SignatureLength;

  std::string der;
  std::string_view signature = jws.signature;
  if (key.type == KeyType::EC_P256 || key.type == KeyType::EC_P384) {
    auto converted = ecdsa_raw_to_der(jws.signature);
    if (!converted) return Reason::SignatureInvalid;
    der = std::move(*converted);
    signature = der;
  }

  // A context of our own per call (an EVP_MD_CTX is not shareable): a copy of the key's prepared template
  // when there is one (copying only reads the template), else a fresh EVP_DigestVerifyInit.
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  const EVP_MD_CTX* prepared =
      key.templates ? key.templates->ctx[static_cast<std::size_t>(jws.alg)] : nullptr;
  bool ready =
      ctx && (prepared ? EVP_MD_CTX_copy_ex(ctx.get(), prepared) == 1 : init_verify(ctx.get(), jws.alg, key));
  int verified = ready ? EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                                          signature.size(),
                                          reinterpret_cast<const unsigned char*>(jws.signing_input.data()),
                                          jws.signing_input.size())
                       : 0;
  // Leave this thread's error queue clean: a refused token is an outcome, not an OpenSSL error to report
  // later.
  ERR_clear_error();
  return verified == 1 ? Reason::Ok : Reason::SignatureInvalid;
}

}  // namespace mcpgate::jose
