// mcpgate/token_store.hpp — encrypted upstream service tokens, the audit log and the principals table.
//
//   mcpgate::Result<mcpgate::StoreOptions> options = mcpgate::StoreOptions::from_environment();  // or fill it
//   auto opened = mcpgate::TokenStore::open(*options);
//   if (!opened.ok()) { std::cerr << opened.message(); return; }
//   auto& store = *opened;
//   store->put({"github", "token", std::nullopt}, value, {"alice", "req-1"});   // AES-256-GCM, active key
//   auto mine = store->read({"github", "token", mcpgate::SecretOwner{"https://as.example.org", "user-42"}});
//
//   mcpgate::SecretResolver secrets(store, clock);                  // what the gateway calls
//   auto header = secrets.resolve({"github", "token", owner});      // cached for options.cache_ttl
//
// Three backends behind one interface: `env` (read-only, MCPGATE_SECRET_<SERVICE>_<KEY>), `sqlite` (one file)
// and `postgres` (shared by many gateway instances). Values never appear in a Status message or in the
// audit log.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mcpgate/clock.hpp>
#include <mcpgate/status.hpp>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace mcpgate {

enum class StoreBackend { Env, Sqlite, Postgres };

// Plain options: the CLI fills it from --store/--key-file and the environment; the config file's [store]
// section maps onto the same fields.
struct StoreOptions {
  StoreBackend backend = StoreBackend::Env;  // today's default: tokens from MCPGATE_SECRET_* variables
  std::string sqlite_path;                   // sqlite: the database file (created if absent)
  std::string postgres_conninfo;  // postgres: libpq conninfo or URL; sslmode etc. pass through as given
  // Master keys: "k2:BASE64,k1:BASE64" (first = active). Never read from the config file itself.
  std::string keys;                            // usually from MCPGATE_STORE_KEYS
  std::string key_file;                        // or a file holding the same text (one key per line or commas)
  int busy_timeout_ms = 5000;                  // sqlite: wait this long for another writer before failing
  int pool_size = 4;                           // postgres (and sqlite) connections kept open
  bool migrate_on_open = true;                 // apply pending migrations when opening
  double cache_ttl_seconds = 30;               // SecretResolver: how long a resolved value is reused
  std::string env_prefix = "MCPGATE_SECRET_";  // env backend
  // Warnings (e.g. a key nearing its NIST SP 800-38D invocation limit); default writes to stderr.
  std::function<void(std::string_view)> warn;

  // Reads MCPGATE_STORE_BACKEND / MCPGATE_STORE_PATH / MCPGATE_STORE_URL / MCPGATE_STORE_KEYS /
  // MCPGATE_STORE_KEY_FILE. Unset variables keep the defaults above.
  static Result<StoreOptions> from_environment();
  // Applies "--store" text: "env", "sqlite:PATH" or "postgres:CONNINFO".
  Status apply_store_spec(std::string_view spec);
};

// Whose per-user token: the principal's identity as the `principals` table records it — a JWT's (iss, sub),
// a static token's ("static", its subject). A subject alone is not an identity: two issuers may both have
// an "alice".
struct SecretOwner {
  std::string issuer;
  std::string subject;
  bool operator==(const SecretOwner&) const = default;
};

// Which token: a service ("github"), a key name ("token") and, for a per-user token, its owner.
struct SecretRef {
  std::string service;
  std::string key_name;
  std::optional<SecretOwner> owner;  // none = the shared token of the service
};

struct TokenMetadata {
  SecretRef ref;
  std::string key_id;  // master key that encrypts it
  std::int64_t created_at = 0;
  std::int64_t updated_at = 0;
  // A per-user token stored before owners had an issuer (schema 1): ref.owner->issuer is empty and no
  // principal is served it until `mcpgate secrets bind-issuer` gives it one.
  bool unbound = false;
};

// Who asks (written to the audit log with each change).
struct Actor {
  std::string name;        // "cli:alice", "gateway", a principal's subject
  std::string request_id;  // correlates with the request log; may be empty
};

