// mcpgate/status.hpp — the one closed list of reasons a request or token is refused.
//
//   mcpgate::Reason r = decision.reason;             // a Guard's Decision, any Status or Result<T>
//   if (r != mcpgate::Reason::Ok) {
//     int status = mcpgate::http_status(r);        // 400, 401, 403 or 503
//     auto code = mcpgate::oauth_error(r);         // "invalid_token", "" for a bare challenge
//     log("reason", mcpgate::reason_name(r));      // stable, machine-readable, also the metric label
//     std::cerr << mcpgate::reason_sentence(r);    // one human sentence, never containing a secret
//   }
//
// Every failure anywhere in mcpgate is one of these values (like jwt_verify_lib's Status): the HTTP status, the
// RFC 6750 error code, the log field and the metric label all come from the single table below, never from a
// free-form string decided deep inside. Names are part of the public contract: never rename one, only add.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace mcpgate {

// The table is laid out by hand, one row per reason:
// clang-format off
// X(Enumerator, "stable_name", http_status, "rfc6750_error_code", "Human sentence.")
// http_status 0 means "not a request outcome" (a JWK problem reported while loading a key set).
#define MCPGATE_REASONS(X)                                                                                   \
  X(Ok, "ok", 200, "", "The credentials are valid.")                                                       \
  /* --- extracting the credentials from the request (RFC 6750 §2, §3.1) --- */                            \
  X(MissingCredentials, "missing_credentials", 401, "", "The request carries no bearer token.")             \
  X(TokenInQuery, "token_in_query", 400, "invalid_request",                                                 \
    "Bearer tokens are accepted only in the Authorization header, never in the query string.")              \
  X(DuplicateAuthorization, "duplicate_authorization", 400, "invalid_request",                              \
    "The request carries more than one Authorization header or credential.")                                \
  X(MalformedAuthorization, "malformed_authorization", 400, "invalid_request",                              \
    "The Authorization header is not of the form 'Bearer <token>'.")                                        \
  X(UnsupportedScheme, "unsupported_scheme", 400, "invalid_request",                                        \
    "The Authorization header uses a scheme other than Bearer.")                                            \
  X(InvalidHeaderValue, "invalid_header_value", 400, "invalid_request",                                     \
    "A request header contains a CR, LF or NUL character.")                                                 \
  /* --- the request itself: what the upstream would read differently is refused (RFC 9112 §5) --- */     \
  X(HeaderNameInvalid, "header_name_invalid", 400, "invalid_request",                                       \
    "A header name is not an RFC 9110 token (whitespace before the colon, a folded line, a bad byte).")    \
  X(HeaderAmbiguous, "header_ambiguous", 400, "invalid_request",                                            \
    "A header that must appear once appears twice, or in another spelling ('_' for '-').")                 \
  X(RequestTargetRefused, "request_target_refused", 400, "invalid_request",                                 \
    "The request path is ambiguous (dot segments, '//', '\\', ';', an encoded '/', '.' or '%'); refused.") \
  X(BodyNotAllowed, "body_not_allowed", 400, "invalid_request", "This request method takes no body.")      \
  X(ForwardedRequestMissing, "forwarded_request_missing", 400, "invalid_request",                           \
    "The trusted proxy did not say, in its configured headers, which request to judge.")                    \
  X(SessionUnknown, "session_unknown", 404, "",                                                             \
    "The Mcp-Session-Id was not issued to this principal here (unknown, expired or forgotten).")           \
  /* --- the JWS compact serialization (RFC 7515 §7.1, RFC 8725 §3) --- */                                  \
  X(TokenTooLarge, "token_too_large", 401, "invalid_token", "The token is larger than 16 KiB.")             \
  X(JweNotSupported, "jwe_not_supported", 401, "invalid_token",                                             \
    "The token is an encrypted JWT (five segments); only signed JWTs are accepted.")                        \
  X(MalformedToken, "malformed_token", 401, "invalid_token",                                                \
    "The token is not a compact JWS of exactly three dot-separated segments.")                              \
  X(InvalidBase64Url, "invalid_base64url", 401, "invalid_token",                                            \
    "A token segment is not strict unpadded base64url.")                                                    \
  X(HeaderNotJson, "header_not_json", 401, "invalid_token", "The token header is not a JSON object.")       \
  X(PayloadNotJson, "payload_not_json", 401, "invalid_token", "The token payload is not a JSON object.")    \
  X(DuplicateMember, "duplicate_member", 401, "invalid_token",                                              \
    "The token header or payload repeats a member name.")                                                   \
  X(AlgorithmMissing, "alg_missing", 401, "invalid_token", "The token header has no 'alg'.")                \
  X(AlgorithmNone, "alg_none", 401, "invalid_token", "Unsigned tokens (alg 'none') are refused.")          \
  X(AlgorithmHmac, "alg_hmac", 401, "invalid_token",                                                        \
    "HMAC algorithms are refused: keys come from a public key set.")                                        \
  X(AlgorithmUnknown, "alg_unknown", 401, "invalid_token", "The token's 'alg' is not a known algorithm.")   \
  X(AlgorithmNotAllowed, "alg_not_allowed", 401, "invalid_token",                                           \
    "The token's 'alg' is not in this verifier's allow-list.")                                              \
  X(TypeRefused, "typ_refused", 401, "invalid_token",                                                       \
    "The token's 'typ' is not an access-token type (absent, JWT, at+jwt or application/at+jwt).")           \
  X(CritUnsupported, "crit_unsupported", 401, "invalid_token",                                              \
    "The token header lists a critical extension ('crit') this verifier does not understand.")              \
  X(HeaderMemberInvalid, "header_member_invalid", 401, "invalid_token",                                     \
    "A token header member has the wrong JSON type.")                                                       \
  /* --- finding the key and checking the signature --- */                                                  \
  X(KeyNotFound, "kid_unknown", 401, "invalid_token", "No key in the issuer's key set matches the token's 'kid'.") \
  X(KeyAlgorithmMismatch, "key_alg_mismatch", 401, "invalid_token",                                         \
    "The matching key does not allow the token's 'alg' (key type, curve or the key's own 'alg').")          \
  X(SignatureInvalid, "signature_invalid", 401, "invalid_token", "The token's signature does not verify.")  \
  X(SignatureLength, "signature_length", 401, "invalid_token",                                              \
    "The signature has the wrong length for its algorithm.")                                                \
  /* --- JWT claims (RFC 7519 §4.1, RFC 9068 §4) --- */                                                     \
  X(ClaimTypeInvalid, "claim_type_invalid", 401, "invalid_token", "A registered claim has the wrong JSON type.") \
  X(IssuerMissing, "iss_missing", 401, "invalid_token", "The token has no 'iss' claim.")                    \
  X(IssuerUnknown, "iss_unknown", 401, "invalid_token", "The token's issuer is not a configured issuer.")   \
  X(AudienceMissing, "aud_missing", 401, "invalid_token", "The token has no 'aud' claim.")                  \
  X(AudienceMismatch, "aud_mismatch", 401, "invalid_token",                                                 \
    "The token was not issued for this resource: no 'aud' matches a configured audience.")                  \
  X(SubjectMissing, "sub_missing", 401, "invalid_token",                                                    \
    "The token has no 'sub' claim (RFC 9068 section 2.2 requires one).")                                   \
  X(ExpirationMissing, "exp_missing", 401, "invalid_token", "The token has no 'exp' claim.")                \
  X(Expired, "expired", 401, "invalid_token", "The token has expired.")                                     \
  X(NotYetValid, "not_yet_valid", 401, "invalid_token", "The token is not valid yet ('nbf').")             \
  X(OrganizationNotAllowed, "organization_not_allowed", 401, "invalid_token",                               \
    "The token's organization is not in the allowed list.")                                                 \
  /* --- token sources (issuers' key sets, static tokens) --- */                                            \
  X(KeysUnavailable, "keys_unavailable", 503, "",                                                           \
    "The issuer's signing keys have not been fetched yet; retry shortly.")                                  \
  X(KeysStale, "keys_stale", 503, "",                                                                        \
    "The issuer's signing keys could not be refreshed for too long; retry shortly.")                        \
  X(StaticTokenUnknown, "static_token_unknown", 401, "invalid_token", "The bearer token is not recognised.") \
  X(StaticTokenExpired, "static_token_expired", 401, "invalid_token", "The static token has expired.")     \
  /* --- authorization --- */                                                                               \
  X(InsufficientScope, "insufficient_scope", 403, "insufficient_scope",                                     \
    "The token lacks a scope this route requires.")                                                         \
  X(OriginNotAllowed, "origin_not_allowed", 403, "", "The request's Origin is not allowed.")                \
  /* --- the gateway's own refusals (src/net, src/gateway); answered with a JSON body {"error": name} --- */    \
  X(ServerBusy, "server_busy", 503, "", "Too many open connections; retry shortly.")                       \
  X(RequestMalformed, "request_malformed", 400, "invalid_request", "The request is not valid HTTP/1.1.")    \
  X(HeadersTooLarge, "request_header_fields_too_large", 431, "", "Too many or too large request headers.") \
  X(UriTooLong, "uri_too_long", 414, "", "The request target is too long.")                                 \
  X(HttpVersionUnsupported, "http_version_not_supported", 505, "", "Only HTTP/1.x is served.")              \
  X(MethodNotImplemented, "not_implemented", 501, "", "This request method is not served.")                 \
  X(ChunkedBodyMalformed, "chunked_body_malformed", 400, "invalid_request", "The chunked body is malformed.") \
  X(RequestTooLarge, "request_too_large", 413, "", "The request body is too large.")                        \
  X(RouteNotFound, "route_not_found", 404, "", "No upstream is configured for this path.")                 \
  X(PrincipalRequired, "principal_required", 403, "", "No verified principal for a protected route.")       \
  X(UserRequired, "user_required", 403, "", "A per-user service token needs a signed-in user.")            \
  X(ServiceTokenMissing, "service_token_missing", 403, "",                                                  \
    "The store holds no service token for this user and this upstream.")                                    \
  X(UpstreamCredentialsUnavailable, "upstream_credentials_unavailable", 502, "",                            \
    "The service token for the upstream could not be read from the store.")                                 \
  X(TooManyStreams, "too_many_streams", 429, "",                                                            \
    "This principal already holds as many open event streams as allowed.")                                  \
  X(UpstreamUnavailable, "upstream_unavailable", 502, "", "The upstream MCP server could not be reached.")  \
  X(UpstreamTimeout, "upstream_timeout", 504, "", "The upstream MCP server did not answer in time.")       \
  X(UpstreamBroken, "upstream_broken", 502, "", "The upstream MCP server sent a broken response.")          \
  /* --- an MCP request (an inspected POST body, [[routes.rules]]); answered with JSON-RPC errors --- */        \
  X(McpNotJson, "mcp_not_json", 400, "", "The body is not strict JSON (RFC 8259, no duplicate names).")     \
  X(McpInvalidRequest, "mcp_invalid_request", 400, "",                                                      \
    "The body is not a JSON-RPC 2.0 message that the protocol version allows.")                            \
  X(McpHeaderMismatch, "mcp_header_mismatch", 400, "",                                                      \
    "Mcp-Method, Mcp-Name or MCP-Protocol-Version is missing or says something else than the body.")       \
  X(McpUnreadableBody, "mcp_unreadable_body", 415, "",                                                      \
    "The body is not application/json in UTF-8 without a content-coding.")                                 \
  X(McpBodyTooLarge, "mcp_body_too_large", 413, "", "The body is larger than the gateway inspects.")        \
  X(CallDenied, "call_denied", 403, "", "A rule of the route refuses this MCP request.")                    \
  /* --- loading a JWK (a skipped key; other keys of the set are kept) --- */                               \
  X(KeyNotObject, "key_not_object", 0, "", "The JWK is not a JSON object.")                                 \
  X(KeyTypeUnsupported, "key_kty_unsupported", 0, "", "The JWK's 'kty' is not RSA, EC or OKP.")            \
  X(KeyCurveUnsupported, "key_crv_unsupported", 0, "", "The JWK's 'crv' is not P-256, P-384 or Ed25519.")  \
  X(KeyMemberInvalid, "key_member_invalid", 0, "",                                                           \
    "A JWK member is missing, of the wrong type, or not strict base64url.")                                 \
  X(KeyRsaTooSmall, "key_rsa_too_small", 0, "", "The RSA key is smaller than 2048 bits.")                   \
  X(KeyPointInvalid, "key_point_invalid", 0, "", "The EC point is not on the curve or has the wrong size.") \
  X(KeyUseNotSig, "key_use_not_sig", 0, "", "The JWK's 'use' is not 'sig'.")                                \
  X(KeyOpsNoVerify, "key_ops_no_verify", 0, "", "The JWK's 'key_ops' does not contain 'verify'.")          \
  X(KeyAlgorithmUnusable, "key_alg_unusable", 0, "",                                                         \
    "The JWK's 'alg' is unknown, symmetric, or does not fit its key type.")                                 \
  X(KeyDuplicateKid, "key_duplicate_kid", 0, "", "Another key in the set already has this 'kid'.")          \
  X(KeySetInvalid, "keyset_invalid", 0, "", "The key set is not a JSON object with a 'keys' array.")         \
  /* --- the encrypted token store (src/store) --- */                                                       \
  X(StoreOptionsInvalid, "store_options_invalid", 0, "",                                                    \
    "The store options are invalid (backend, path, connection string or key source).")                      \
  X(StoreUnavailable, "store_unavailable", 503, "", "The token store cannot be opened or reached.")         \
  X(StoreSchemaTooNew, "store_schema_too_new", 0, "",                                                        \
    "The database schema is newer than this binary understands; upgrade mcpgate.")                          \
  X(StoreKeyInvalid, "store_key_invalid", 0, "", "A master key is malformed (expected id:base64 of 32 bytes).") \
  X(StoreKeyMissing, "store_key_missing", 0, "",                                                             \
    "A stored token is encrypted under a master key id that is not in the keyring.")                        \
  X(StoreDecryptFailed, "store_decrypt_failed", 0, "",                                                       \
    "A stored token failed authentication: tampered, moved to another row, or the wrong key.")              \
  X(StoreReadOnly, "store_read_only", 0, "", "This store backend is read-only.")                             \
  X(StoreQueryFailed, "store_query_failed", 503, "", "A token store query failed.")                          \
  X(SecretNotFound, "secret_not_found", 0, "", "No stored token matches this service, key and subject.")    \
  X(PrincipalNotFound, "principal_not_found", 0, "", "The store has no principal with this issuer and subject.") \
  X(SecretReferenceInvalid, "secret_reference_invalid", 0, "",                                               \
    "A secret reference is not of the form {secret:SERVICE/KEY} or {secret:SERVICE/KEY@subject}.")        \
  /* --- starting up (the detail names the key to fix) --- */                                               \
  X(ConfigInvalid, "config_invalid", 0, "", "The configuration cannot work as given.")                       \
  X(TlsUnusable, "tls_unusable", 0, "", "The TLS certificate or key cannot be loaded.")                      \
  X(ListenFailed, "listen_failed", 0, "", "A listener cannot be bound to its address and port.")

