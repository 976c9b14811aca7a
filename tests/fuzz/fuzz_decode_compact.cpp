// libFuzzer target: arbitrary bytes as a bearer token through decode_compact, then (when it decodes) the
// claim checks, the Principal builder and a signature check against fixed keys of every family.
//
//   CXX=clang++-14 cmake -S . -B build-fuzz -DMCPGATE_BUILD_FUZZ=ON -DMCPGATE_BUILD_TESTS=OFF
//   cmake --build build-fuzz --target fuzz_decode_compact && build-fuzz/tests/fuzz/fuzz_decode_compact
//   -max_total_time=60
//
// Invariants checked beyond "no crash, no sanitizer report": a decoded token's signing input is a prefix of
// the token, and the verifier never accepts a token (none of the fixed keys' private halves exist anywhere).
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "jose/claims.hpp"
#include "jose/jws.hpp"
#include "jose/verifier.hpp"

namespace {

using namespace mcpgate::jose;

const std::shared_ptr<const JwkSet>& test_keys() {
  // RFC 7515 A.2 (RSA), A.3 (P-256) and RFC 8037 A.4 (Ed25519) public keys: real keys whose private halves
  // the fuzzer has no way to use.
  static const auto keys = std::make_shared<const JwkSet>(JwkSet::parse(
      R"({"keys":[)"
      R"({"kty":"RSA","kid":"rsa","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"},)"
      R"({"kty":"EC","kid":"ec","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},)"
      R"({"kty":"OKP","kid":"ed","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]})"));
  return keys;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view token(reinterpret_cast<const char*>(data), size);
  mcpgate::Result<DecodedJws> decoded = decode_compact(token, AlgorithmSet::all());
  if (decoded.ok()) {
    const DecodedJws& jws = *decoded;
    if (token.substr(0, jws.signing_input.size()) != jws.signing_input) std::abort();
    ClaimRules rules{{"joe"}, {"aud"}, 30};
    (void)check_claims(jws.payload, rules, 1300819000);
    (void)principal_from_claims(jws.payload);
    for (const auto& key : test_keys()->keys()) (void)verify_signature(jws, key);
  }
  static const VerifyOptions options{.issuers = {"joe"},
                                     .audiences = {},
                                     .leeway_seconds = 0,
                                     .algorithms = AlgorithmSet::all(),
                                     .clock = std::make_shared<mcpgate::ManualClock>(1300819000)};
  static const KeyLookup lookup = fixed_keys(test_keys());
  // No audience is configured, so no token can ever pass: an Ok here would be a verification bypass.
  if (verify_jwt(token, lookup, options).ok()) std::abort();
  return 0;
}
