// One TokenStore for both SQL engines: the crypto, the audit trail and the transactions live here; the SQL
// lives in TokenRepository; the engine differences live in the SqlConnection adapters.
#include <openssl/crypto.h>

#include <iostream>

#include "store/backends.hpp"
#include "store/migrations.hpp"
#include "store/token_repository.hpp"

namespace mcpgate::store {
namespace {

constexpr std::int64_t kPrincipalWriteInterval = 60;  // last_seen is written at most once a minute

Status from_sql_error(const SqlError& e) {
  return {e.connection_lost() ? Reason::StoreUnavailable : Reason::StoreQueryFailed, e.what()};
}

template <class T>
Result<T> failed(Status s) {
  return {std::nullopt, std::move(s)};
}

std::optional<std::string> aad_for(const TokenRow& row) {
  return row_associated_data(row.aad_version, row.service, row.key_name, row.issuer, row.subject,
                             row.sealed.key_id);
}

// An owner is a whole identity: with an empty issuer a lookup would reach the unbound rows of schema 1.
Status check_ref(const SecretRef& ref) {
  if (ref.service.empty() || ref.key_name.empty())
    return {Reason::SecretReferenceInvalid, "service and key name must not be empty"};
  if (ref.owner && (ref.owner->issuer.empty() || ref.owner->subject.empty()))
    return {Reason::SecretReferenceInvalid, "a per-user token's owner needs both an issuer and a subject"};
  return {};
}

std::string issuer_of(const SecretRef& ref) {
  return ref.owner ? ref.owner->issuer : std::string();
}
std::string subject_of(const SecretRef& ref) {
  return ref.owner ? ref.owner->subject : std::string();
}

class SqlTokenStore final : public TokenStore {
 public:
  SqlTokenStore(std::unique_ptr<SqlDatabase> db, Keyring keyring, std::shared_ptr<const Clock> clock,
                std::function<void(std::string_view)> warn)
      : db_(std::move(db)), keyring_(std::move(keyring)), clock_(std::move(clock)), warn_(std::move(warn)) {}

  std::string_view backend_name() const noexcept override {
    return db_->engine() == SqlEngine::Sqlite ? "sqlite" : "postgres";
  }

  Result<std::string> read(const SecretRef& ref) override {
    if (auto s = check_ref(ref); !s.ok()) return failed<std::string>(s);
    try {
      auto conn = db_->lease();
      auto row =
          TokenRepository(*conn).find_token(ref.service, ref.key_name, issuer_of(ref), subject_of(ref));
      if (!row) return failed<std::string>({Reason::SecretNotFound, describe_ref(ref)});
      auto plain = open_row(*row);
      if (!plain.ok()) plain.detail = describe_ref(ref) + ": " + plain.detail;
      return plain;
    } catch (const SqlError& e) {
      return failed<std::string>(from_sql_error(e));
    }
  }

  Result<TokenMetadata> describe(const SecretRef& ref) override {
    if (auto s = check_ref(ref); !s.ok()) return failed<TokenMetadata>(s);
    try {
      auto conn = db_->lease();
      auto row =
          TokenRepository(*conn).find_token(ref.service, ref.key_name, issuer_of(ref), subject_of(ref));
      if (!row) return failed<TokenMetadata>({Reason::SecretNotFound, describe_ref(ref)});
      return {metadata(*row), {}};
    } catch (const SqlError& e) {
      return failed<TokenMetadata>(from_sql_error(e));
    }
  }

  Result<std::vector<TokenMetadata>> list(std::string_view service) override {
    try {
      auto conn = db_->lease();
      std::vector<TokenMetadata> out;
      for (const auto& row : TokenRepository(*conn).list_tokens(service)) out.push_back(metadata(row));
      return {std::move(out), {}};
    } catch (const SqlError& e) {
      return failed<std::vector<TokenMetadata>>(from_sql_error(e));
    }
  }

  Status put(const SecretRef& ref, std::string_view value, const Actor& actor) override {
    if (auto s = check_ref(ref); !s.ok()) return s;
    if (keyring_.empty()) return {Reason::StoreKeyInvalid, "no master key given: cannot encrypt"};
    try {
      const auto now = now_seconds();
      TokenRow row;
      row.service = ref.service;
      row.key_name = ref.key_name;
      row.issuer = issuer_of(ref);
      row.subject = subject_of(ref);
      row.created_at = row.updated_at = now;
      seal_into(row, value);
      std::int64_t count = 0;
      {
        auto conn = db_->lease();
        SqlTransaction tx(*conn);
        TokenRepository repo(*conn);
        repo.upsert_token(row, now);
        count = repo.count_encryptions(row.sealed.key_id, 1);
        repo.append_audit(audit_entry(now, actor, "put", ref, "ok"));
        tx.commit();
      }
      warn_if_worn(row.sealed.key_id, count);
      return {};
    } catch (const SqlError& e) {
      return from_sql_error(e);
    }
  }

