#include "jose/jwk_public_key.hpp"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include <string>

namespace mcpgate::jose {
namespace {

struct BnFree {
  void operator()(BIGNUM* b) const noexcept { BN_free(b); }
};
struct ParamBldFree {
  void operator()(OSSL_PARAM_BLD* b) const noexcept { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const noexcept { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const noexcept { EVP_PKEY_CTX_free(c); }
};

std::shared_ptr<EVP_PKEY> adopt(EVP_PKEY* pkey) {
  return std::shared_ptr<EVP_PKEY>(pkey, EVP_PKEY_free);
}

const unsigned char* bytes_of(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// EVP_PKEY_fromdata for a public key of `type` ("RSA", "EC") from the parameters `bld` holds.
EVP_PKEY* public_key_from_params(const char* type, OSSL_PARAM_BLD* bld) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  if (!params) return nullptr;
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  if (!ctx || EVP_PKEY_fromdata_init(ctx.get()) != 1) return nullptr;
  EVP_PKEY* pkey = nullptr;
  if (EVP_PKEY_fromdata(ctx.get(), &pkey, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) return nullptr;
  return pkey;
}

}  // namespace

int ec_coordinate_bytes(KeyType type) noexcept {
  switch (type) {
    case KeyType::EC_P256:
      return 32;
    case KeyType::EC_P384:
      return 48;
    default:
      return 0;
  }
}

Reason rsa_public_key(std::string_view n, std::string_view e, std::shared_ptr<EVP_PKEY>& out, int& bits) {
  std::unique_ptr<BIGNUM, BnFree> bn_n(BN_bin2bn(bytes_of(n), static_cast<int>(n.size()), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(BN_bin2bn(bytes_of(e), static_cast<int>(e.size()), nullptr));
  if (!bn_n || !bn_e) return Reason::KeyMemberInvalid;
  // The modulus size counts significant bits, so a leading zero byte (some encoders add one) does not matter.
  bits = BN_num_bits(bn_n.get());
  if (bits < kMinRsaBits) return Reason::KeyRsaTooSmall;  // RFC 7518 §3.3: 2048 bits or larger
  if (bits > kMaxRsaBits || !BN_is_odd(bn_n.get())) return Reason::KeyMemberInvalid;
  // e must be an odd number above 1; a huge exponent would only make verification slow (no issuer uses one).
  if (!BN_is_odd(bn_e.get()) || BN_is_one(bn_e.get()) || BN_num_bits(bn_e.get()) > 64)
    return Reason::KeyMemberInvalid;

  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1)
    return Reason::KeyMemberInvalid;
  EVP_PKEY* pkey = public_key_from_params("RSA", bld.get());
  if (!pkey) {
    ERR_clear_error();
    return Reason::KeyMemberInvalid;
  }
  out = adopt(pkey);
  return Reason::Ok;
}

Reason ec_public_key(KeyType curve, std::string_view x, std::string_view y, std::shared_ptr<EVP_PKEY>& out) {
  const std::size_t size = static_cast<std::size_t>(ec_coordinate_bytes(curve));
  if (size == 0) return Reason::KeyCurveUnsupported;
  // RFC 7518 §6.2.1.2/3: the coordinates are the full-length octet strings, never shortened.
  if (x.size() != size || y.size() != size) return Reason::KeyPointInvalid;
  std::string point;
  point.reserve(1 + 2 * size);
  point.push_back('\x04');  // SEC 1 §2.3.3 uncompressed point
  point.append(x);
  point.append(y);

  const char* group = curve == KeyType::EC_P256 ? "prime256v1" : "secp384r1";
  std::unique_ptr<OSSL_PARAM_BLD, ParamBldFree> bld(OSSL_PARAM_BLD_new());
  if (!bld || OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, group, 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size()) != 1)
    return Reason::KeyMemberInvalid;
  EVP_PKEY* raw = public_key_from_params("EC", bld.get());
  if (!raw) {
    ERR_clear_error();
    return Reason::KeyPointInvalid;  // oct2point refuses points that are not on the curve
  }
  auto pkey = adopt(raw);
  // Invalid-curve attacks: check explicitly that the point is on the curve, not at infinity, and of the right
  // order (SEC 1 §3.2.2.1), whatever the import path did.
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr));
  if (!check || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return Reason::KeyPointInvalid;
  }
  out = std::move(pkey);
  return Reason::Ok;
}

Reason ed25519_public_key(std::string_view x, std::shared_ptr<EVP_PKEY>& out) {
  if (x.size() != 32) return Reason::KeyPointInvalid;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, bytes_of(x), x.size());
  if (!pkey) {
    ERR_clear_error();
    return Reason::KeyPointInvalid;
  }
  out = adopt(pkey);
  return Reason::Ok;
}

}  // namespace mcpgate::jose
