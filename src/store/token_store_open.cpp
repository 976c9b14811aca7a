// TokenStore::open, the options' parsing and Status text: where a StoreOptions becomes a backend.
#include <sys/stat.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "store/backends.hpp"

namespace mcpgate {
namespace {

std::string env_or_empty(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::string(v) : std::string();
}

}  // namespace

Status StoreOptions::apply_store_spec(std::string_view spec) {
  if (spec == "env") {
    backend = StoreBackend::Env;
    return {};
  }
  if (spec.substr(0, 7) == "sqlite:" && spec.size() > 7) {
    backend = StoreBackend::Sqlite;
    sqlite_path = std::string(spec.substr(7));
    return {};
  }
  if (spec.substr(0, 9) == "postgres:" && spec.size() > 9) {
    backend = StoreBackend::Postgres;
    postgres_conninfo = std::string(spec.substr(9));
    return {};
  }
  // Never echo the spec: a postgres conninfo may hold a password.
  return {Reason::StoreOptionsInvalid, "--store must be 'env', 'sqlite:PATH' or 'postgres:CONNINFO'"};
}

Result<StoreOptions> StoreOptions::from_environment() {
  StoreOptions o;
  const auto backend = env_or_empty("MCPGATE_STORE_BACKEND");
  if (backend == "sqlite")
    o.backend = StoreBackend::Sqlite;
  else if (backend == "postgres")
    o.backend = StoreBackend::Postgres;
  else if (!backend.empty() && backend != "env")
    return {std::nullopt,
            {Reason::StoreOptionsInvalid,
             "MCPGATE_STORE_BACKEND must be env, sqlite or postgres, not '" + backend + "'"}};
  o.sqlite_path = env_or_empty("MCPGATE_STORE_PATH");
  o.postgres_conninfo = env_or_empty("MCPGATE_STORE_URL");
  o.keys = env_or_empty("MCPGATE_STORE_KEYS");
  o.key_file = env_or_empty("MCPGATE_STORE_KEY_FILE");
  return {std::move(o), {}};
}

Result<std::shared_ptr<TokenStore>> TokenStore::open(const StoreOptions& options,
                                                     std::shared_ptr<const Clock> clock) {
  if (options.backend == StoreBackend::Env) return {store::make_env_store(options), {}};
  std::string key_text = options.keys;
  if (!options.key_file.empty()) {
    // Master keys readable by other users are as good as published: say so (like ssh does for private keys).
    struct stat info {};
    if (::stat(options.key_file.c_str(), &info) == 0 && (info.st_mode & 077) != 0) {
      const std::string text =
          "key file '" + options.key_file + "' is readable by group or others; chmod 600 it";
      if (options.warn)
        options.warn(text);
      else
        std::cerr << "warning: " << text << "\n";
    }
    std::ifstream in(options.key_file);
    if (!in)
      return {std::nullopt, {Reason::StoreKeyInvalid, "cannot read key file '" + options.key_file + "'"}};
    std::stringstream buffer;
    buffer << in.rdbuf();
    // Keys from the environment come first (the active one), the file's follow.
    key_text += (key_text.empty() ? "" : ",") + buffer.str();
  }
  store::Keyring keyring;
  if (!key_text.empty()) {
    auto parsed = store::Keyring::parse(key_text);
    if (!parsed.ok()) return {std::nullopt, parsed.status()};
    keyring = std::move(*parsed.value);
  }
  return store::open_sql_store(options, std::move(keyring), std::move(clock));
}

}  // namespace mcpgate
