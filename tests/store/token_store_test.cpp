// The same specification, run against SQLite and PostgreSQL.
#include <gtest/gtest.h>

#include <fstream>
#include <iterator>

#include "store/migrations.hpp"
#include "store_engines.hpp"

namespace mcpgate::testing {
namespace {

using store::SqlValue;

template <class Engine>
class TokenStoreTest : public EngineTest<Engine> {};
TYPED_TEST_SUITE(TokenStoreTest, StoreEngines, EngineNames);

const Actor kActor{"test", "req-1"};
constexpr const char* kIssuerA = "https://a.example";
constexpr const char* kIssuerB = "https://b.example";
const SecretRef kShared{"github", "token", std::nullopt};
const SecretRef kAlice{"github", "token", SecretOwner{kIssuerA, "alice"}};

SecretRef per_user(std::string service, std::string issuer, std::string subject) {
  return {std::move(service), "token", SecretOwner{std::move(issuer), std::move(subject)}};
}

TYPED_TEST(TokenStoreTest, RoundTripsSharedAndPerUserTokens) {
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(kShared, "shared-value", kActor).ok());
  ASSERT_TRUE(store->put(kAlice, "alice-value", kActor).ok());
  EXPECT_EQ(*store->read(kShared).value, "shared-value");
  EXPECT_EQ(*store->read(kAlice).value, "alice-value");
  EXPECT_EQ(store->read(per_user("github", kIssuerA, "bob")).reason, Reason::SecretNotFound);
  auto meta = store->describe(kAlice);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta.value->key_id, "k1");
  ASSERT_TRUE(meta.value->ref.owner);
  EXPECT_EQ(*meta.value->ref.owner, (SecretOwner{kIssuerA, "alice"}));
  EXPECT_FALSE(meta.value->unbound);
}

// The store keys a per-user token by the whole identity: the same subject under another issuer (or the
// static tokens' "static") is another principal, and an owner without an issuer names nobody.
TYPED_TEST(TokenStoreTest, PerUserSecretBelongsToIssuerAndSubject) {
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(per_user("github", kIssuerA, "alice"), "a-alice", kActor).ok());
  for (const auto& other : {per_user("github", kIssuerB, "alice"), per_user("github", "static", "alice")})
    EXPECT_EQ(store->read(other).reason, Reason::SecretNotFound) << other.owner->issuer;
  EXPECT_EQ(store->read(kShared).reason, Reason::SecretNotFound);
  ASSERT_TRUE(store->put(per_user("github", kIssuerB, "alice"), "b-alice", kActor).ok());
  EXPECT_EQ(*store->read(per_user("github", kIssuerA, "alice")).value, "a-alice");
  EXPECT_EQ(*store->read(per_user("github", kIssuerB, "alice")).value, "b-alice");
  ASSERT_TRUE(store->remove(per_user("github", kIssuerA, "alice"), kActor).ok());
  EXPECT_EQ(*store->read(per_user("github", kIssuerB, "alice")).value, "b-alice");
  for (const auto& half : {per_user("github", "", "alice"), per_user("github", kIssuerA, "")}) {
    EXPECT_EQ(store->read(half).reason, Reason::SecretReferenceInvalid);
    EXPECT_EQ(store->put(half, "v", kActor).reason, Reason::SecretReferenceInvalid);
  }
  auto audit = store->audit_since(0);
  ASSERT_TRUE(audit.ok());
  ASSERT_FALSE(audit.value->empty());
  EXPECT_EQ(audit.value->front().issuer, kIssuerA);
  EXPECT_EQ(audit.value->front().subject, "alice");
}

