// inject_headers templates: parsed once (a bad reference is a configuration error), filled per request with
// the principal's identity handed to the store as a value.
#include "gateway/secret_injection.hpp"

#include <gtest/gtest.h>

#include <map>
#include <mcpgate/clock.hpp>

namespace mcpgate::gateway {
namespace {

// Answers read() from a map and remembers every reference it was asked for.
class RecordingStore final : public TokenStore {
 public:
  std::map<std::string, std::string> values;  // key(ref) → value
  std::vector<SecretRef> asked;

  static std::string key(const SecretRef& r) {
    return r.service + "/" + r.key_name + (r.owner ? "|" + r.owner->issuer + "|" + r.owner->subject : "");
  }
  std::string_view backend_name() const noexcept override { return "recording"; }
  Result<std::string> read(const SecretRef& ref) override {
    asked.push_back(ref);
    auto it = values.find(key(ref));
    if (it == values.end()) return {std::nullopt, {Reason::SecretNotFound, "absent"}};
    return {it->second, {}};
  }
  Result<TokenMetadata> describe(const SecretRef&) override { return TokenMetadata{}; }
  Result<std::vector<TokenMetadata>> list(std::string_view) override { return std::vector<TokenMetadata>{}; }
  Status put(const SecretRef&, std::string_view, const Actor&) override { return {}; }
  Status remove(const SecretRef&, const Actor&) override { return {}; }
  Result<RotationReport> rotate(const Actor&, int,
                                const std::function<void(const RotationReport&)>&) override {
    return RotationReport{};
  }
  Result<BindReport> bind_issuer(std::string_view, const Actor&, std::string_view,
                                 std::string_view) override {
    return BindReport{};
  }
  Status record_audit(const Actor&, std::string_view, const SecretRef&, std::string_view) override {
    return {};
  }
  Result<std::vector<AuditEntry>> audit_since(std::int64_t, int) override {
    return std::vector<AuditEntry>{};
  }
  Status record_principal(const PrincipalSighting&) override { return {}; }
  Result<PrincipalRecord> principal(std::string_view, std::string_view) override { return PrincipalRecord{}; }
  Result<int> migrate() override { return 0; }
};

Principal jwt_user(std::string issuer, std::string subject) {
  Principal p;
  p.source = PrincipalSource::Jwt;
  p.issuer = std::move(issuer);
  p.subject = std::move(subject);
  return p;
}

SecretInjection parsed(std::vector<std::pair<std::string, std::string>> headers) {
  auto out = SecretInjection::parse(headers);
  EXPECT_TRUE(out.ok()) << out.detail;
  return out.ok() ? std::move(*out) : SecretInjection{};
}

TEST(SecretInjection, ABadReferenceIsAConfigurationErrorNamingTheHeader) {
  for (const char* bad : {"Bearer {secret:coda/token", "{secret:coda}", "{secret:coda/token@alice}",
                          "{secret:coda/token@subject@x}", "{secret:/token}"}) {
    auto out = SecretInjection::parse({{"X-Token", bad}});
    EXPECT_EQ(out.reason, Reason::SecretReferenceInvalid) << bad;
    EXPECT_EQ(out.detail.rfind("X-Token: ", 0), 0u) << out.detail;
  }
}

TEST(SecretInjection, LiteralTextAndSharedReferencesAreFilledInPlace) {
  auto store = std::make_shared<RecordingStore>();
  store->values["demo/api"] = "s3cr3t";
  SecretResolver resolver(store, Clock::system(), 0);
  auto plan = parsed({{"Authorization", "Bearer {secret:demo/api}!"}, {"X-Plain", "a } { b"}});
  auto out = plan.fill(&resolver, nullptr);
  ASSERT_EQ(out.failure, InjectionFailure::None);
  ASSERT_EQ(out.headers.size(), 2u);
  EXPECT_EQ(out.headers[0], (std::pair<std::string, std::string>{"Authorization", "Bearer s3cr3t!"}));
  EXPECT_EQ(out.headers[1], (std::pair<std::string, std::string>{"X-Plain", "a } { b"}));
}

// The principal's identity is one value in one lookup: a `sub` that looks like template text stays a subject.
TEST(SecretInjection, PerUserSecretTakesTheSubjectAsDataNotTemplateText) {
  auto store = std::make_shared<RecordingStore>();
  store->values["coda/token|https://as|victim"] = "victims-token";
  store->values["demo/shared"] = "shared-token";
  SecretResolver resolver(store, Clock::system(), 0);
  auto plan = parsed({{"X-User-Token", "{secret:coda/token@subject}"}});
  for (const char* sub : {"victim}", "victim}{secret:demo/shared", "victim}{secret:demo/shared}"}) {
    store->asked.clear();
    const Principal who = jwt_user("https://as", sub);
    auto out = plan.fill(&resolver, &who);
    EXPECT_EQ(out.failure, InjectionFailure::PerUserTokenMissing) << sub;
    EXPECT_EQ(out.reference, "coda/token");
    EXPECT_TRUE(out.headers.empty());
    ASSERT_EQ(store->asked.size(), 1u) << sub;
    EXPECT_EQ(store->asked[0].owner, (SecretOwner{"https://as", sub}));
  }
  const Principal victim = jwt_user("https://as", "victim");
  auto own = plan.fill(&resolver, &victim);
  ASSERT_EQ(own.failure, InjectionFailure::None);
  EXPECT_EQ(own.headers.at(0).second, "victims-token");
}

TEST(SecretInjection, PerUserSecretBelongsToIssuerAndSubject) {
  auto store = std::make_shared<RecordingStore>();
  store->values["coda/token|static|alice"] = "static-alice";
  SecretResolver resolver(store, Clock::system(), 0);
  auto plan = parsed({{"X-User-Token", "{secret:coda/token@subject}"}});
  Principal static_alice;
  static_alice.source = PrincipalSource::Static;
  static_alice.token_name = "alice";
  static_alice.subject = "alice";
  EXPECT_EQ(plan.fill(&resolver, &static_alice).headers.at(0).second, "static-alice");
  const Principal jwt_alice = jwt_user("https://as", "alice");
  EXPECT_EQ(plan.fill(&resolver, &jwt_alice).failure, InjectionFailure::PerUserTokenMissing);
}

TEST(SecretInjection, FailuresSayWhichAnswerTheGatewayGives) {
  auto store = std::make_shared<RecordingStore>();
  SecretResolver resolver(store, Clock::system(), 0);
  auto per_user = parsed({{"X-User-Token", "{secret:coda/token@subject}"}});
  EXPECT_EQ(per_user.fill(&resolver, nullptr).failure, InjectionFailure::NoPrincipal);
  EXPECT_TRUE(store->asked.empty());  // refused before any lookup
  const Principal who = jwt_user("https://as", "alice");
  auto shared = parsed({{"Authorization", "{secret:demo/missing}"}});
  auto missing = shared.fill(&resolver, &who);
  EXPECT_EQ(missing.failure, InjectionFailure::Unavailable);
  EXPECT_EQ(missing.reference, "demo/missing");
  EXPECT_EQ(shared.fill(nullptr, &who).failure, InjectionFailure::Unavailable);
  EXPECT_EQ(parsed({{"X-Plain", "v"}}).fill(nullptr, nullptr).headers.size(), 1u);
}

}  // namespace
}  // namespace mcpgate::gateway
