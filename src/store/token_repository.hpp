// store/token_repository.hpp — every SQL statement of the store, written once for both engines.
//
//   auto conn = db->lease();
//   SqlTransaction tx(*conn);
//   TokenRepository repo(*conn);
//   repo.upsert_token(row, now);
//   repo.append_audit(entry);
//   tx.commit();
//
// Rows hold only sealed bytes (nonce, ciphertext, tag); the repository never sees a plaintext.
#pragma once

#include <mcpgate/token_store.hpp>
#include <optional>
#include <string>
#include <vector>

#include "store/keyring.hpp"
#include "store/sql_connection.hpp"

namespace mcpgate::store {

// Shared token: issuer '' and subject ''. Per-user: both set. Unbound (stored under schema 1, before owners had
// an issuer): subject set, issuer '' — found by no principal's lookup.
struct TokenRow {
  std::int64_t id = 0;
  std::string service, key_name, issuer, subject;
  int aad_version = kAadCurrent;  // the associated-data layout that sealed it (keyring.hpp)
  Sealed sealed;
  std::int64_t created_at = 0, updated_at = 0;
};

class TokenRepository {
 public:
  explicit TokenRepository(SqlConnection& conn) : conn_(conn) {}

  std::optional<TokenRow> find_token(std::string_view service, std::string_view key_name,
                                     std::string_view issuer, std::string_view subject);
  std::vector<TokenRow> list_tokens(std::string_view service);
  void upsert_token(const TokenRow& row, std::int64_t now);
  bool delete_token(std::string_view service, std::string_view key_name, std::string_view issuer,
                    std::string_view subject);
  std::vector<TokenRow> tokens_not_under(std::string_view key_id, int limit);
  // Compare-and-swap on key_id: a row changed by another writer since it was read is left alone.
  bool reseal_token(std::int64_t id, std::string_view expected_key_id, const Sealed& sealed, int aad_version,
                    std::int64_t now);
  // Unbound per-user rows, optionally of one service and/or subject.
  std::vector<TokenRow> unbound_tokens(std::string_view service, std::string_view subject);
  // Gives an unbound row its issuer with the re-sealed value; false when the row is no longer unbound.
  bool bind_token(std::int64_t id, std::string_view issuer, const Sealed& sealed, int aad_version,
                  std::int64_t now);
  std::vector<std::string> key_ids_in_use();

  // Returns the key's encryption count after adding `n`.
  std::int64_t count_encryptions(std::string_view key_id, std::int64_t n);

  void append_audit(const AuditEntry& entry);
  std::vector<AuditEntry> audit_since(std::int64_t since, int limit);

  void upsert_principal(const PrincipalSighting& sighting, std::int64_t now, std::int64_t min_interval);
  std::optional<PrincipalRecord> find_principal(std::string_view issuer, std::string_view subject);

 private:
  SqlConnection& conn_;
};

}  // namespace mcpgate::store
