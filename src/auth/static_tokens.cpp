#include "auth/static_tokens.hpp"

#include <openssl/crypto.h>

namespace mcpgate::auth {

StaticTokens::StaticTokens(const std::vector<StaticTokenConfig>& tokens, std::shared_ptr<const Clock> clock)
    : clock_(std::move(clock)) {
  for (const auto& t : tokens) {
    auto digest = digest_from_hex(t.sha256);
    if (!digest) continue;  // the loader refuses these; never match on a malformed entry
    Principal p;
    p.source = PrincipalSource::Static;
    p.token_name = t.name;
    p.subject = t.subject.empty() ? t.name : t.subject;
    p.scopes = t.scopes;
    p.expires_at = t.expires_at;
    entries_.push_back({*digest, std::make_shared<const Principal>(std::move(p))});
  }
}

Result<Authenticated> StaticTokens::authenticate(const TokenDigest& digest) const {
  // Visit every entry, whatever matches: the work done does not depend on where (or whether) the digest is.
  std::size_t found = entries_.size();
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    int differs = CRYPTO_memcmp(entries_[i].digest.data(), digest.data(), digest.size());
    std::size_t mask = static_cast<std::size_t>(0) - static_cast<std::size_t>(differs == 0);
    found = (found & ~mask) | (i & mask);
  }
  if (found == entries_.size()) return Status{Reason::StaticTokenUnknown};
  const Entry& e = entries_[found];
  if (e.principal->expires_at && static_cast<double>(*e.principal->expires_at) <= clock_->now_seconds())
    return Status{Reason::StaticTokenExpired, "static token " + e.principal->token_name};
  return Authenticated{e.principal};
}

}  // namespace mcpgate::auth