// The associated data covers the issuer: a row moved to another issuer behind the store's back does not
// decrypt, and neither does a schema-1 row (whose layout has no issuer) given one.
TYPED_TEST(TokenStoreTest, RowMovedToAnotherIssuerFailsToDecrypt) {
  make_schema1_database(this->engine, {{"legacy", "token", "alice", "legacy-alice"}});
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(per_user("github", kIssuerA, "alice"), "secret-plaintext", kActor).ok());
  this->engine.raw()->lease()->exec("UPDATE service_tokens SET issuer = ? WHERE subject = 'alice'",
                                    {SqlValue(kIssuerB)});
  for (const char* service : {"github", "legacy"}) {
    auto moved = store->read(per_user(service, kIssuerB, "alice"));
    EXPECT_EQ(moved.reason, Reason::StoreDecryptFailed) << service;
    EXPECT_FALSE(moved.value.has_value());
  }
}

// Per-user rows from schema 1 have no issuer: no principal's lookup finds them until the operator says which
// issuer their subjects belong to; then they are re-sealed in the layout that covers it.
TYPED_TEST(TokenStoreTest, LegacyPerUserRowsAreNotServedUntilBoundToAnIssuer) {
  make_schema1_database(this->engine, {{"github", "token", "", "shared-value"},
                                       {"github", "token", "alice", "legacy-alice"},
                                       {"github", "token", "bob", "legacy-bob"},
                                       {"coda", "token", "alice", "legacy-coda-alice"}});
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  auto listed = store->list();
  ASSERT_TRUE(listed.ok());
  ASSERT_EQ(listed.value->size(), 4u);
  int unbound = 0;
  for (const auto& m : *listed.value) {
    EXPECT_EQ(m.unbound, m.ref.owner.has_value()) << m.ref.service;
    if (m.unbound) {
      EXPECT_EQ(m.ref.owner->issuer, "");
    }
    unbound += m.unbound;
  }
  EXPECT_EQ(unbound, 3);
  for (const char* issuer : {kIssuerA, kIssuerB, "static"})
    EXPECT_EQ(store->read(per_user("github", issuer, "alice")).reason, Reason::SecretNotFound) << issuer;
  EXPECT_EQ(store->read(per_user("github", "", "alice")).reason, Reason::SecretReferenceInvalid);

  // bob already has a token of his own under kIssuerA: his legacy row stays unbound rather than replace it.
  ASSERT_TRUE(store->put(per_user("github", kIssuerA, "bob"), "current-bob", kActor).ok());
  auto bound = store->bind_issuer(kIssuerA, kActor, "github");
  ASSERT_TRUE(bound.ok()) << bound.message();
  EXPECT_EQ(bound.value->bound, 1);
  EXPECT_EQ(bound.value->conflicts, 1);
  EXPECT_EQ(*store->read(per_user("github", kIssuerA, "alice")).value, "legacy-alice");
  EXPECT_EQ(*store->read(per_user("github", kIssuerA, "bob")).value, "current-bob");
  EXPECT_EQ(store->read(per_user("coda", kIssuerA, "alice")).reason, Reason::SecretNotFound);
  EXPECT_EQ(*store->read(kShared).value, "shared-value");

  auto statics = store->bind_issuer("static", kActor, "", "alice");
  ASSERT_TRUE(statics.ok()) << statics.message();
  EXPECT_EQ(statics.value->bound, 1);
  EXPECT_EQ(*store->read(per_user("coda", "static", "alice")).value, "legacy-coda-alice");
  EXPECT_EQ(store->bind_issuer("", kActor).reason, Reason::SecretReferenceInvalid);

  auto raw = this->engine.raw();
  auto conn = raw->lease();
  EXPECT_EQ(
      conn->query("SELECT aad_version FROM service_tokens WHERE service = 'github' AND subject = 'alice'")
          .at(0)
          .at(0)
          .as_int(),
      store::kAadCurrent);
  EXPECT_EQ(conn->query("SELECT COUNT(*) FROM audit_log WHERE action = 'bind_issuer' AND issuer = ?",
                        {SqlValue(kIssuerA)})[0][0]
                .as_int(),
            3);  // alice bound, bob's conflict, the summary
}

