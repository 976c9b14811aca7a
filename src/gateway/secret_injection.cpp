#include "gateway/secret_injection.hpp"

#include <openssl/crypto.h>

#include "gateway/principal_recorder.hpp"

namespace mcpgate::gateway {
namespace {

constexpr std::string_view kOpen = "{secret:";

void cleanse(std::string& s) {
  OPENSSL_cleanse(s.data(), s.size());
}

}  // namespace

Result<SecretInjection> SecretInjection::parse(
    const std::vector<std::pair<std::string, std::string>>& inject_headers) {
  SecretInjection plan;
  for (const auto& [name, value] : inject_headers) {
    Header header{name, {}};
    const std::string_view text = value;
    std::size_t pos = 0;
    for (;;) {
      const auto open = text.find(kOpen, pos);
      const auto literal = text.substr(pos, open == std::string_view::npos ? text.npos : open - pos);
      if (!literal.empty()) header.segments.push_back({Segment::Kind::Literal, std::string(literal), {}, {}});
      if (open == std::string_view::npos) break;
      const auto close = text.find('}', open);
      if (close == std::string_view::npos)
        return Status{Reason::SecretReferenceInvalid, name + ": unterminated {secret:"};
      const auto written = text.substr(open, close - open + 1);
      auto ref = parse_secret_reference(written);
      if (!ref.ok())
        return Status{Reason::SecretReferenceInvalid, name + ": " + std::string(written) + ": " + ref.detail};
      header.segments.push_back({ref.value->per_user ? Segment::Kind::PerUser : Segment::Kind::Shared,
                                 ref.value->service + "/" + ref.value->key_name, ref.value->service,
                                 ref.value->key_name});
      plan.per_user_ = plan.per_user_ || ref.value->per_user;
      pos = close + 1;
    }
    plan.headers_.push_back(std::move(header));
  }
  return plan;
}

Injection SecretInjection::fill(SecretResolver* resolver, const Principal* who) const {
  Injection out;
  auto fail = [&out](InjectionFailure why, const Segment* at) {
    for (auto& [name, value] : out.headers) cleanse(value);
    out.headers.clear();
    out.failure = why;
    if (at) out.reference = at->text;
    return std::move(out);
  };
  if (per_user_ && !who) return fail(InjectionFailure::NoPrincipal, nullptr);
  for (const auto& header : headers_) {
    out.headers.emplace_back(header.name, std::string());
    std::string& value = out.headers.back().second;
    for (const auto& segment : header.segments) {
      if (segment.kind == Segment::Kind::Literal) {
        value += segment.text;
        continue;
      }
      SecretRef ref{segment.service, segment.key_name, std::nullopt};
      if (segment.kind == Segment::Kind::PerUser) ref.owner = store_identity(*who);  // a value, never text
      auto secret = resolver ? resolver->resolve(ref)
                             : Result<std::string>{std::nullopt, {Reason::StoreUnavailable, "no store"}};
      if (!secret.ok() || !secret.value) {
        // A principal without a stored token (or with a subject no token can have, e.g. empty) is told so;
        // anything else is the gateway's problem.
        const bool missing =
            segment.kind == Segment::Kind::PerUser &&
            (secret.reason == Reason::SecretNotFound || secret.reason == Reason::SecretReferenceInvalid);
        return fail(missing ? InjectionFailure::PerUserTokenMissing : InjectionFailure::Unavailable,
                    &segment);
      }
      value += *secret.value;
      cleanse(*secret.value);
    }
  }
  return out;
}

}  // namespace mcpgate::gateway
