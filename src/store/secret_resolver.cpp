// SecretResolver: what the gateway calls to turn a SecretRef into a value, with a short in-memory cache so a
// busy route does not hit the database (and AES-GCM) on every request. parse_secret_reference: the
// `{secret:SERVICE/KEY[@subject]}` grammar of inject_headers.
#include <openssl/crypto.h>

#include <mcpgate/token_store.hpp>

namespace mcpgate {
namespace {

constexpr std::string_view kOpen = "{secret:";
constexpr std::string_view kPrincipalMarker = "subject";  // "@subject": the requesting principal

bool valid_part(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (char c : s)
    if (c == '{' || c == '}' || c == '/' || c == '@' || static_cast<unsigned char>(c) < 0x20) return false;
  return true;
}

// Service and key name are valid parts (no '\n'); the owner's issuer and subject are arbitrary data from a
// token, so the issuer is length-prefixed: ("a\nb", "c") and ("a", "b\nc") are different keys.
std::string cache_key(const SecretRef& ref) {
  std::string key = ref.service + "\n" + ref.key_name + "\n";
  if (ref.owner)
    key += "u" + std::to_string(ref.owner->issuer.size()) + ":" + ref.owner->issuer + ref.owner->subject;
  else
    key += "s";
  return key;
}

}  // namespace

Result<SecretReference> parse_secret_reference(std::string_view text) {
  const Status bad{Reason::SecretReferenceInvalid,
                   "expected {secret:SERVICE/KEY} or {secret:SERVICE/KEY@subject}"};
  if (text.substr(0, kOpen.size()) != kOpen || text.size() < kOpen.size() + 1 || text.back() != '}')
    return {std::nullopt, bad};
  auto body = text.substr(kOpen.size(), text.size() - kOpen.size() - 1);
  const auto slash = body.find('/');
  if (slash == std::string_view::npos) return {std::nullopt, bad};
  SecretReference ref;
  ref.service = std::string(body.substr(0, slash));
  auto rest = body.substr(slash + 1);
  const auto at = rest.find('@');
  ref.key_name = std::string(rest.substr(0, at));
  if (at != std::string_view::npos) {
    // Only the marker: a per-user token belongs to (issuer, subject), which configuration cannot name.
    if (rest.substr(at + 1) != kPrincipalMarker)
      return {std::nullopt,
              {Reason::SecretReferenceInvalid,
               "after '@' only the word 'subject' (the requesting principal) may follow"}};
    ref.per_user = true;
  }
  if (!valid_part(ref.service) || !valid_part(ref.key_name)) return {std::nullopt, bad};
  return {std::move(ref), {}};
}

SecretResolver::SecretResolver(std::shared_ptr<TokenStore> store, std::shared_ptr<const Clock> clock,
                               double ttl_seconds)
    : store_(std::move(store)), clock_(std::move(clock)), ttl_seconds_(ttl_seconds) {}

Result<std::string> SecretResolver::resolve(const SecretRef& ref) {
  const auto key = cache_key(ref);
  const double now = clock_->now_seconds();
  {
    std::lock_guard lock(mutex_);
    auto it = cache_.find(key);
    if (it != cache_.end() && it->second.expires_at > now) return {it->second.value, {}};
  }
  auto value = store_->read(ref);
  if (!value.ok() || ttl_seconds_ <= 0) return value;
  std::lock_guard lock(mutex_);
  auto& slot = cache_[key];
  OPENSSL_cleanse(slot.value.data(), slot.value.size());
  slot.value = *value.value;
  slot.expires_at = now + ttl_seconds_;
  return value;
}

void SecretResolver::invalidate() {
  std::lock_guard lock(mutex_);
  for (auto& [k, v] : cache_) OPENSSL_cleanse(v.value.data(), v.value.size());
  cache_.clear();
}

}  // namespace mcpgate