// Upgrading a schema-1 database changes no stored value: every row still decrypts, keeps its id and times,
// rotates, and a principal's new token may sit beside an unbound one of the same subject.
TYPED_TEST(TokenStoreTest, MigrationKeepsStoredRowsReadable) {
  make_schema1_database(this->engine,
                        {{"github", "token", "", "shared-value"}, {"svc", "token", "alice", "legacy-alice"}});
  std::vector<std::int64_t> ids_before;
  for (const auto& r : this->engine.raw()->lease()->query("SELECT id FROM service_tokens ORDER BY id"))
    ids_before.push_back(r[0].as_int());
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->migrate().value, store::latest_schema_version());
  EXPECT_EQ(*store->read(kShared).value, "shared-value");
  auto meta = store->describe(kShared);
  ASSERT_TRUE(meta.ok());
  EXPECT_EQ(meta.value->created_at, kSchema1Time);
  std::vector<std::int64_t> ids_after;
  for (const auto& r : this->engine.raw()->lease()->query("SELECT id FROM service_tokens ORDER BY id"))
    ids_after.push_back(r[0].as_int());
  EXPECT_EQ(ids_after, ids_before);
  ASSERT_TRUE(store->put(per_user("svc", kIssuerA, "alice"), "new-alice", kActor).ok());

  auto rotating = this->open_store(test_key_k2() + "," + test_key_k1());
  ASSERT_TRUE(rotating);
  auto report = rotating->rotate(kActor, 1);
  ASSERT_TRUE(report.ok()) << report.message();
  EXPECT_EQ(report.value->rows_reencrypted, 3);
  auto only_new = this->open_store(test_key_k2());
  ASSERT_TRUE(only_new);
  EXPECT_EQ(*only_new->read(kShared).value, "shared-value");
  EXPECT_EQ(*only_new->read(per_user("svc", kIssuerA, "alice")).value, "new-alice");
  auto bound = only_new->bind_issuer(kIssuerB, kActor);
  ASSERT_TRUE(bound.ok()) << bound.message();
  EXPECT_EQ(bound.value->bound, 1);
  EXPECT_EQ(*only_new->read(per_user("svc", kIssuerB, "alice")).value, "legacy-alice");
}

TYPED_TEST(TokenStoreTest, BinaryValuesSurviveTheRoundTrip) {
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  const std::string value("a\0b\xff\n'?$1", 9);
  ASSERT_TRUE(store->put(kShared, value, kActor).ok());
  EXPECT_EQ(*store->read(kShared).value, value);
}

TYPED_TEST(TokenStoreTest, SharedTokenIsUniquePerServiceAndKey) {
  auto clock = std::make_shared<ManualClock>(1'800'000'000);
  auto store = this->open_store(test_key_k1(), clock);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(kShared, "v1", kActor).ok());
  clock->advance(std::chrono::seconds(10));
  ASSERT_TRUE(store->put(kShared, "v2", kActor).ok());
  auto all = store->list();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all.value->size(), 1u);
  EXPECT_EQ(all.value->front().created_at, 1'800'000'000);
  EXPECT_EQ(all.value->front().updated_at, 1'800'000'010);
  EXPECT_EQ(*store->read(kShared).value, "v2");
}

TYPED_TEST(TokenStoreTest, DeleteRemovesTheRowAndAuditsIt) {
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(kAlice, "v", kActor).ok());
  ASSERT_TRUE(store->remove(kAlice, kActor).ok());
  EXPECT_EQ(store->read(kAlice).reason, Reason::SecretNotFound);
  EXPECT_EQ(store->remove(kAlice, kActor).reason, Reason::SecretNotFound);
  auto audit = store->audit_since(0);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit.value->size(), 3u);
  EXPECT_EQ((*audit.value)[1].action, "delete");
  EXPECT_EQ((*audit.value)[1].subject, "alice");
  EXPECT_EQ((*audit.value)[2].result, "not_found");
  EXPECT_EQ((*audit.value)[0].request_id, "req-1");
}

