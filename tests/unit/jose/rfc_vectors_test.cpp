// Known-answer vectors published in the RFCs, verified byte for byte with the published public keys:
// RFC 7515 Appendix A.2 (RS256), Appendix A.3 (ES256) and RFC 8037 Appendix A.4 (Ed25519).
#include <gtest/gtest.h>

#include "jose/base64url.hpp"
#include "jose/jws.hpp"

using mcpgate::Reason;
using mcpgate::jose::Algorithm;
using mcpgate::jose::AlgorithmSet;
using mcpgate::jose::base64url_decode;
using mcpgate::jose::decode_compact;
using mcpgate::jose::DecodedJws;
using mcpgate::jose::JwkSet;
using mcpgate::jose::verify_signature;

namespace {

// RFC 7515 §A.2.1: the payload {"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}.
constexpr const char* kRfc7515Payload =
    "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ";

const std::string kA2Token = std::string("eyJhbGciOiJSUzI1NiJ9.") + kRfc7515Payload +
                             "."
                             "cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7"
                             "AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4"
                             "BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K"
                             "0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqv"
                             "hJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrB"
                             "p0igcN_IoypGlUPQGe77Rw";

constexpr const char* kA2PublicJwk =
    R"({"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddx)"
    R"(HmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMs)"
    R"(D1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSH)"
    R"(SXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdV)"
    R"(MTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8)"
    R"(NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"})";

const std::string kA3Token = std::string("eyJhbGciOiJFUzI1NiJ9.") + kRfc7515Payload +
                             "."
                             "DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSA"
                             "pmWQxfKTUJqPP3-Kg6NU1Q";

constexpr const char* kA3PublicJwk =
    R"({"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",)"
    R"("y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"})";

// RFC 8037 §A.4: the payload is the text "Example of Ed25519 signing" (not JSON), so the vector is checked
// with verify_signature directly; decode_compact correctly refuses it as a JWT.
constexpr const char* kEd25519Token =
    "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc."
    "hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg";
constexpr const char* kEd25519PublicJwk =
    R"({"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"})";

DecodedJws decode_rfc_token(const std::string& token, Algorithm alg) {
  auto jws = decode_compact(token, AlgorithmSet::of(alg));
  EXPECT_TRUE(jws.ok()) << jws.message();
  return jws.value.value_or(DecodedJws{});
}

}  // namespace

TEST(RfcVectors, Rfc7515AppendixA2Rs256Verifies) {
  JwkSet key = JwkSet::parse_single(kA2PublicJwk);
  ASSERT_TRUE(key.ok());
  EXPECT_EQ(key.keys()[0].bits, 2048);
  DecodedJws jws = decode_rfc_token(kA2Token, Algorithm::RS256);
  EXPECT_EQ(jws.payload["iss"], "joe");
  EXPECT_EQ(jws.payload["exp"], 1300819380);
  EXPECT_EQ(jws.payload["http://example.com/is_root"], true);
  EXPECT_EQ(verify_signature(jws, key.keys()[0]), Reason::Ok);
}

TEST(RfcVectors, Rfc7515AppendixA2RefusedWhenRs256IsNotAllowed) {
  EXPECT_EQ(decode_compact(kA2Token, AlgorithmSet::of(Algorithm::ES256)).reason, Reason::AlgorithmNotAllowed);
}

TEST(RfcVectors, Rfc7515AppendixA3Es256Verifies) {
  JwkSet key = JwkSet::parse_single(kA3PublicJwk);
  ASSERT_TRUE(key.ok());
  DecodedJws jws = decode_rfc_token(kA3Token, Algorithm::ES256);
  EXPECT_EQ(jws.signature.size(), 64u);
  EXPECT_EQ(jws.payload["iss"], "joe");
  EXPECT_EQ(verify_signature(jws, key.keys()[0]), Reason::Ok);
}

TEST(RfcVectors, Rfc7515VectorsRefusedWithEachOthersKeys) {
  Reason a2_with_ec = verify_signature(decode_rfc_token(kA2Token, Algorithm::RS256),
                                       JwkSet::parse_single(kA3PublicJwk).keys().at(0));
  Reason a3_with_rsa = verify_signature(decode_rfc_token(kA3Token, Algorithm::ES256),
                                        JwkSet::parse_single(kA2PublicJwk).keys().at(0));
  EXPECT_EQ(a2_with_ec, Reason::KeyAlgorithmMismatch);
  EXPECT_EQ(a3_with_rsa, Reason::KeyAlgorithmMismatch);
}

TEST(RfcVectors, Rfc8037AppendixA4Ed25519Verifies) {
  JwkSet key = JwkSet::parse_single(kEd25519PublicJwk);
  ASSERT_TRUE(key.ok());
  std::string token = kEd25519Token;
  DecodedJws jws;
  jws.alg = Algorithm::EdDSA;
  jws.signing_input = token.substr(0, token.rfind('.'));
  jws.signature = *base64url_decode(token.substr(token.rfind('.') + 1));
  EXPECT_EQ(*base64url_decode("RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc"), "Example of Ed25519 signing");
  EXPECT_EQ(verify_signature(jws, key.keys()[0]), Reason::Ok);
  jws.signing_input.back() = 'h';  // one payload character changed
  EXPECT_EQ(verify_signature(jws, key.keys()[0]), Reason::SignatureInvalid);
  EXPECT_EQ(decode_compact(token, AlgorithmSet::all()).reason, Reason::PayloadNotJson);
}