struct AuditEntry {
  std::int64_t id = 0;
  std::int64_t at = 0;
  std::string actor, action, service, key_name, subject, result, request_id;
  std::string issuer;  // with `subject`: whose token ('' for shared tokens and entries from schema 1)
};

struct PrincipalSighting {
  std::string issuer, subject, email, organization;
};

struct PrincipalRecord {
  std::string issuer, subject, email, organization;
  std::int64_t first_seen = 0;
  std::int64_t last_seen = 0;
};

struct RotationReport {
  std::int64_t rows_reencrypted = 0;
  std::int64_t batches = 0;
  std::string active_key_id;
};

struct BindReport {
  std::int64_t bound = 0;      // unbound per-user tokens now owned by (issuer, their subject)
  std::int64_t conflicts = 0;  // left unbound: that issuer's principal already has a token there
};

class TokenStore {
 public:
  virtual ~TokenStore() = default;

  // Opens (and by default migrates) the configured backend. Refuses, naming the key id, when a stored row
  // needs a master key that the keyring lacks; refuses a database whose schema is newer than this binary.
  static Result<std::shared_ptr<TokenStore>> open(const StoreOptions& options,
                                                  std::shared_ptr<const Clock> clock = Clock::system());

  virtual std::string_view backend_name() const noexcept = 0;

  // The plaintext; SecretNotFound when absent, StoreDecryptFailed when the row fails authentication.
  virtual Result<std::string> read(const SecretRef& ref) = 0;
  virtual Result<TokenMetadata> describe(const SecretRef& ref) = 0;
  virtual Result<std::vector<TokenMetadata>> list(std::string_view service = {}) = 0;

  // Changes write an audit row in the same transaction.
  virtual Status put(const SecretRef& ref, std::string_view value, const Actor& actor) = 0;
  virtual Status remove(const SecretRef& ref, const Actor& actor) = 0;
  // Re-encrypts every row not under the active key, `batch_size` rows per transaction; `progress` runs after
  // each committed batch.
  virtual Result<RotationReport> rotate(const Actor& actor, int batch_size = 100,
                                        const std::function<void(const RotationReport&)>& progress = {}) = 0;

  // Gives every unbound per-user token (TokenMetadata::unbound), or those of `service` / `subject` when given,
  // the owner (issuer, its subject): re-encrypted under the active key with associated data that covers
  // the issuer, one audit row each, all in one transaction.
  virtual Result<BindReport> bind_issuer(std::string_view issuer, const Actor& actor,
                                         std::string_view service = {}, std::string_view subject = {}) = 0;

  virtual Status record_audit(const Actor& actor, std::string_view action, const SecretRef& ref,
                              std::string_view result) = 0;
  virtual Result<std::vector<AuditEntry>> audit_since(std::int64_t since, int limit = 1000) = 0;

  // Upsert; last_seen is written at most once a minute per principal.
  virtual Status record_principal(const PrincipalSighting& sighting) = 0;
  virtual Result<PrincipalRecord> principal(std::string_view issuer, std::string_view subject) = 0;

  // Applies pending migrations; returns the schema version now in force.
  virtual Result<int> migrate() = 0;
};

// A reference as configuration writes it: "{secret:SERVICE/KEY}" (the service's shared token) or
// "{secret:SERVICE/KEY@subject}", where `subject` is the literal word for "the requesting principal". The
// principal's identity is never text in a reference: the caller fills SecretRef::owner with it.
struct SecretReference {
  std::string service;
  std::string key_name;
  bool per_user = false;
};
Result<SecretReference> parse_secret_reference(std::string_view text);

// Resolves service tokens for the gateway, keeping each value for `ttl_seconds` in memory.
class SecretResolver {
 public:
  SecretResolver(std::shared_ptr<TokenStore> store, std::shared_ptr<const Clock> clock,
                 double ttl_seconds = 30);

  Result<std::string> resolve(const SecretRef& ref);
  void invalidate();

 private:
  struct Cached {
    std::string value;
    double expires_at = 0;
  };
  std::shared_ptr<TokenStore> store_;
  std::shared_ptr<const Clock> clock_;
  double ttl_seconds_;
  std::mutex mutex_;
  std::map<std::string, Cached> cache_;
};

}  // namespace mcpgate
