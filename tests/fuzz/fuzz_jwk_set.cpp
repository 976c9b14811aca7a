// libFuzzer target: arbitrary bytes as a JWKS document (and as a single JWK) through the key loader, then
// every loaded key used once in a signature check.
//
//   cmake --build build-fuzz --target fuzz_jwk_set && build-fuzz/tests/fuzz/fuzz_jwk_set -max_total_time=60
//
// Invariants beyond "no crash": every "keys" member is either kept or skipped with a reason (never both,
// never lost), kept keys always carry a public key, and kids of kept keys are unique.
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string_view>

#include "jose/jwk.hpp"
#include "jose/jws.hpp"

using namespace mcpgate::jose;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  JwkSet set = JwkSet::parse(text);
  if (!set.ok() && (!set.keys().empty() || !set.skipped().empty())) std::abort();
  std::set<std::string> kids;
  for (const auto& key : set.keys()) {
    if (!key.pkey) std::abort();
    if (!key.kid.empty() && !kids.insert(key.kid).second) std::abort();
    if (key.type == KeyType::RSA && key.bits < 2048) std::abort();
    for (int a = 0; a < kAlgorithmCount; ++a) {
      auto alg = static_cast<Algorithm>(a);
      if (!key.allows(alg)) continue;
      DecodedJws jws;
      jws.alg = alg;
      jws.signing_input = "eyJhbGciOiJFUzI1NiJ9.e30";
      jws.signature.assign(64, '\x01');
      if (verify_signature(jws, key) == mcpgate::Reason::Ok) std::abort();
    }
  }
  JwkSet single = JwkSet::parse_single(text);
  if (single.ok() != (single.keys().size() == 1)) std::abort();
  return 0;
}