void tamper(store::SqlDatabase& db, const char* column) {
  auto conn = db.lease();
  auto rows = conn->query(std::string("SELECT id, ") + column + " FROM service_tokens");
  ASSERT_EQ(rows.size(), 1u);
  std::string bytes = rows[0][1].as_text();
  bytes[0] ^= 0x01;
  conn->exec(std::string("UPDATE service_tokens SET ") + column + " = ? WHERE id = ?",
             {SqlValue::blob(bytes), rows[0][0]});
}

TYPED_TEST(TokenStoreTest, FlippedCiphertextNonceOrTagByteIsRefusedWithoutPlaintext) {
  for (const char* column : {"ciphertext", "nonce", "tag"}) {
    auto store = this->open_store(test_key_k1());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put(kShared, "secret-plaintext", kActor).ok());
    tamper(*this->engine.raw(), column);
    auto back = store->read(kShared);
    EXPECT_EQ(back.reason, Reason::StoreDecryptFailed) << column;
    EXPECT_FALSE(back.value.has_value());
    EXPECT_EQ(back.message().find("secret-plaintext"), std::string::npos);
    ASSERT_TRUE(store->remove(kShared, kActor).ok());
  }
}

TYPED_TEST(TokenStoreTest, SwappedCiphertextsBetweenRowsFailToDecrypt) {
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put({"a", "token", std::nullopt}, "value-of-a", kActor).ok());
  ASSERT_TRUE(store->put({"b", "token", std::nullopt}, "value-of-b", kActor).ok());
  {
    auto raw = this->engine.raw();
    auto conn = raw->lease();
    auto rows = conn->query("SELECT service, nonce, ciphertext, tag FROM service_tokens ORDER BY service");
    ASSERT_EQ(rows.size(), 2u);
    for (int i = 0; i < 2; ++i)
      conn->exec("UPDATE service_tokens SET nonce = ?, ciphertext = ?, tag = ? WHERE service = ?",
                 {rows[1 - i][1], rows[1 - i][2], rows[1 - i][3], rows[i][0]});
  }
  EXPECT_EQ(store->read({"a", "token", std::nullopt}).reason, Reason::StoreDecryptFailed);
  EXPECT_EQ(store->read({"b", "token", std::nullopt}).reason, Reason::StoreDecryptFailed);
}

TYPED_TEST(TokenStoreTest, OpeningRefusesNamingTheMissingKeyId) {
  {
    auto store = this->open_store(test_key_k1());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put(kShared, "v", kActor).ok());
  }
  auto opened = TokenStore::open(this->engine.options(test_key_k2()));
  EXPECT_EQ(opened.reason, Reason::StoreKeyMissing);
  EXPECT_NE(opened.detail.find("'k1'"), std::string::npos) << opened.detail;
}

TYPED_TEST(TokenStoreTest, WrongKeyMaterialUnderTheSameIdFailsToDecrypt) {
  {
    auto store = this->open_store(test_key_k1());
    ASSERT_TRUE(store);
    ASSERT_TRUE(store->put(kShared, "secret-plaintext", kActor).ok());
  }
  auto other = this->open_store(store::Keyring::generate("k1"));
  ASSERT_TRUE(other);
  auto back = other->read(kShared);
  EXPECT_EQ(back.reason, Reason::StoreDecryptFailed);
  EXPECT_FALSE(back.value.has_value());
}

