// token_cache_bench.cpp — what a verified-token cache hit costs next to a full RS256 verification, both
// through Authenticator::authenticate (the path serving takes).
//
//   build-bench/bench/token_cache_bench --benchmark_repetitions=10
//   --benchmark_enable_random_interleaving=true
//
//   Authenticate/CacheHit     the same JWT again: digest, cache lookup, key still served and fresh
//   Authenticate/FullRs256    token_cache.max_entries = 0: header, claims, kid lookup, RS256 signature, every
//   time
//   ...FullRs256/threads:2    the same on 2 threads (items_per_second = full verifications per second in all)
// Target: a hit <= 1 µs and >= 20x cheaper than a full verification.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>

#include "auth/authenticator.hpp"
#include "jose/test_signer.hpp"

namespace {

namespace signer = mcpgate::jose::testing;
constexpr const char* kIssuer = "https://login.bench-cache.example";
constexpr const char* kAudience = "project-bench-cache";

struct Setup {
  std::string token;
  std::unique_ptr<mcpgate::auth::Authenticator> cached;
  std::unique_ptr<mcpgate::auth::Authenticator> uncached;
};

std::unique_ptr<mcpgate::auth::Authenticator> make_authenticator(const std::string& jwks_path,
                                                                 std::size_t cache_entries) {
  mcpgate::Config config;
  mcpgate::IssuerConfig issuer;
  issuer.issuer = kIssuer;
  issuer.audiences = {kAudience};
  issuer.jwks_file = jwks_path;
  config.issuers.push_back(issuer);
  config.token_cache.max_entries = cache_entries;
  std::string error;
  auto auth = mcpgate::auth::Authenticator::create(config, &error);
  if (!auth || !auth->wait_for_keys(std::chrono::seconds(10))) {
    std::fprintf(stderr, "token_cache_bench: no authenticator: %s\n", error.c_str());
    std::exit(1);
  }
  return auth;
}

Setup& setup() {
  static Setup s = [] {
    Setup out;
    const auto& key = signer::TestKey::shared(signer::KeyKind::Rsa2048);
    char dir[] = "/tmp/mcpgate-token-cache-bench-XXXXXX";
    if (!mkdtemp(dir)) std::exit(1);
    std::string jwks_path = std::string(dir) + "/jwks.json";
    std::ofstream(jwks_path) << signer::jwks_json({key.public_jwk("bench-kid")});
    std::int64_t now = std::time(nullptr);
    out.token = signer::sign_token(key, "RS256", {{"alg", "RS256"}, {"kid", "bench-kid"}, {"typ", "JWT"}},
                                   {{"iss", kIssuer},
                                    {"aud", {kAudience}},
                                    {"sub", "user-bench-1234"},
                                    {"client_id", "connected-app-bench-42"},
                                    {"scope", "openid email mcp:read mcp:write"},
                                    {"iat", now - 60},
                                    {"nbf", now - 60},
                                    {"exp", now + 86400},
                                    {"jti", "jti-bench-0001"}});
    out.cached = make_authenticator(jwks_path, 10000);
    out.uncached = make_authenticator(jwks_path, 0);
    std::remove(jwks_path.c_str());
    std::remove(dir);
    if (!out.cached->authenticate(out.token).ok() || !out.uncached->authenticate(out.token).ok()) {
      std::fprintf(stderr, "token_cache_bench: the bench token does not verify\n");
      std::exit(1);
    }
    return out;
  }();
  return s;
}

void CacheHit(benchmark::State& state) {
  Setup& s = setup();
  for (auto _ : state) {
    auto r = s.cached->authenticate(s.token);
    if (!r.ok()) state.SkipWithError("cache hit did not authenticate");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

void FullRs256(benchmark::State& state) {
  Setup& s = setup();
  for (auto _ : state) {
    auto r = s.uncached->authenticate(s.token);
    if (!r.ok()) state.SkipWithError("full verification failed");
    benchmark::DoNotOptimize(r);
  }
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(CacheHit)->Name("Authenticate/CacheHit");
BENCHMARK(FullRs256)->Name("Authenticate/FullRs256");
BENCHMARK(FullRs256)->Name("Authenticate/FullRs256")->Threads(2)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
