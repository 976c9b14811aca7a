#include "cli/doctor_checks.hpp"

#include <algorithm>
#include <cctype>

#include "core/ascii.hpp"

namespace mcpgate::cli {
namespace {

bool concerns(const Finding& f, ClientSet selected) {
  return ((f.fails | f.warns) & selected) != 0;
}

// The first finding that fails `selected`, else the first that concerns it at all.
const Finding* worst(const std::vector<Finding>& findings, ClientSet selected) {
  for (const auto& f : findings)
    if (f.fails & selected) return &f;
  for (const auto& f : findings)
    if (concerns(f, selected)) return &f;
  return nullptr;
}

}  // namespace

std::optional<ClientSet> parse_client_selection(std::string_view name) {
  if (name == "chatgpt") return kChatGpt;
  if (name == "claude") return kClaude;
  if (name == "claude-code") return kClaudeCode;
  if (name == "all") return kAllClients;
  return std::nullopt;
}

std::vector<std::string> client_names(ClientSet clients) {
  std::vector<std::string> out;
  if (clients & kChatGpt) out.emplace_back("chatgpt");
  if (clients & kClaude) out.emplace_back("claude");
  if (clients & kClaudeCode) out.emplace_back("claude-code");
  return out;
}

std::string_view status_name(CheckStatus status) {
  switch (status) {
    case CheckStatus::Ok:
      return "ok";
    case CheckStatus::Warn:
      return "warn";
    case CheckStatus::Fail:
      return "fail";
  }
  return "fail";
}

CheckStatus CheckResult::status_for(ClientSet selected) const {
  const Finding* f = worst(findings, selected & clients);
  if (!f) return CheckStatus::Ok;
  return (f->fails & selected & clients) ? CheckStatus::Fail : CheckStatus::Warn;
}

std::string CheckResult::detail_for(ClientSet selected) const {
  std::string out;
  for (const auto& f : findings)
    if (concerns(f, selected & clients)) out += (out.empty() ? "" : "; ") + f.what;
  return out.empty() ? verified : out;
}

std::string CheckResult::fix_for(ClientSet selected) const {
  const Finding* f = worst(findings, selected & clients);
  return f ? f->fix : std::string();
}

void CheckResult::fail(ClientSet who, std::string what, std::string fix) {
  findings.push_back({std::move(what), std::move(fix), who, 0});
}

void CheckResult::warn(ClientSet who, std::string what, std::string fix) {
  findings.push_back({std::move(what), std::move(fix), 0, who});
}

std::string Discovery::authorization_server() const {
  for (const auto* doc : {&prm_path_doc, &prm_root_doc, &challenge_doc}) {
    if (!*doc) continue;
    auto servers = (*doc)->find("authorization_servers");
    if (servers != (*doc)->end() && servers->is_array() && !servers->empty() && servers->front().is_string())
      return servers->front().get<std::string>();
  }
  return {};
}

std::optional<nlohmann::json> expect_json_document(const Exchange& answer, CheckResult& result, ClientSet who,
                                                   const std::string& fix) {
  if (!answer.answered() || answer.status != 200) {
    result.fail(who, answer.url + " answered " + answer.summary() + ", not 200 JSON", fix);
    return std::nullopt;
  }
  if (answer.is_html() || !answer.is_json()) {
    result.fail(who,
                answer.url + " answered 200 " +
                    (answer.is_html() ? "HTML" : "'" + answer.header("Content-Type") + "'") +
                    ", not application/json",
                fix);
    return std::nullopt;
  }
  auto doc = answer.json_object();
  if (!doc) result.fail(who, answer.url + " is not a JSON object", fix);
  return doc;
}

std::string describe_resource_mismatch(const std::string& resource, const std::string& typed) {
  if (resource == typed) return {};
  const std::string shown = "`resource` is \"" + resource + "\"";
  if (resource == typed + "/")
    return shown + ": it ends with a trailing slash that the URL you typed (" + typed + ") lacks";
  if (typed == resource + "/")
    return shown + ": the URL you typed (" + typed + ") has a trailing slash that `resource` lacks";
  const auto a = TargetUrl::parse(resource), b = TargetUrl::parse(typed);
  if (a && b && ascii_lower(a->origin()) == ascii_lower(b->origin()) && a->path == b->path &&
      a->query == b->query) {
    if (a->scheme == b->scheme && a->host != b->host && ascii_lower(a->host) == ascii_lower(b->host))
      return shown + ": it differs from the URL you typed (" + typed + ") only in the case of the host";
    return shown + ": it differs from the URL you typed (" + typed + ") only in case";
  }
  if (a && b && a->scheme != b->scheme)
    return shown + ": the URL you typed (" + typed + ") uses " + b->scheme + ", `resource` " + a->scheme;
  return shown + ", not the URL you typed (" + typed + ")";
}

std::vector<CheckResult> run_doctor_checks(const TargetUrl& url, const Probe& probe) {
  Discovery found;
  std::vector<CheckResult> out;
  out.push_back(check_prm_path(url, probe, found));
  out.push_back(check_prm_root(url, probe, found));
  out.push_back(check_challenge(url, probe, found));
  out.push_back(check_as_metadata(probe, found));
  out.push_back(check_as_on_mcp_origin(url, probe));
  out.push_back(check_wellknown_json404(url, probe));
  out.push_back(check_cors_preflight(url, probe));
  out.push_back(check_tls(url, found));
  return out;
}

}  // namespace mcpgate::cli
