// store_bench — put/get throughput of the token store on each engine (and the resolver's cache hit).
//
//   bench/run.sh            # or: cmake -B build-bench -DMCPGATE_BUILD_BENCH=ON &&
//   build-bench/bench/store_bench
//
// SQLite runs on a file in /tmp with synchronous=FULL (each put is one durable transaction). PostgreSQL is a
// throw-away 15 server started like the tests do (fsync=off there, so its figures are an upper bound).
#include <benchmark/benchmark.h>

#include <filesystem>
#include <mcpgate/token_store.hpp>
#include <memory>

#include "store/keyring.hpp"
#include "support/pg_test_server.hpp"

namespace {

using namespace mcpgate;

const std::string& keys() {
  static const std::string k = store::Keyring::generate("k1");
  return k;
}

std::shared_ptr<TokenStore> sqlite_store() {
  static std::shared_ptr<TokenStore> s = [] {
    auto dir = std::filesystem::temp_directory_path() / ("mcpgate_store_bench_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    StoreOptions o;
    o.backend = StoreBackend::Sqlite;
    o.sqlite_path = (dir / "bench.db").string();
    o.keys = keys();
    return *TokenStore::open(o).value;
  }();
  return s;
}

std::shared_ptr<TokenStore> postgres_store() {
  static std::shared_ptr<TokenStore> s = []() -> std::shared_ptr<TokenStore> {
    auto& pg = mcpgate::testing::PostgresTestServer::shared();
    if (!pg.available()) return nullptr;
    StoreOptions o;
    o.backend = StoreBackend::Postgres;
    o.postgres_conninfo = pg.create_database("store_bench");
    o.keys = keys();
    auto opened = TokenStore::open(o);
    return opened.ok() ? *opened.value : nullptr;
  }();
  return s;
}

const Actor kActor{"bench", ""};

void put(benchmark::State& state, std::shared_ptr<TokenStore> store) {
  if (!store) return state.SkipWithError("store unavailable");
  const std::string value(64, 'v');
  std::int64_t i = 0;
  for (auto _ : state) {
    auto s = store->put({"svc", "key-" + std::to_string(i++ % 1000), std::nullopt}, value, kActor);
    if (!s.ok()) return state.SkipWithError(s.message().c_str());
  }
  state.SetItemsProcessed(state.iterations());
}

void get(benchmark::State& state, std::shared_ptr<TokenStore> store) {
  if (!store) return state.SkipWithError("store unavailable");
  for (int i = 0; i < 100; ++i)
    store->put({"svc", "get-" + std::to_string(i), std::nullopt}, "value", kActor);
  std::int64_t i = 0;
  for (auto _ : state) {
    auto v = store->read({"svc", "get-" + std::to_string(i++ % 100), std::nullopt});
    if (!v.ok()) return state.SkipWithError(v.status.message().c_str());
    benchmark::DoNotOptimize(v.value->data());
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_SqlitePut(benchmark::State& state) {
  put(state, sqlite_store());
}
void BM_SqliteGet(benchmark::State& state) {
  get(state, sqlite_store());
}
void BM_PostgresPut(benchmark::State& state) {
  put(state, postgres_store());
}
void BM_PostgresGet(benchmark::State& state) {
  get(state, postgres_store());
}

void BM_ResolverCachedGet(benchmark::State& state) {
  auto store = sqlite_store();
  store->put({"svc", "cached", std::nullopt}, "value", kActor);
  SecretResolver resolver(store, Clock::system(), 30);
  const SecretRef ref{"svc", "cached", std::nullopt};
  for (auto _ : state) benchmark::DoNotOptimize(resolver.resolve(ref).value->data());
  state.SetItemsProcessed(state.iterations());
}

BENCHMARK(BM_SqlitePut)->UseRealTime();
BENCHMARK(BM_SqliteGet)->UseRealTime();
BENCHMARK(BM_PostgresPut)->UseRealTime();
BENCHMARK(BM_PostgresGet)->UseRealTime();
BENCHMARK(BM_ResolverCachedGet);

}  // namespace

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  mcpgate::testing::PostgresTestServer::shared().stop();
  return 0;
}
