// jose_bench.cpp — what mcpgate's JWT path costs on top of the signature check it cannot avoid.
//
//   build-bench/bench/jose_bench --benchmark_repetitions=10 --benchmark_enable_random_interleaving=true
//   bench/run.sh   # builds in build-bench (Release), runs this, prints min/median/max of full/raw per
//   algorithm
//   bench/node/run.sh   # the same tokens through the Node `jose` library, side by side (--export-fixtures)
//
// For each of RS256, ES256 and EdDSA the same token is checked two ways in the same run:
//   Full/<alg>  jose::verify_jwt (what serve and token verify run): size and format, strict base64url, header rules, JSON parse with
//   duplicate
//               check, claims, kid lookup, signature (and for ECDSA the r||s -> DER conversion).
//   Raw/<alg>   one EVP_DigestVerifyInit + EVP_DigestVerify on the very same EVP_PKEY (taken from the parsed
//   key set)
//               over the same signing input, with the signature already decoded (DER for ECDSA, as OpenSSL
//               wants).
// Full/Raw is the overhead of everything that is ours. The target for RS256 is <= 1.15.
#include <benchmark/benchmark.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include <cstdio>
#include <cstdlib>
#include <mcpgate/clock.hpp>
#include <memory>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <string>
#include <vector>

#include "jose/base64url.hpp"
#include "jose/jwk.hpp"
#include "jose/verifier.hpp"

namespace {

using mcpgate::jose::base64url_encode;

constexpr double kNow = 1893456000;  // the verifier's clock is fixed, so the token never ages during a run
constexpr const char* kIssuer = "https://login.bench-project.customers.stytch.dev";
constexpr const char* kAudience = "project-bench-0001";

struct PkeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "jose_bench: %s\n", what.c_str());
  std::exit(1);
}

std::string bn_param(const EVP_PKEY* key, const char* name, int pad_to = 0) {
  BIGNUM* bn = nullptr;
  if (EVP_PKEY_get_bn_param(key, name, &bn) != 1) die(std::string("no key parameter ") + name);
  std::string out(pad_to ? pad_to : BN_num_bytes(bn), '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

struct Fixture {
  std::string alg;
  const EVP_MD* md = nullptr;  // nullptr for EdDSA (the hash is part of the algorithm)
  std::string token;
  std::string signing_input;
  std::string raw_signature;  // what EVP_DigestVerify takes: DER for ECDSA
  std::shared_ptr<const mcpgate::jose::JwkSet> keys;
  const EVP_PKEY* key = nullptr;  // the parsed set's own key object
  mcpgate::jose::VerifyOptions options;
  mcpgate::jose::KeyLookup lookup;
  nlohmann::json public_jwk;  // for --export-fixtures
};

// Makes a fresh key, a JWKS holding its public half, and a Stytch-shaped token signed with it.
Fixture make_fixture(const std::string& alg) {
  Fixture f;
  f.alg = alg;
  Pkey key;
  nlohmann::json jwk = {{"kid", "bench-" + alg}, {"use", "sig"}, {"alg", alg}};
  if (alg == "RS256") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", static_cast<size_t>(2048)));
    f.md = EVP_sha256();
    if (key) {
      jwk["kty"] = "RSA";
      jwk["n"] = base64url_encode(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_N));
      jwk["e"] = base64url_encode(bn_param(key.get(), OSSL_PKEY_PARAM_RSA_E));
    }
  } else if (alg == "ES256") {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
    f.md = EVP_sha256();
    if (key) {
      jwk["kty"] = "EC";
      jwk["crv"] = "P-256";
      jwk["x"] = base64url_encode(bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_X, 32));
      jwk["y"] = base64url_encode(bn_param(key.get(), OSSL_PKEY_PARAM_EC_PUB_Y, 32));
    }
  } else {
    key.reset(EVP_PKEY_Q_keygen(nullptr, nullptr, "ED25519"));
    if (key) {
      unsigned char raw[32];
      size_t len = sizeof raw;
      if (EVP_PKEY_get_raw_public_key(key.get(), raw, &len) != 1) die("no Ed25519 public key");
      jwk["kty"] = "OKP";
      jwk["crv"] = "Ed25519";
      jwk["x"] = base64url_encode(std::string(reinterpret_cast<char*>(raw), len));
    }
  }
  if (!key) die("key generation failed for " + alg);

  nlohmann::json header = {{"alg", alg}, {"kid", "bench-" + alg}, {"typ", "JWT"}};
  nlohmann::json payload = {{"iss", kIssuer},
                            {"aud", {kAudience}},
                            {"sub", "user-bench-1234"},
                            {"client_id", "connected-app-bench-42"},
                            {"scope", "openid email mcp:read mcp:write"},
                            {"iat", kNow - 60},
                            {"nbf", kNow - 60},
                            {"exp", kNow + 3600},
                            {"jti", "jti-bench-0001"}};
  f.signing_input = base64url_encode(header.dump()) + "." + base64url_encode(payload.dump());

  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t sig_len = 0;
  if (EVP_DigestSignInit(ctx, nullptr, f.md, nullptr, key.get()) != 1 ||
      EVP_DigestSign(ctx, nullptr, &sig_len, reinterpret_cast<const unsigned char*>(f.signing_input.data()),
                     f.signing_input.size()) != 1) {
    die("signing failed for " + alg);
  }
  std::string sig(sig_len, '\0');
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &sig_len,
                     reinterpret_cast<const unsigned char*>(f.signing_input.data()),
                     f.signing_input.size()) != 1) {
    die("signing failed for " + alg);
  }
  EVP_MD_CTX_free(ctx);
  sig.resize(sig_len);
  f.raw_signature = sig;  // OpenSSL's own form: DER for ECDSA

  std::string jws_signature = sig;
  if (alg == "ES256") {  // JWS wants r||s, 32 bytes each (RFC 7518 §3.4)
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* der = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    if (!der) die("bad DER from OpenSSL");
    jws_signature.assign(64, '\0');
    BN_bn2binpad(ECDSA_SIG_get0_r(der), reinterpret_cast<unsigned char*>(jws_signature.data()), 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(der), reinterpret_cast<unsigned char*>(jws_signature.data()) + 32, 32);
    ECDSA_SIG_free(der);
  }
  f.token = f.signing_input + "." + base64url_encode(jws_signature);

  f.public_jwk = jwk;
  f.keys = std::make_shared<const mcpgate::jose::JwkSet>(
      mcpgate::jose::JwkSet::parse(nlohmann::json({{"keys", {jwk}}}).dump()));
  if (!f.keys->ok() || f.keys->keys().size() != 1) die("the key set did not parse for " + alg);
  f.key = f.keys->keys().front().pkey.get();

  f.options.issuers = {kIssuer};
  f.options.audiences = {kAudience};
  f.options.clock = std::make_shared<mcpgate::ManualClock>(kNow);
  f.lookup = mcpgate::jose::fixed_keys(f.keys);
  auto check = mcpgate::jose::verify_jwt(f.token, f.lookup, f.options);
  if (!check.ok()) die(alg + " token does not verify: " + std::string(mcpgate::reason_name(check.reason)));
  return f;
}