  Status remove(const SecretRef& ref, const Actor& actor) override {
    if (auto s = check_ref(ref); !s.ok()) return s;
    try {
      const auto now = now_seconds();
      auto conn = db_->lease();
      SqlTransaction tx(*conn);
      TokenRepository repo(*conn);
      const bool removed = repo.delete_token(ref.service, ref.key_name, issuer_of(ref), subject_of(ref));
      repo.append_audit(audit_entry(now, actor, "delete", ref, removed ? "ok" : "not_found"));
      tx.commit();
      if (!removed) return {Reason::SecretNotFound, describe_ref(ref)};
      return {};
    } catch (const SqlError& e) {
      return from_sql_error(e);
    }
  }

  Result<RotationReport> rotate(const Actor& actor, int batch_size,
                                const std::function<void(const RotationReport&)>& progress) override {
    if (keyring_.empty()) return failed<RotationReport>({Reason::StoreKeyInvalid, "no master key given"});
    RotationReport report;
    report.active_key_id = keyring_.active_id();
    if (batch_size < 1) batch_size = 1;
    try {
      for (;;) {
        // Each batch is one short write transaction: readers (other instances) see every row either under the
        // old key or the new one, and both keys stay in their keyrings during a rotation.
        auto conn = db_->lease();
        SqlTransaction tx(*conn);
        TokenRepository repo(*conn);
        auto rows = repo.tokens_not_under(report.active_key_id, batch_size);
        if (rows.empty()) break;
        const auto now = now_seconds();
        std::int64_t changed = 0;
        for (const auto& row : rows) {
          auto plain = open_row(row);
          if (!plain.ok()) {
            plain.detail = "row " + std::to_string(row.id) + " (" + row.service + "/" + row.key_name +
                           "): " + plain.detail;
            return failed<RotationReport>(plain.status());
          }
          TokenRow fresh = row;
          seal_into(fresh, *plain.value);  // and in the current associated-data layout
          OPENSSL_cleanse(plain.value->data(), plain.value->size());
          if (repo.reseal_token(row.id, row.sealed.key_id, fresh.sealed, fresh.aad_version, now)) ++changed;
        }
        const auto count =
            repo.count_encryptions(report.active_key_id, static_cast<std::int64_t>(rows.size()));
        tx.commit();
        warn_if_worn(report.active_key_id, count);
        report.rows_reencrypted += changed;
        ++report.batches;
        if (progress) progress(report);
      }
      auto conn = db_->lease();
      SqlTransaction tx(*conn);
      TokenRepository(*conn).append_audit(
          audit_entry(now_seconds(), actor, "rotate", {}, "ok:" + std::to_string(report.rows_reencrypted)));
      tx.commit();
      return {report, {}};
    } catch (const SqlError& e) {
      return failed<RotationReport>(from_sql_error(e));
    }
  }

