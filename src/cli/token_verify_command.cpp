#include "cli/token_verify_command.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <iterator>
#include <mcpgate/clock.hpp>
#include <mcpgate/config.hpp>
#include <mcpgate/status.hpp>
#include <memory>
#include <sstream>
#include <utility>

#include "jose/algorithm.hpp"

namespace mcpgate::cli {
namespace {

// Whole-string decimal number (fractional allowed, as JWT NumericDates are, RFC 7519 §2); no NaN or infinity.
std::optional<double> parse_seconds(std::string_view text) {
  double value = 0;
  const char* first = text.data();
  const char* last = text.data() + text.size();
  if (!text.empty() && *first == '+') ++first;  // from_chars refuses a leading '+'; people type it
  auto [end, ec] = std::from_chars(first, last, value, std::chars_format::fixed);
  if (text.empty() || ec != std::errc() || end != last || !std::isfinite(value)) return std::nullopt;
  return value;
}

// One line from stdin; only the line ending (LF, CRLF) is removed, because anything else is part of what the
// caller sent and the verifier must judge it as received.
std::optional<std::string> read_token_line(std::istream& in) {
  std::string line;
  if (!std::getline(in, line) && line.empty()) return std::nullopt;
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
  return line;
}

// TOKEN, or one line on stdin when it is absent or "-".
std::optional<std::string> read_token_argument(const std::string& given, std::istream& in,
                                               std::ostream& err) {
  if (!given.empty() && given != "-") return given;
  auto line = read_token_line(in);
  if (!line) err << "mcpgate: no token given (pass TOKEN, or one line on stdin)\n";
  return line;
}

// dump() throws on invalid UTF-8; a claim value or a detail must never abort the verdict, so replace instead.
std::string one_line(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

std::optional<jose::JwkSet> load_key_set_file(const std::string& path, std::ostream& err) {
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    err << "mcpgate: cannot read JWKS file '" << path << "'\n";
    return std::nullopt;
  }
  std::string text((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  if (file.bad()) {
    err << "mcpgate: cannot read JWKS file '" << path << "'\n";
    return std::nullopt;
  }
  jose::JwkSet keys = jose::JwkSet::parse(text);
  if (!keys.ok()) {
    err << "mcpgate: JWKS file '" << path << "' is not a key set (" << reason_name(keys.error())
        << "): " << reason_sentence(keys.error()) << "\n";
    return std::nullopt;
  }
  // A key set legitimately carries keys we must not use (encryption keys, weak RSA); say which and why, keep
  // going.
  for (const auto& skipped : keys.skipped()) {
    err << "mcpgate: skipped key kid=" << (skipped.kid.empty() ? "(none)" : skipped.kid)
        << " index=" << skipped.index << ": " << reason_name(skipped.reason) << "\n";
  }
  if (keys.keys().empty()) {
    err << "mcpgate: JWKS file '" << path << "' has no usable signing key\n";
    return std::nullopt;
  }
  return keys;
}

namespace {

// The verdict of a verification (JWKS file) or an authentication (serving chain): one shape for both.
nlohmann::ordered_json verification_json(const Status& status, const Principal* who) {
  if (!status.ok() || !who) {
    const Reason reason =
        status.ok() ? Reason::SignatureInvalid : status.reason;  // ok without principal: never
    std::string detail(reason_sentence(reason));
    if (!status.detail.empty()) detail += " " + status.detail;
    std::string error(oauth_error(reason));
    nlohmann::ordered_json out = {{"valid", false},
                                  {"error", error.empty() ? "invalid_token" : error},
                                  {"reason", std::string(reason_name(reason))},
                                  {"detail", detail}};
    if (status.retry_after > 0) out["retry_after"] = status.retry_after;  // 503 reasons: when to retry
    return out;
  }
  nlohmann::ordered_json out = {{"valid", true},
                                {"issuer", who->issuer},
                                {"subject", who->subject},
                                {"client_id", who->client_id},
                                {"scopes", who->scopes}};
  out["expires_at"] =
      who->expires_at ? nlohmann::ordered_json(*who->expires_at) : nlohmann::ordered_json(nullptr);
  if (who->organization) {
    out["organization"] = {{"organization_id", who->organization->id}, {"slug", who->organization->slug}};
  }
  return out;
}

}  // namespace

nlohmann::ordered_json verification_json(const Result<jose::VerifiedJwt>& result) {
  return verification_json(result.status(), result.ok() ? &result->principal : nullptr);
}

nlohmann::ordered_json authentication_json(const Result<auth::Authenticated>& result) {
  const Principal* who = result.ok() ? result->principal.get() : nullptr;
  nlohmann::ordered_json verdict = verification_json(result.status(), who);
  if (!verdict["valid"].get<bool>()) return verdict;
  nlohmann::ordered_json out = {{"valid", true}, {"source", std::string(source_name(who->source))}};
  if (who->source == PrincipalSource::Static) out["name"] = who->token_name;
  for (auto& [key, value] : verdict.items()) {
    if (key == "valid" || (key == "issuer" && who->source == PrincipalSource::Static)) continue;
    out[key] = value;
  }
  return out;
}

int run_token_verify_config(const TokenVerifyArgs& args, std::istream& in, std::ostream& out,
                            std::ostream& err, std::chrono::milliseconds key_wait) {
  std::shared_ptr<const Clock> clock = Clock::system();
  if (!args.now.empty()) {
    auto now = parse_seconds(args.now);
    if (!now) {
      err << "mcpgate: --now: '" << args.now << "' is not a Unix time in seconds\n";
      return kExitUsage;
    }
    clock = std::make_shared<ManualClock>(*now);
  }
  ConfigLoad loaded = load_config_file(args.config_path);
  for (const auto& w : loaded.warnings) err << "warning: " << w << "\n";
  if (!loaded.ok()) {
    // The same lines as check-config: each names its key, never a secret value.
    for (const auto& e : loaded.errors)
      err << (e.key.empty() ? args.config_path : e.key) << ": " << e.message << "\n";
    return kExitUsage;
  }
  std::optional<std::string> token = read_token_argument(args.token, in, err);
  if (!token) return kExitUsage;

  auto created = auth::Authenticator::create(
      *loaded.config, clock, nullptr, [&err](std::string_view line) { err << "mcpgate: " << line << "\n"; });
  if (!created.ok()) {
    err << "mcpgate: " << created.detail << "\n";
    return kExitUsage;
  }
  auth::Authenticator* authenticator = created->get();
  // Serving answers 503 keys_unavailable until an issuer has had keys once; a one-shot check waits a bounded
  // time for them instead, then judges the token exactly as serving would at that moment.
  if (!authenticator->wait_for_keys(key_wait)) {
    err << "mcpgate: not every issuer had keys after " << key_wait.count() << " ms\n";
  }
  nlohmann::ordered_json verdict = authentication_json(authenticator->authenticate(*token));
  out << one_line(verdict) << "\n";
  out.flush();
  return verdict["valid"].get<bool>() ? kExitOk : kExitNegative;
}

int run_token_verify(const TokenVerifyArgs& args, std::istream& in, std::ostream& out, std::ostream& err) {
  if (!args.config_path.empty()) {
    if (!args.jwks_path.empty()) {
      err << "mcpgate: --config and --jwks are mutually exclusive\n";
      return kExitUsage;
    }
    return run_token_verify_config(args, in, out, err);
  }
  if (args.jwks_path.empty()) {
    err << "mcpgate: --jwks or --config is required\n";
    return kExitUsage;
  }
  for (const auto& [values, name] :
       {std::pair{&args.issuers, "--issuer"}, std::pair{&args.audiences, "--audience"}}) {
    if (values->empty()) {
      err << "mcpgate: " << name << " is required with --jwks\n";
      return kExitUsage;
    }
  }
  jose::VerifyOptions options;
  options.issuers = args.issuers;
  options.audiences = args.audiences;

  if (!args.algorithms.empty()) {
    auto parsed = jose::AlgorithmSet::parse_list(args.algorithms);
    if (parsed.reason == Reason::AlgorithmUnknown) {
      err << "mcpgate: --algorithms: unsupported algorithm '" << parsed.detail
          << "' (allowed: " << jose::AlgorithmSet::all().to_string()
          << "; HMAC and none are never accepted)\n";
      return kExitUsage;
    }
    if (!parsed.ok()) {
      err << "mcpgate: --algorithms: '" << args.algorithms << "' names no algorithm\n";
      return kExitUsage;
    }
    options.algorithms = *parsed;
  }
  if (!args.leeway.empty()) {
    auto leeway = parse_seconds(args.leeway);
    if (!leeway || *leeway < 0) {
      err << "mcpgate: --leeway: '" << args.leeway << "' is not a non-negative number of seconds\n";
      return kExitUsage;
    }
    options.leeway_seconds = *leeway;
  }
  if (!args.now.empty()) {
    auto now = parse_seconds(args.now);
    if (!now) {
      err << "mcpgate: --now: '" << args.now << "' is not a Unix time in seconds\n";
      return kExitUsage;
    }
    options.clock = std::make_shared<ManualClock>(*now);
  }

  auto keys = load_key_set_file(args.jwks_path, err);
  if (!keys) return kExitUsage;

  std::optional<std::string> token = read_token_argument(args.token, in, err);
  if (!token) return kExitUsage;

  const jose::KeyLookup from_file = jose::fixed_keys(std::make_shared<const jose::JwkSet>(std::move(*keys)));
  nlohmann::ordered_json verdict = verification_json(jose::verify_jwt(*token, from_file, options));
  out << one_line(verdict) << "\n";
  out.flush();
  return verdict["valid"].get<bool>() ? kExitOk : kExitNegative;
}

void register_token_verify(CLI::App& token, CommandResult& result) {
  auto args = std::make_shared<TokenVerifyArgs>();
  CLI::App* verify =
      token.add_subcommand("verify",
                           "Verify a JWT access token against a JWKS file (signature, issuer, audience, "
                           "expiry, algorithm rules),\n"
                           "or any bearer token against a configuration file's serving chain (--config: "
                           "issuers + static tokens).\n"
                           "Prints one JSON object; exit 0 valid, 1 invalid, 2 usage or input-file error.");
  CLI::Option* config = verify->add_option(
      "--config", args->config_path,
      "Configuration file: judge the token with the serving chain (fetches JWKS as serving would)");
  CLI::Option* jwks = verify->add_option("--jwks", args->jwks_path,
                                         "JWKS file ({\"keys\": [...]}) holding the issuer's public keys");
  // allow_extra_args(false): each --issuer takes one value, so a following positional TOKEN is never
  // swallowed. Required with --jwks (checked in run_token_verify); the configuration says them with --config.
  CLI::Option* issuer = verify
                            ->add_option("--issuer", args->issuers,
                                         "With --jwks: accepted 'iss' value, matched exactly (repeatable)")
                            ->allow_extra_args(false);
  CLI::Option* audience =
      verify
          ->add_option("--audience", args->audiences,
                       "With --jwks: accepted 'aud' value; one must appear in the token (repeatable)")
          ->allow_extra_args(false);
  verify->add_option("--now", args->now, "Judge the token as of this Unix time (seconds, may be fractional)");
  CLI::Option* leeway = verify->add_option("--leeway", args->leeway,
                                           "Clock leeway for 'exp' and 'nbf', in seconds (default 0)");
  CLI::Option* algorithms = verify->add_option(
      "--algorithms", args->algorithms,
      "Comma-separated allow-list, e.g. RS256,ES256 (default: all asymmetric algorithms; the key's "
      "type narrows them)");
  for (CLI::Option* jwks_only : {jwks, issuer, audience, leeway, algorithms}) config->excludes(jwks_only);
  verify->add_option("token", args->token, "The JWT; '-' or absent reads one line from stdin");
  verify->callback(
      [args, &result] { result.exit_code = run_token_verify(*args, std::cin, std::cout, std::cerr); });
}

}  // namespace mcpgate::cli
