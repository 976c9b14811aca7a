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

StoreStatus from_sql_error(const SqlError& e) {
  return {e.connection_lost() ? Reason::StoreUnavailable : Reason::StoreQueryFailed, e.what()};
}

template <class T>
StoreOutcome<T> failed(StoreStatus s) {
  return {std::nullopt, std::move(s)};
}

std::string aad_for(const TokenRow& row) {
  return row_associated_data(row.service, row.key_name, row.subject, row.sealed.key_id);
}

StoreStatus check_ref(const SecretRef& ref) {
  if (ref.service.empty() || ref.key_name.empty())
    return {Reason::SecretReferenceInvalid, "service and key name must not be empty"};
  if (ref.subject && ref.subject->empty())
    return {Reason::SecretReferenceInvalid, "a subject, when given, must not be empty"};
  return {};
}

class SqlTokenStore final : public TokenStore {
 public:
  SqlTokenStore(std::unique_ptr<SqlDatabase> db, Keyring keyring, std::shared_ptr<const Clock> clock,
                std::function<void(std::string_view)> warn)
      : db_(std::move(db)), keyring_(std::move(keyring)), clock_(std::move(clock)), warn_(std::move(warn)) {}

  std::string_view backend_name() const noexcept override {
    return db_->engine() == SqlEngine::Sqlite ? "sqlite" : "postgres";
  }

  StoreOutcome<std::string> read(const SecretRef& ref) override {
    if (auto s = check_ref(ref); !s.ok()) return failed<std::string>(s);
    try {
      auto conn = db_->lease();
      auto row = TokenRepository(*conn).find_token(ref.service, ref.key_name, ref.subject.value_or(""));
      if (!row) return failed<std::string>({Reason::SecretNotFound, describe_ref(ref)});
      auto plain = keyring_.open(row->sealed, aad_for(*row));
      if (!plain.ok()) plain.status.detail = describe_ref(ref) + ": " + plain.status.detail;
      return plain;
    } catch (const SqlError& e) {
      return failed<std::string>(from_sql_error(e));
    }
  }

  StoreOutcome<TokenMetadata> describe(const SecretRef& ref) override {
    if (auto s = check_ref(ref); !s.ok()) return failed<TokenMetadata>(s);
    try {
      auto conn = db_->lease();
      auto row = TokenRepository(*conn).find_token(ref.service, ref.key_name, ref.subject.value_or(""));
      if (!row) return failed<TokenMetadata>({Reason::SecretNotFound, describe_ref(ref)});
      return {metadata(*row), {}};
    } catch (const SqlError& e) {
      return failed<TokenMetadata>(from_sql_error(e));
    }
  }

  StoreOutcome<std::vector<TokenMetadata>> list(std::string_view service) override {
    try {
      auto conn = db_->lease();
      std::vector<TokenMetadata> out;
      for (const auto& row : TokenRepository(*conn).list_tokens(service)) out.push_back(metadata(row));
      return {std::move(out), {}};
    } catch (const SqlError& e) {
      return failed<std::vector<TokenMetadata>>(from_sql_error(e));
    }
  }

  StoreStatus put(const SecretRef& ref, std::string_view value, const Actor& actor) override {
    if (auto s = check_ref(ref); !s.ok()) return s;
    if (keyring_.empty()) return {Reason::StoreKeyInvalid, "no master key given: cannot encrypt"};
    try {
      const auto now = now_seconds();
      TokenRow row{0, ref.service, ref.key_name, ref.subject.value_or(""), {}, now, now};
      row.sealed.key_id = keyring_.active_id();
      row.sealed = keyring_.seal(value, aad_for(row));
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

  StoreStatus remove(const SecretRef& ref, const Actor& actor) override {
    if (auto s = check_ref(ref); !s.ok()) return s;
    try {
      const auto now = now_seconds();
      auto conn = db_->lease();
      SqlTransaction tx(*conn);
      TokenRepository repo(*conn);
      const bool removed = repo.delete_token(ref.service, ref.key_name, ref.subject.value_or(""));
      repo.append_audit(audit_entry(now, actor, "delete", ref, removed ? "ok" : "not_found"));
      tx.commit();
      if (!removed) return {Reason::SecretNotFound, describe_ref(ref)};
      return {};
    } catch (const SqlError& e) {
      return from_sql_error(e);
    }
  }

  StoreOutcome<RotationReport> rotate(const Actor& actor, int batch_size,
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
          auto plain = keyring_.open(row.sealed, aad_for(row));
          if (!plain.ok()) {
            plain.status.detail = "row " + std::to_string(row.id) + " (" + row.service + "/" + row.key_name +
                                  "): " + plain.status.detail;
            return failed<RotationReport>(plain.status);
          }
          TokenRow fresh = row;
          fresh.sealed.key_id = report.active_key_id;
          fresh.sealed = keyring_.seal(*plain.value, aad_for(fresh));
          OPENSSL_cleanse(plain.value->data(), plain.value->size());
          if (repo.reseal_token(row.id, row.sealed.key_id, fresh.sealed, now)) ++changed;
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

  StoreStatus record_audit(const Actor& actor, std::string_view action, const SecretRef& ref,
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

  StoreOutcome<std::vector<AuditEntry>> audit_since(std::int64_t since, int limit) override {
    try {
      auto conn = db_->lease();
      return {TokenRepository(*conn).audit_since(since, limit), {}};
    } catch (const SqlError& e) {
      return failed<std::vector<AuditEntry>>(from_sql_error(e));
    }
  }

  StoreStatus record_principal(const PrincipalSighting& sighting) override {
    try {
      auto conn = db_->lease();
      TokenRepository(*conn).upsert_principal(sighting, now_seconds(), kPrincipalWriteInterval);
      return {};
    } catch (const SqlError& e) {
      return from_sql_error(e);
    }
  }

  StoreOutcome<PrincipalRecord> principal(std::string_view issuer, std::string_view subject) override {
    try {
      auto conn = db_->lease();
      auto found = TokenRepository(*conn).find_principal(issuer, subject);
      if (!found) return failed<PrincipalRecord>({Reason::SecretNotFound, "no such principal"});
      return {std::move(*found), {}};
    } catch (const SqlError& e) {
      return failed<PrincipalRecord>(from_sql_error(e));
    }
  }

  StoreOutcome<int> migrate() override {
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
  StoreStatus check_schema_current() {
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

  StoreStatus check_keys_present() {
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
    return "'" + ref.service + "/" + ref.key_name + (ref.subject ? "@" + *ref.subject : std::string()) + "'";
  }
  static TokenMetadata metadata(const TokenRow& row) {
    TokenMetadata m;
    m.ref = {row.service, row.key_name,
             row.subject.empty() ? std::nullopt : std::optional<std::string>(row.subject)};
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
    e.subject = ref.subject.value_or("");
    e.result = std::string(result);
    e.request_id = actor.request_id;
    return e;
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

StoreOutcome<std::shared_ptr<TokenStore>> open_sql_store(const StoreOptions& options, Keyring keyring,
                                                         std::shared_ptr<const Clock> clock) {
  using Result = StoreOutcome<std::shared_ptr<TokenStore>>;
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
      if (!migrated.ok()) return Result{std::nullopt, migrated.status};
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