const Fixture& fixture(const std::string& alg) {
  static Fixture rs = make_fixture("RS256");
  static Fixture es = make_fixture("ES256");
  static Fixture ed = make_fixture("EdDSA");
  return alg == "RS256" ? rs : alg == "ES256" ? es : ed;
}

void full_verify(benchmark::State& state, const char* alg) {
  const Fixture& f = fixture(alg);
  for (auto _ : state) {
    auto result = mcpgate::jose::verify_jwt(f.token, f.lookup, f.options);
    benchmark::DoNotOptimize(result);
    if (!result.ok()) state.SkipWithError("verification failed");
  }
}

void raw_digest_verify(benchmark::State& state, const char* alg) {
  const Fixture& f = fixture(alg);
  const auto* sig = reinterpret_cast<const unsigned char*>(f.raw_signature.data());
  const auto* input = reinterpret_cast<const unsigned char*>(f.signing_input.data());
  for (auto _ : state) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    int ok = EVP_DigestVerifyInit(ctx, nullptr, f.md, nullptr, const_cast<EVP_PKEY*>(f.key)) == 1 &&
             EVP_DigestVerify(ctx, sig, f.raw_signature.size(), input, f.signing_input.size()) == 1;
    EVP_MD_CTX_free(ctx);
    benchmark::DoNotOptimize(ok);
    if (!ok) state.SkipWithError("raw verification failed");
  }
}

BENCHMARK_CAPTURE(full_verify, RS256, "RS256")->Name("Full/RS256");
BENCHMARK_CAPTURE(raw_digest_verify, RS256, "RS256")->Name("Raw/RS256");
BENCHMARK_CAPTURE(full_verify, ES256, "ES256")->Name("Full/ES256");
BENCHMARK_CAPTURE(raw_digest_verify, ES256, "ES256")->Name("Raw/ES256");
BENCHMARK_CAPTURE(full_verify, EdDSA, "EdDSA")->Name("Full/EdDSA");
BENCHMARK_CAPTURE(raw_digest_verify, EdDSA, "EdDSA")->Name("Raw/EdDSA");

// --export-fixtures=FILE: writes each algorithm's token, key set, issuer, audience and clock as JSON, so that
// another verifier (bench/node: the Node `jose` library) checks the very tokens this process checks.
void export_fixtures(const std::string& path) {
  nlohmann::json out;
  for (const char* alg : {"RS256", "ES256", "EdDSA"}) {
    const Fixture& f = fixture(alg);
    out[alg] = {{"token", f.token},
                {"jwks", {{"keys", {f.public_jwk}}}},
                {"issuer", kIssuer},
                {"audience", kAudience},
                {"now", kNow}};
  }
  std::FILE* file = std::fopen(path.c_str(), "w");
  if (!file) die("cannot write " + path);
  const std::string text = out.dump();
  std::fwrite(text.data(), 1, text.size(), file);
  std::fclose(file);
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<char*> args;
  const std::string flag = "--export-fixtures=";
  for (int i = 0; i < argc; ++i) {
    if (std::string(argv[i]).starts_with(flag))
      export_fixtures(std::string(argv[i]).substr(flag.size()));
    else
      args.push_back(argv[i]);
  }
  int count = static_cast<int>(args.size());
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