TYPED_TEST(TokenStoreTest, RotationReencryptsEveryRowUnderTheActiveKeyInBatches) {
  {
    auto store = this->open_store(test_key_k1());
    ASSERT_TRUE(store);
    for (int i = 0; i < 25; ++i)
      ASSERT_TRUE(
          store->put({"svc", "k" + std::to_string(i), std::nullopt}, "value-" + std::to_string(i), kActor)
              .ok());
  }
  auto store = this->open_store(test_key_k2() + "," + test_key_k1());
  ASSERT_TRUE(store);
  auto report = store->rotate(kActor, 10);
  ASSERT_TRUE(report.ok()) << report.message();
  EXPECT_EQ(report.value->rows_reencrypted, 25);
  EXPECT_EQ(report.value->batches, 3);
  auto listed = store->list();
  ASSERT_TRUE(listed.ok());
  for (const auto& meta : *listed.value) EXPECT_EQ(meta.key_id, "k2");
  // Once rotated, k1 can leave the keyring.
  auto only_new = this->open_store(test_key_k2());
  ASSERT_TRUE(only_new);
  for (int i = 0; i < 25; ++i)
    EXPECT_EQ(*only_new->read({"svc", "k" + std::to_string(i), std::nullopt}).value,
              "value-" + std::to_string(i));
}

TYPED_TEST(TokenStoreTest, AuditRowsCannotBeUpdatedOrDeleted) {
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(kShared, "v", kActor).ok());
  auto raw = this->engine.raw();
  auto conn = raw->lease();
  EXPECT_THROW(conn->exec("UPDATE audit_log SET actor = 'mallory'"), store::SqlError);
  EXPECT_THROW(conn->exec("DELETE FROM audit_log"), store::SqlError);
  if (conn->engine() == store::SqlEngine::Postgres) {
    EXPECT_THROW(conn->exec("TRUNCATE audit_log"), store::SqlError);
  }
  EXPECT_EQ(conn->query("SELECT COUNT(*) FROM audit_log WHERE actor = 'test'")[0][0].as_int(), 1);
}

TYPED_TEST(TokenStoreTest, AuditLogNeverHoldsTheSecret) {
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(kAlice, "secret-plaintext", kActor).ok());
  ASSERT_TRUE(store->remove(kAlice, kActor).ok());
  auto audit = store->audit_since(0);
  ASSERT_TRUE(audit.ok());
  ASSERT_EQ(audit.value->size(), 2u);
  for (const auto& e : *audit.value)
    for (const auto* field :
         {&e.actor, &e.action, &e.service, &e.key_name, &e.subject, &e.result, &e.request_id})
      EXPECT_EQ(field->find("secret-plaintext"), std::string::npos);
}