  Result<BindReport> bind_issuer(std::string_view issuer, const Actor& actor, std::string_view service,
                                 std::string_view subject) override {
    if (issuer.empty()) return failed<BindReport>({Reason::SecretReferenceInvalid, "the issuer is empty"});
    if (keyring_.empty()) return failed<BindReport>({Reason::StoreKeyInvalid, "no master key given"});
    try {
      BindReport report;
      const auto now = now_seconds();
      std::int64_t count = 0;
      {
        auto conn = db_->lease();
        SqlTransaction tx(*conn);
        TokenRepository repo(*conn);
        for (const auto& row : repo.unbound_tokens(service, subject)) {
          const SecretRef ref{row.service, row.key_name, SecretOwner{std::string(issuer), row.subject}};
          if (repo.find_token(row.service, row.key_name, issuer, row.subject)) {
            ++report.conflicts;  // that principal already has a token here; the operator decides which stays
            repo.append_audit(audit_entry(now, actor, "bind_issuer", ref, "conflict"));
            continue;
          }
          auto plain = open_row(row);
          if (!plain.ok()) {
            plain.detail = "row " + std::to_string(row.id) + " (" + row.service + "/" + row.key_name +
                           "): " + plain.detail;
            return failed<BindReport>(plain.status());  // nothing is bound (the transaction rolls back)
          }
          TokenRow bound = row;
          bound.issuer = std::string(issuer);
          seal_into(bound, *plain.value);
          OPENSSL_cleanse(plain.value->data(), plain.value->size());
          if (!repo.bind_token(row.id, issuer, bound.sealed, bound.aad_version, now)) continue;
          ++report.bound;
          repo.append_audit(audit_entry(now, actor, "bind_issuer", ref, "ok"));
        }
        if (report.bound > 0) count = repo.count_encryptions(keyring_.active_id(), report.bound);
        AuditEntry summary = audit_entry(now, actor, "bind_issuer", {std::string(service), "", std::nullopt},
                                         "ok:" + std::to_string(report.bound));
        summary.issuer = std::string(issuer);
        summary.subject = std::string(subject);
        repo.append_audit(summary);
        tx.commit();
      }
      if (count > 0) warn_if_worn(keyring_.active_id(), count);
      return {report, {}};
    } catch (const SqlError& e) {
      return failed<BindReport>(from_sql_error(e));
    }
  }

  Status record_audit(const Actor& actor, std::string_view action, const SecretRef& ref,
                      std::string_view result) override {
    try {
      auto conn = db_->lease();
      SqlTransaction tx(*conn);
      TokenRepository(*conn).append_audit(audit_entry(now_seconds(), actor, action, ref, result));
      tx.commit();
      return {};
    } catch (const SqlError& e) {
      return from_sql_error(e);
    }
  }

  Result<std::vector<AuditEntry>> audit_since(std::int64_t since, int limit) override {
    try {
      auto conn = db_->lease();
      return {TokenRepository(*conn).audit_since(since, limit), {}};
    } catch (const SqlError& e) {
      return failed<std::vector<AuditEntry>>(from_sql_error(e));
    }
  }

  Status record_principal(const PrincipalSighting& sighting) override {
    try {
      auto conn = db_->lease();
      TokenRepository(*conn).upsert_principal(sighting, now_seconds(), kPrincipalWriteInterval);
      return {};
    } catch (const SqlError& e) {
      return from_sql_error(e);
    }
  }

  Result<PrincipalRecord> principal(std::string_view issuer, std::string_view subject) override {
    try {
      auto conn = db_->lease();
      auto found = TokenRepository(*conn).find_principal(issuer, subject);
      if (!found)
        return failed<PrincipalRecord>(
            {Reason::PrincipalNotFound, std::string(issuer) + " " + std::string(subject)});
      return {std::move(*found), {}};
    } catch (const SqlError& e) {
      return failed<PrincipalRecord>(from_sql_error(e));
    }
  }

  Result<int> migrate() override {
    try {
      auto conn = db_->lease();
      return {apply_migrations(*conn, now_seconds()), {}};
    } catch (const SchemaTooNew& e) {
      return failed<int>({Reason::StoreSchemaTooNew, e.what()});
    } catch (const SqlError& e) {
      return failed<int>(from_sql_error(e));
    }
  }

  // Refuses to run when a row needs a key the keyring lacks: better at start-up than on the first request.
  // Without migrate_on_open, an out-of-date schema is named here rather than failing on the first query.
  Status check_schema_current() {
    try {
      auto conn = db_->lease();
      const int version = current_schema_version(*conn);
      if (version > latest_schema_version())
        return {Reason::StoreSchemaTooNew, SchemaTooNew(version, latest_schema_version()).what()};
      if (version < latest_schema_version())
        return {Reason::StoreUnavailable, "database schema version " + std::to_string(version) +
                                              " is older than " + std::to_string(latest_schema_version()) +
                                              ": run mcpgate migrate"};
      return {};
    } catch (const SqlError& e) {
      return from_sql_error(e);
    }
  }

  Status check_keys_present() {
    try {
      auto conn = db_->lease();
      for (const auto& id : TokenRepository(*conn).key_ids_in_use())
        if (!keyring_.has(id))
          return {Reason::StoreKeyMissing, "stored tokens are encrypted under key id '" + id +
                                               "', which is not in MCPGATE_STORE_KEYS or the key file"};
      return {};
    } catch (const SqlError& e) {
      return from_sql_error(e);
    }
  }

