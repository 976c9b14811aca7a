// The `env` backend: shared service tokens from MCPGATE_SECRET_<SERVICE>_<KEY>. Read-only, no per-user
// tokens, no audit log (there is nowhere to write one); kept because a single gateway with two upstream
// tokens should not need a database.
#include <cstdlib>

#include "store/backends.hpp"

extern char** environ;

namespace mcpgate::store {
namespace {

std::string upper_name(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c >= 'a' && c <= 'z')
      out += static_cast<char>(c - 'a' + 'A');
    else if ((c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9'))
      out += c;
    else
      out += '_';
  }
  return out;
}

template <class T>
Result<T> read_only() {
  return {std::nullopt, {Reason::StoreReadOnly, "the env backend only reads MCPGATE_SECRET_* variables"}};
}

class EnvTokenStore final : public TokenStore {
 public:
  explicit EnvTokenStore(std::string prefix) : prefix_(std::move(prefix)) {}

  std::string_view backend_name() const noexcept override { return "env"; }

  Result<std::string> read(const SecretRef& ref) override {
    if (ref.owner)
      return {std::nullopt, {Reason::SecretNotFound, "the env backend holds no per-user tokens"}};
    const auto name = env_variable_for(prefix_, ref.service, ref.key_name);
    const char* value = std::getenv(name.c_str());
    if (!value)
      return {std::nullopt, {Reason::SecretNotFound, "environment variable " + name + " is not set"}};
    return {std::string(value), {}};
  }

  Result<TokenMetadata> describe(const SecretRef& ref) override {
    auto value = read(ref);
    if (!value.ok()) return {std::nullopt, value.status()};
    return {TokenMetadata{ref, "env", 0, 0, false}, {}};
  }

  // Names are upper-cased, so the listing shows SERVICE_KEY split at the first '_' after the prefix.
  Result<std::vector<TokenMetadata>> list(std::string_view service) override {
    std::vector<TokenMetadata> out;
    const std::string wanted = service.empty() ? "" : upper_name(service) + "_";
    for (char** e = environ; e && *e; ++e) {
      std::string_view entry(*e);
      if (entry.substr(0, prefix_.size()) != prefix_) continue;
      auto rest = entry.substr(prefix_.size());
      rest = rest.substr(0, rest.find('='));
      if (!wanted.empty() && rest.substr(0, wanted.size()) != wanted) continue;
      const auto split = rest.find('_');
      if (split == std::string_view::npos) continue;
      out.push_back(TokenMetadata{
          {std::string(rest.substr(0, split)), std::string(rest.substr(split + 1)), std::nullopt},
          "env",
          0,
          0,
          false});
    }
    return {std::move(out), {}};
  }

  Status put(const SecretRef&, std::string_view, const Actor&) override { return read_only<int>().status(); }
  Status remove(const SecretRef&, const Actor&) override { return read_only<int>().status(); }
  Result<RotationReport> rotate(const Actor&, int,
                                const std::function<void(const RotationReport&)>&) override {
    return read_only<RotationReport>();
  }
  Result<BindReport> bind_issuer(std::string_view, const Actor&, std::string_view,
                                 std::string_view) override {
    return read_only<BindReport>();
  }
  Status record_audit(const Actor&, std::string_view, const SecretRef&, std::string_view) override {
    return {};
  }
  Result<std::vector<AuditEntry>> audit_since(std::int64_t, int) override {
    return read_only<std::vector<AuditEntry>>();
  }
  Status record_principal(const PrincipalSighting&) override { return {}; }
  Result<PrincipalRecord> principal(std::string_view, std::string_view) override {
    return read_only<PrincipalRecord>();
  }
  Result<int> migrate() override { return {0, {}}; }

 private:
  std::string prefix_;
};

}  // namespace

std::string env_variable_for(std::string_view prefix, std::string_view service, std::string_view key_name) {
  return std::string(prefix) + upper_name(service) + "_" + upper_name(key_name);
}

std::shared_ptr<TokenStore> make_env_store(const StoreOptions& options) {
  return std::make_shared<EnvTokenStore>(options.env_prefix);
}

}  // namespace mcpgate::store
