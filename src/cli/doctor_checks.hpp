// doctor_checks.hpp — what `mcpgate doctor` checks, and for which client each finding is fatal.
//
//   auto url = cli::TargetUrl::parse("https://mcp.example.com/mcp");
//   cli::Probe probe({});
//   std::vector<cli::CheckResult> checks = cli::run_doctor_checks(*url, probe);
//   for (const auto& c : checks)
//     if (c.applies_to(cli::kClaude)) std::cout << c.id << " " << status_name(c.status_for(cli::kClaude));
//
// A check gathers findings; each finding fails some clients and is only a warning for others (ChatGPT stops
// without authorization-server metadata on the MCP origin, Claude copes). A check's status for a selection of
// clients is the worst finding among them. The checks run in discovery order and share what they fetched: the
// authorization server comes from the protected-resource metadata.
//
// Files: doctor_checks.cpp (folding, order), doctor_discovery_checks.cpp (metadata documents),
// doctor_endpoint_checks.cpp (the MCP endpoint itself: challenge, CORS, 404s, TLS).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "cli/doctor_probe.hpp"

namespace mcpgate::cli {

// The clients whose discovery the doctor replays, as a bit set.
using ClientSet = unsigned;
inline constexpr ClientSet kChatGpt = 1;
inline constexpr ClientSet kClaude = 2;
inline constexpr ClientSet kClaudeCode = 4;
inline constexpr ClientSet kAllClients = kChatGpt | kClaude | kClaudeCode;

// "chatgpt", "claude", "claude-code", "all"; nullopt for anything else.
std::optional<ClientSet> parse_client_selection(std::string_view name);
std::vector<std::string> client_names(ClientSet clients);

enum class CheckStatus { Ok, Warn, Fail };
std::string_view status_name(CheckStatus status);  // "ok", "warn", "fail"

// One problem: a failure for `fails`, a warning for `warns`.
struct Finding {
  std::string what;
  std::string fix;  // one sentence
  ClientSet fails = 0;
  ClientSet warns = 0;
};

struct CheckResult {
  std::string id;
  ClientSet clients = 0;  // whom the check matters to
  std::string verified;   // what was found right (the detail of an ok check)
  std::vector<Finding> findings;

  bool applies_to(ClientSet selected) const { return (clients & selected) != 0; }
  CheckStatus status_for(ClientSet selected) const;
  std::string detail_for(ClientSet selected) const;  // the findings that concern `selected`, or `verified`
  std::string fix_for(ClientSet selected) const;     // the worst finding's fix; "" when ok

  void fail(ClientSet who, std::string what, std::string fix);
  void warn(ClientSet who, std::string what, std::string fix);
};

// What the checks fetched, for the checks after them.
struct Discovery {
  Exchange prm_path, prm_root, challenge;
  std::optional<nlohmann::json> prm_path_doc, prm_root_doc, challenge_doc;
  // The first authorization server the metadata names; "" when no document named one.
  std::string authorization_server() const;
};

// Every check, in discovery order: prm.path, prm.root, challenge, as.metadata, as.on_mcp_origin,
// wellknown.json404, cors.preflight, tls.
std::vector<CheckResult> run_doctor_checks(const TargetUrl& url, const Probe& probe);

// The individual checks (doctor_discovery_checks.cpp, doctor_endpoint_checks.cpp).
CheckResult check_prm_path(const TargetUrl& url, const Probe& probe, Discovery& found);
CheckResult check_prm_root(const TargetUrl& url, const Probe& probe, Discovery& found);
CheckResult check_challenge(const TargetUrl& url, const Probe& probe, Discovery& found);
CheckResult check_as_metadata(const Probe& probe, const Discovery& found);
CheckResult check_as_on_mcp_origin(const TargetUrl& url, const Probe& probe);
CheckResult check_wellknown_json404(const TargetUrl& url, const Probe& probe);
CheckResult check_cors_preflight(const TargetUrl& url, const Probe& probe);
CheckResult check_tls(const TargetUrl& url, const Discovery& found);

// Shared by the checks: a 200 JSON object, or a failure for `who` saying what came instead.
std::optional<nlohmann::json> expect_json_document(const Exchange& answer, CheckResult& result, ClientSet who,
                                                   const std::string& fix);
// How `resource` differs from the URL the user typed, in words ("" when identical).
std::string describe_resource_mismatch(const std::string& resource, const std::string& typed);
// The auth-params of the first Bearer challenge among WWW-Authenticate values (names lower-cased);
// nullopt when no value holds a Bearer challenge.
std::optional<std::vector<std::pair<std::string, std::string>>> bearer_challenge_params(
    const std::vector<std::string>& www_authenticate);

}  // namespace mcpgate::cli
