// store_worker — a second process for the store's crash and concurrency tests. Reads MCPGATE_STORE_* like the
// gateway does, then:
//   store_worker write N      put svc/key-i = value-i for i < N, printing "ack i" after each commit
//   store_worker read N       read every svc/* row N times; exit 1 on the first failure ("fail <detail>")
//   store_worker migrate      open (which migrates) and print "version V"
//   store_worker rotate B     rotate with batch size B, printing "batch i" after each commit, then "rotated
//   R"
#include <cstdio>
#include <mcpgate/token_store.hpp>
#include <string>

using namespace mcpgate;

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  const std::string mode = argv[1];
  const int n = argc > 2 ? std::stoi(argv[2]) : 0;
  auto options = StoreOptions::from_environment();
  if (!options.ok()) return 2;
  auto opened = TokenStore::open(*options.value);
  if (!opened.ok()) {
    std::printf("fail %s\n", opened.message().c_str());
    return 1;
  }
  auto& store = *opened.value;
  const Actor actor{"store_worker", ""};
  if (mode == "write") {
    for (int i = 0; i < n; ++i) {
      auto s =
          store->put({"svc", "key-" + std::to_string(i), std::nullopt}, "value-" + std::to_string(i), actor);
      if (!s.ok()) {
        std::printf("fail %s\n", s.message().c_str());
        return 1;
      }
      std::printf("ack %d\n", i);
      std::fflush(stdout);
    }
    return 0;
  }
  if (mode == "read") {
    for (int round = 0; round < n; ++round) {
      auto rows = store->list("svc");
      if (!rows.ok()) {
        std::printf("fail %s\n", rows.message().c_str());
        return 1;
      }
      for (const auto& m : *rows.value) {
        auto v = store->read(m.ref);
        if (!v.ok() || *v.value != "value-" + m.ref.key_name.substr(4)) {
          std::printf("fail %s %s\n", m.ref.key_name.c_str(), v.message().c_str());
          return 1;
        }
      }
    }
    std::printf("read ok\n");
    return 0;
  }
  if (mode == "migrate") {
    auto v = store->migrate();
    std::printf("version %d\n", v.ok() ? *v.value : -1);
    return v.ok() ? 0 : 1;
  }
  if (mode == "rotate") {
    auto r = store->rotate(actor, n, [](const RotationReport& progress) {
      std::printf("batch %lld\n", static_cast<long long>(progress.batches));
      std::fflush(stdout);
    });
    if (!r.ok()) {
      std::printf("fail %s\n", r.message().c_str());
      return 1;
    }
    std::printf("rotated %lld\n", static_cast<long long>(r.value->rows_reencrypted));
    return 0;
  }
  return 2;
}