TYPED_TEST(TokenStoreTest, PrincipalLastSeenIsWrittenAtMostOnceAMinute) {
  auto clock = std::make_shared<ManualClock>(1'800'000'000);
  auto store = this->open_store(test_key_k1(), clock);
  ASSERT_TRUE(store);
  const PrincipalSighting alice{"https://issuer", "alice", "a@example.com", "org-1"};
  ASSERT_TRUE(store->record_principal(alice).ok());
  clock->advance(std::chrono::seconds(30));
  ASSERT_TRUE(store->record_principal(alice).ok());
  auto seen = store->principal("https://issuer", "alice");
  ASSERT_TRUE(seen.ok());
  EXPECT_EQ(seen.value->first_seen, 1'800'000'000);
  EXPECT_EQ(seen.value->last_seen, 1'800'000'000);
  clock->advance(std::chrono::seconds(31));
  ASSERT_TRUE(store->record_principal(alice).ok());
  EXPECT_EQ(store->principal("https://issuer", "alice").value->last_seen, 1'800'000'061);
  EXPECT_EQ(store->principal("https://issuer", "alice").value->email, "a@example.com");
}

TYPED_TEST(TokenStoreTest, MigrationsAreAppliedOnceWhenRepeated) {
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  EXPECT_EQ(*store->migrate().value, store::latest_schema_version());
  EXPECT_EQ(*store->migrate().value, store::latest_schema_version());
  auto raw = this->engine.raw();
  auto conn = raw->lease();
  EXPECT_EQ(conn->query("SELECT COUNT(*) FROM schema_migrations")[0][0].as_int(),
            store::latest_schema_version());
}

TYPED_TEST(TokenStoreTest, RefusesADatabaseNewerThanTheBinary) {
  ASSERT_TRUE(this->open_store(test_key_k1()));
  {
    auto raw = this->engine.raw();
    raw->lease()->exec("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                       {SqlValue(store::latest_schema_version() + 1), SqlValue(0)});
  }
  auto opened = TokenStore::open(this->engine.options(test_key_k1()));
  EXPECT_EQ(opened.reason, Reason::StoreSchemaTooNew);
  EXPECT_NE(opened.detail.find(std::to_string(store::latest_schema_version() + 1)), std::string::npos);
}

TYPED_TEST(TokenStoreTest, WithoutMigrateOnOpenAnUnmigratedDatabaseIsNamed) {
  auto options = this->engine.options(test_key_k1());
  options.migrate_on_open = false;
  auto opened = TokenStore::open(options);
  EXPECT_EQ(opened.reason, Reason::StoreUnavailable);
  EXPECT_NE(opened.detail.find("run mcpgate migrate"), std::string::npos) << opened.detail;
  ASSERT_TRUE(this->open_store(test_key_k1()));  // migrates
  EXPECT_TRUE(TokenStore::open(options).ok());
}

TYPED_TEST(TokenStoreTest, WarnsWhenTheKeyFileIsReadableByOthers) {
  const auto file = std::filesystem::temp_directory_path() / unique_name("keys_");
  std::ofstream(file) << test_key_k1() << "\n";
  std::filesystem::permissions(file, std::filesystem::perms::owner_read |
                                         std::filesystem::perms::owner_write |
                                         std::filesystem::perms::others_read);
  std::vector<std::string> warnings;
  auto options = this->engine.options("");
  options.key_file = file.string();
  options.warn = [&](std::string_view w) { warnings.emplace_back(w); };
  EXPECT_TRUE(TokenStore::open(options).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("chmod 600"), std::string::npos);
  std::filesystem::permissions(file,
                               std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  warnings.clear();
  EXPECT_TRUE(TokenStore::open(options).ok());
  EXPECT_TRUE(warnings.empty());
  std::filesystem::remove(file);
}

TYPED_TEST(TokenStoreTest, WarnsWhenAKeyNearsTheGcmInvocationLimit) {
  std::vector<std::string> warnings;
  auto options = this->engine.options(test_key_k1());
  options.warn = [&](std::string_view w) { warnings.emplace_back(w); };
  auto opened = TokenStore::open(options);
  ASSERT_TRUE(opened.ok());
  auto& store = *opened.value;
  ASSERT_TRUE(store->put(kShared, "v", kActor).ok());
  EXPECT_TRUE(warnings.empty());
  this->engine.raw()->lease()->exec("UPDATE key_usage SET encryptions = ? WHERE key_id = 'k1'",
                                    {SqlValue((std::int64_t{1} << 31) - 1)});
  ASSERT_TRUE(store->put(kShared, "v", kActor).ok());
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("'k1'"), std::string::npos);
  EXPECT_NE(warnings[0].find("2147483648"), std::string::npos);
}

TYPED_TEST(TokenStoreTest, ResolverCachesEachValueForItsTtl) {
  auto clock = std::make_shared<ManualClock>(1'800'000'000);
  auto store = this->open_store(test_key_k1(), clock);
  ASSERT_TRUE(store);
  ASSERT_TRUE(store->put(kShared, "shared", kActor).ok());
  ASSERT_TRUE(store->put(kAlice, "alices", kActor).ok());
  SecretResolver resolver(store, clock, 30);
  EXPECT_EQ(*resolver.resolve(kShared).value, "shared");
  EXPECT_EQ(*resolver.resolve(kAlice).value, "alices");
  ASSERT_TRUE(store->put(kShared, "changed", kActor).ok());
  EXPECT_EQ(*resolver.resolve(kShared).value, "shared");  // still cached
  clock->advance(std::chrono::seconds(31));
  EXPECT_EQ(*resolver.resolve(kShared).value, "changed");
  EXPECT_EQ(resolver.resolve({"github", "missing", std::nullopt}).reason, Reason::SecretNotFound);
}

// Issuer and subject come from tokens and may hold any character: no two owners share a cache entry.
TYPED_TEST(TokenStoreTest, ResolverKeepsEveryOwnersValueApart) {
  auto store = this->open_store(test_key_k1());
  ASSERT_TRUE(store);
  const SecretRef one = per_user("svc", "a\nb", "c");
  const SecretRef two = per_user("svc", "a", "b\nc");
  ASSERT_TRUE(store->put(one, "value-one", kActor).ok());
  ASSERT_TRUE(store->put(two, "value-two", kActor).ok());
  SecretResolver resolver(store, Clock::system(), 30);
  EXPECT_EQ(*resolver.resolve(one).value, "value-one");
  EXPECT_EQ(*resolver.resolve(two).value, "value-two");
  EXPECT_EQ(resolver.resolve({"svc", "token", std::nullopt}).reason, Reason::SecretNotFound);
}

TEST(SqliteStore, DatabaseFileAndWalNeverContainThePlaintext) {
  SqliteEngine engine;
  engine.prepare();
  const std::string secret = "PLAINTEXT-MARKER-7f3a9c";
  {
    auto opened = TokenStore::open(engine.options());
    ASSERT_TRUE(opened.ok());
    for (int i = 0; i < 20; ++i)
      ASSERT_TRUE((*opened.value)->put({"svc", "k" + std::to_string(i), std::nullopt}, secret, kActor).ok());
    // Inspect while the WAL still holds the pages (the store is open).
    for (const char* suffix : {"", "-wal"}) {
      std::ifstream in(engine.path() + suffix, std::ios::binary);
      std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      EXPECT_EQ(bytes.find(secret), std::string::npos) << "found in " << suffix;
      if (*suffix) {
        EXPECT_GT(bytes.size(), 0u);
      }
    }
  }
  std::ifstream in(engine.path(), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(bytes.find(secret), std::string::npos);
}

TEST(SqliteStore, EveryConnectionHasWalAndForeignKeys) {
  SqliteEngine engine;
  engine.prepare();
  ASSERT_TRUE(TokenStore::open(engine.options()).ok());
  auto db = store::SqlDatabase::open_sqlite(engine.path(), 5000, 1);
  auto conn = db->lease();
  EXPECT_EQ(conn->query("PRAGMA journal_mode")[0][0].as_text(), "wal");
  EXPECT_EQ(conn->query("PRAGMA foreign_keys")[0][0].as_int(), 1);
  EXPECT_THROW(conn->exec("INSERT INTO key_usage (key_id, encryptions) VALUES ('x', 'not-a-number')"),
               store::SqlError);  // STRICT tables refuse a text in an INTEGER column
}

TEST(PostgresStore, ReconnectsAfterTheServerRestarts) {
  PostgresEngine engine;
  if (!engine.prepare()) {
    if (postgres_required()) FAIL() << PostgresTestServer::shared().why_unavailable();
    GTEST_SKIP() << "SKIPPING PostgreSQL test: " << PostgresTestServer::shared().why_unavailable();
  }
  auto opened = TokenStore::open(engine.options());
  ASSERT_TRUE(opened.ok()) << opened.message();
  auto& store = *opened.value;
  ASSERT_TRUE(store->put(kShared, "before", kActor).ok());
  PostgresTestServer::shared().restart();
  auto after = store->read(kShared);
  ASSERT_TRUE(after.ok()) << after.message();
  EXPECT_EQ(*after.value, "before");
  EXPECT_TRUE(store->put(kShared, "after", kActor).ok());
}

TEST(PostgresStore, ServerLogNeverContainsThePlaintext) {
  PostgresEngine engine;
  if (!engine.prepare()) {
    if (postgres_required()) FAIL() << PostgresTestServer::shared().why_unavailable();
    GTEST_SKIP() << "SKIPPING PostgreSQL test: " << PostgresTestServer::shared().why_unavailable();
  }
  const std::string secret = "PG-PLAINTEXT-MARKER-51c2";
  auto opened = TokenStore::open(engine.options());
  ASSERT_TRUE(opened.ok()) << opened.message();
  auto& store = *opened.value;
  ASSERT_TRUE(store->put(kShared, secret, kActor).ok());
  // A failing statement is logged with its text (log_min_error_statement = error); its parameters must not
  // be.
  EXPECT_THROW(engine.raw()->lease()->exec("UPDATE audit_log SET actor = ?", {SqlValue(secret)}),
               store::SqlError);
  std::ifstream in(PostgresTestServer::shared().log_path(), std::ios::binary);
  std::string log((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("append-only"), std::string::npos) << "the failing statement should be in the log";
  EXPECT_EQ(log.find(secret), std::string::npos);
}

TEST(StoreOptions, StoreSpecSelectsTheBackendWithoutEchoingIt) {
  StoreOptions o;
  EXPECT_TRUE(o.apply_store_spec("sqlite:/tmp/x.db").ok());
  EXPECT_EQ(o.backend, StoreBackend::Sqlite);
  EXPECT_EQ(o.sqlite_path, "/tmp/x.db");
  EXPECT_TRUE(o.apply_store_spec("postgres:host=h dbname=d sslmode=verify-full").ok());
  EXPECT_EQ(o.postgres_conninfo, "host=h dbname=d sslmode=verify-full");
  auto bad = o.apply_store_spec("mysql:password=hunter2");
  EXPECT_EQ(bad.reason, Reason::StoreOptionsInvalid);
  EXPECT_EQ(bad.message().find("hunter2"), std::string::npos);
}

// Configuration names a per-user token only as "the requesting principal's" (@subject, the literal word):
// an identity is never text in a reference.
TEST(SecretReference, ParsesSharedAndPerUserForms) {
  auto shared = parse_secret_reference("{secret:github/token}");
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared.value->service, "github");
  EXPECT_EQ(shared.value->key_name, "token");
  EXPECT_FALSE(shared.value->per_user);
  auto user = parse_secret_reference("{secret:github/token@subject}");
  ASSERT_TRUE(user.ok());
  EXPECT_TRUE(user.value->per_user);
  EXPECT_EQ(user.value->key_name, "token");
  for (const char* bad : {"{secret:github}", "{secret:/token}", "{secret:github/}", "{secret:github/token@}",
                          "secret:github/token", "{secret:a/b/c}", "{secret:a/b@c@d}",
                          "{secret:github/token@user-42}", "{secret:github/token@subject@x}"})
    EXPECT_EQ(parse_secret_reference(bad).reason, Reason::SecretReferenceInvalid) << bad;
}

TEST(EnvStore, ReadsSharedTokensFromEnvironmentAndRefusesWrites) {
  ::setenv("MCPGATE_SECRET_MY_SVC_API_KEY", "env-value", 1);
  StoreOptions o;
  auto opened = TokenStore::open(o);
  ASSERT_TRUE(opened.ok());
  auto& store = *opened.value;
  EXPECT_EQ(*store->read({"my-svc", "api_key", std::nullopt}).value, "env-value");
  EXPECT_EQ(store->read({"my-svc", "api_key", SecretOwner{"static", "alice"}}).reason,
            Reason::SecretNotFound);  // the env backend has no per-user tokens
  EXPECT_EQ(store->put({"x", "y", std::nullopt}, "v", kActor).reason, Reason::StoreReadOnly);
  ::unsetenv("MCPGATE_SECRET_MY_SVC_API_KEY");
}

}  // namespace
}  // namespace mcpgate::testing
