// token_verify_command.hpp — `mcpgate token verify`: judge one JWT against a JWKS file, exactly as serving
// would.
//
//   auto* token = app.add_subcommand("token", "Inspect and verify access tokens");
//   mcpgate::cli::register_token_verify(*token, result);
//   // $ mcpgate token verify --jwks jwks.json --issuer https://login.example.com --audience project-1 eyJ...
//   // $ mcpgate token verify --config mcpgate.toml eyJ...      (the serving chain: issuers + static tokens)
//   // {"valid":true,"issuer":"https://login.example.com","subject":"user-1","client_id":"app-1",
//   //  "scopes":["openid","mcp:read"],"expires_at":1893459600}
//
// Exit codes (command.hpp): 0 valid, 1 invalid (stdout still holds one JSON object with the reason), 2 a
// usage or input-file error (a message on stderr names the bad value; stdout stays empty).
//
// The pieces are split so that other entry points (`--config FILE`, the gateway's self-test) reuse them: load
// a key set from a file, build the verifier options, and turn one verification into the JSON verdict.
#pragma once

#include <chrono>
#include <iosfwd>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "auth/authenticator.hpp"
#include "cli/command.hpp"
#include "jose/jwk.hpp"
#include "jose/verifier.hpp"

namespace mcpgate::cli {

// What the command line says, before any of it is checked.
struct TokenVerifyArgs {
  std::string config_path;  // --config: the serving chain from a configuration file (excludes --jwks)
  std::string jwks_path;
  std::vector<std::string> issuers;
  std::vector<std::string> audiences;
  std::string now;         // Unix seconds, may be fractional; empty = the system clock
  std::string leeway;      // seconds, may be fractional; empty = 0
  std::string algorithms;  // "RS256,ES256"; empty = every asymmetric algorithm (the key's type narrows it)
  std::string token;       // empty or "-" = one line from stdin
};

void register_token_verify(CLI::App& token, CommandResult& result);

// Runs the command with explicit streams (the tests and other entry points call this); returns the exit code.
int run_token_verify(const TokenVerifyArgs& args, std::istream& in, std::ostream& out, std::ostream& err);

// `--config FILE`: builds the Authenticator serving would (fetching JWKS as it would, waiting up to
// `key_wait` for every issuer's first keys) and judges one token with it. Same exit codes; the verdict gains
// "source" ("jwt" / "static") and "name" (static token name). A bad file exits 2 with one line per error key.
int run_token_verify_config(const TokenVerifyArgs& args, std::istream& in, std::ostream& out,
                            std::ostream& err, std::chrono::milliseconds key_wait = std::chrono::seconds(10));

// The verdict of the serving chain, as the CLI prints it (verification_json's members plus "source" and,
// for static tokens, "name"; "issuer" is the token's "iss" for JWTs).
nlohmann::ordered_json authentication_json(const Result<auth::Authenticated>& result);

// Reads and parses a JWKS file. On failure writes one line naming the path or the problem to `err` and
// returns std::nullopt; each skipped key is reported on `err` (kid + reason name) without failing while
// usable keys remain.
std::optional<jose::JwkSet> load_key_set_file(const std::string& path, std::ostream& err);

// The verdict as the CLI prints it (members in this order): {"valid":true,"issuer",...} or
// {"valid":false,"error":"invalid_token","reason":"expired","detail":"The token has expired. ..."}.
// A refusal with retry_after (the 503 reasons) also says "retry_after".
nlohmann::ordered_json verification_json(const Result<jose::VerifiedJwt>& result);

}  // namespace mcpgate::cli