 private:
  static std::string describe_ref(const SecretRef& ref) {
    std::string out = "'" + ref.service + "/" + ref.key_name + "'";
    if (ref.owner) out += " of issuer '" + ref.owner->issuer + "' subject '" + ref.owner->subject + "'";
    return out;
  }
  static TokenMetadata metadata(const TokenRow& row) {
    TokenMetadata m;
    m.ref = {row.service, row.key_name,
             row.subject.empty() ? std::nullopt : std::optional<SecretOwner>({row.issuer, row.subject})};
    m.unbound = !row.subject.empty() && row.issuer.empty();
    m.key_id = row.sealed.key_id;
    m.created_at = row.created_at;
    m.updated_at = row.updated_at;
    return m;
  }
  AuditEntry audit_entry(std::int64_t now, const Actor& actor, std::string_view action, const SecretRef& ref,
                         std::string_view result) const {
    AuditEntry e;
    e.at = now;
    e.actor = actor.name;
    e.action = std::string(action);
    e.service = ref.service;
    e.key_name = ref.key_name;
    e.issuer = issuer_of(ref);
    e.subject = subject_of(ref);
    e.result = std::string(result);
    e.request_id = actor.request_id;
    return e;
  }
  // The row's own associated-data layout: rows of schema 1 still open; a row whose columns its layout does
  // not cover (layout 1 with an issuer) is refused like a tampered one.
  Result<std::string> open_row(const TokenRow& row) const {
    const auto aad = aad_for(row);
    if (!aad)
      return failed<std::string>(
          {Reason::StoreDecryptFailed, "the row's associated-data layout does not cover its owner"});
    return keyring_.open(row.sealed, *aad);
  }
  // Seals under the active key in the current layout (which covers the issuer).
  void seal_into(TokenRow& row, std::string_view plaintext) const {
    row.aad_version = kAadCurrent;
    row.sealed.key_id = keyring_.active_id();
    row.sealed = keyring_.seal(plaintext, *aad_for(row));
  }
  std::int64_t now_seconds() const { return static_cast<std::int64_t>(clock_->now_seconds()); }
  void warn_if_worn(const std::string& key_id, std::int64_t count) const {
    if (count < kEncryptionWarnThreshold) return;
    const std::string text =
        "master key '" + key_id + "' has performed " + std::to_string(count) +
        " encryptions; NIST SP 800-38D caps random-nonce AES-GCM at 2^32 per key: generate a "
        "new key (mcpgate secrets keygen), put it first, and run mcpgate secrets rotate";
    if (warn_)
      warn_(text);
    else
      std::cerr << "warning: " << text << "\n";
  }

  std::unique_ptr<SqlDatabase> db_;
  Keyring keyring_;
  std::shared_ptr<const Clock> clock_;
  std::function<void(std::string_view)> warn_;
};

}  // namespace

Result<std::shared_ptr<TokenStore>> open_sql_store(const StoreOptions& options, Keyring keyring,
                                                   std::shared_ptr<const Clock> clock) {
  using Result = Result<std::shared_ptr<TokenStore>>;
  std::unique_ptr<SqlDatabase> db;
  try {
    if (options.backend == StoreBackend::Sqlite) {
      if (options.sqlite_path.empty())
        return {std::nullopt, {Reason::StoreOptionsInvalid, "sqlite path is empty"}};
      db = SqlDatabase::open_sqlite(options.sqlite_path, options.busy_timeout_ms, options.pool_size);
    } else {
      if (options.postgres_conninfo.empty())
        return {std::nullopt, {Reason::StoreOptionsInvalid, "postgres connection string is empty"}};
      db = SqlDatabase::open_postgres(options.postgres_conninfo, options.pool_size);
    }
    auto store =
        std::make_shared<SqlTokenStore>(std::move(db), std::move(keyring), std::move(clock), options.warn);
    if (options.migrate_on_open) {
      auto migrated = store->migrate();
      if (!migrated.ok()) return Result{std::nullopt, migrated.status()};
    } else if (auto current = store->check_schema_current(); !current.ok()) {
      return Result{std::nullopt, current};
    }
    if (auto keys = store->check_keys_present(); !keys.ok()) return Result{std::nullopt, keys};
    return Result{std::shared_ptr<TokenStore>(std::move(store)), {}};
  } catch (const SqlError& e) {
    return Result{std::nullopt, from_sql_error(e)};
  }
}

}  // namespace mcpgate::store
