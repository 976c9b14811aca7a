// store/backends.hpp — the concrete TokenStore implementations behind TokenStore::open().
//
//   auto env = make_env_store(options);                             // read-only: MCPGATE_SECRET_<S>_<K>
//   auto sql = open_sql_store(options, std::move(keyring), clock);  // sqlite or postgres, one logic
#pragma once

#include <mcpgate/token_store.hpp>

#include "store/keyring.hpp"

namespace mcpgate::store {

// NIST SP 800-38D §8.3 caps random-nonce GCM at 2^32 invocations per key; warn at half of that.
inline constexpr std::int64_t kEncryptionWarnThreshold = std::int64_t{1} << 31;

std::shared_ptr<TokenStore> make_env_store(const StoreOptions& options);
Result<std::shared_ptr<TokenStore>> open_sql_store(const StoreOptions& options, Keyring keyring,
                                                   std::shared_ptr<const Clock> clock);
// "MCPGATE_SECRET_" + SERVICE + "_" + KEY, upper-cased, other characters → '_'.
std::string env_variable_for(std::string_view prefix, std::string_view service, std::string_view key_name);

}  // namespace mcpgate::store