// clang-format on

enum class Reason {
#define MCPGATE_REASON_ENUM(e, name, status, code, sentence) e,
  MCPGATE_REASONS(MCPGATE_REASON_ENUM)
#undef MCPGATE_REASON_ENUM
};

// Stable machine-readable name ("expired", "kid_unknown"): log field, metric label, CLI "reason".
std::string_view reason_name(Reason r) noexcept;
// One sentence for humans. Never contains token material.
std::string_view reason_sentence(Reason r) noexcept;
// HTTP status this reason answers with (0 for key-loading reasons that are never a request outcome).
int http_status(Reason r) noexcept;
// RFC 6750 §3.1 error code ("invalid_request", "invalid_token", "insufficient_scope"), or "" when the challenge
// must carry no error attribute (no credentials at all; RFC 6750 §3.1 last paragraph).
std::string_view oauth_error(Reason r) noexcept;

// The one error carrier: a Reason, operator specifics naming the bad thing (an issuer, a key id, a path; never a
// secret or token material) and, for the 503 reasons, how long to wait.
struct Status {
  Reason reason = Reason::Ok;
  std::string detail{};
  double retry_after = 0;  // seconds; KeysUnavailable, KeysStale, ServerBusy
  bool ok() const noexcept { return reason == Reason::Ok; }
  std::string message() const;  // "store_key_missing: <sentence> (key id 'k1')"
};

// A value or the Status saying why there is none (absl::StatusOr's shape, the reason table's vocabulary):
//
//   mcpgate::Result<mcpgate::StoreOptions> options = mcpgate::StoreOptions::from_environment();
//   if (!options.ok()) return options.status();     // or options.reason, options.detail
//   options->sqlite_path = "tokens.db";
template <class T>
struct Result : Status {
  std::optional<T> value;  // set exactly when ok()

  Result(T v) : value(std::move(v)) {}        // NOLINT(google-explicit-constructor): success
  Result(Status s) : Status(std::move(s)) {}  // NOLINT(google-explicit-constructor): failure
  Result(std::optional<T> v, Status s) : Status(std::move(s)), value(std::move(v)) {}

  const Status& status() const noexcept { return *this; }
  T& operator*() { return *value; }
  const T& operator*() const { return *value; }
  T* operator->() { return &*value; }
  const T* operator->() const { return &*value; }
};

}  // namespace mcpgate
