// secret_injection.hpp — a route's inject_headers, parsed once into templates and filled for each request.
//
//   auto parsed = SecretInjection::parse(route.inject_headers);  // when the route table is built
//   if (!parsed.ok()) return parsed.status();                    // SecretReferenceInvalid, detail names it
//   Injection out = parsed->fill(resolver.get(), who);           // who: the verified principal, or null
//   if (out.failure == InjectionFailure::PerUserTokenMissing) ... // 403 naming out.reference, "coda/token"
//   context.injected = std::move(out.headers);
//
// A value is literal text and references: `{secret:SERVICE/KEY}`, the service's shared token, and
// `{secret:SERVICE/KEY@subject}` (`subject` is the literal word), the requesting principal's own token,
// looked up by its identity (issuer, subject) handed to the store as values. Nothing taken from a token is
// ever read as template text: pasting `sub` into the reference and parsing the result let `sub = "victim}"`
// take the victim's token and `sub = "x}{secret:svc/shared"` any shared one.
#pragma once

#include <mcpgate/principal.hpp>
#include <mcpgate/token_store.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mcpgate::gateway {

enum class InjectionFailure {
  None,
  NoPrincipal,          // a per-user reference on a request that carries no verified principal
  PerUserTokenMissing,  // the principal has no token stored for `reference`
  Unavailable,          // a shared token is missing, the store fails, or there is no store
};

struct Injection {
  std::vector<std::pair<std::string, std::string>> headers;  // name, value with its secrets filled in
  InjectionFailure failure = InjectionFailure::None;
  std::string reference;  // "SERVICE/KEY" of the reference that failed; never a value
};

class SecretInjection {
 public:
  // Every header's template, or SecretReferenceInvalid with a detail naming the header and its bad reference
  // ("X-User-Token: {secret:coda/token@alice}: <why>"): a config error.
  static Result<SecretInjection> parse(
      const std::vector<std::pair<std::string, std::string>>& inject_headers);

  // `resolver` may be null (no store configured): then any reference fails as Unavailable. On a failure no
  // header is returned.
  Injection fill(SecretResolver* resolver, const Principal* who) const;

  bool empty() const noexcept { return headers_.empty(); }

 private:
  struct Segment {
    enum class Kind { Literal, Shared, PerUser };
    Kind kind = Kind::Literal;
    std::string text;               // Literal: the text; a reference: "SERVICE/KEY", for messages
    std::string service, key_name;  // a reference
  };
  struct Header {
    std::string name;
    std::vector<Segment> segments;
  };

  std::vector<Header> headers_;
  bool per_user_ = false;  // some header needs the principal
};

}  // namespace mcpgate::gateway
