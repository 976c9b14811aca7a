#include "cli/doctor_command.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <iostream>
#include <memory>

#include "cli/doctor_checks.hpp"

namespace mcpgate::cli {
namespace {

constexpr double kMaxTimeoutSeconds = 300;

std::optional<double> parse_timeout(const std::string& text) {
  double value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, std::chars_format::fixed);
  if (text.empty() || ec != std::errc() || end != text.data() + text.size() || !std::isfinite(value) ||
      value <= 0 || value > kMaxTimeoutSeconds)
    return std::nullopt;
  return value;
}

// Checks the arguments; on success fills the URL, the clients and the probe's options.
bool validate(const DoctorArgs& args, std::optional<TargetUrl>& url, ClientSet& clients,
              ProbeOptions& options, std::ostream& err) {
  url = TargetUrl::parse(args.url);
  if (!url) {
    err << "mcpgate: doctor: '" << args.url
        << "' is not an http(s) URL (expected e.g. https://mcp.example.com/mcp; no credentials, no "
           "fragment)\n";
    return false;
  }
  auto selected = parse_client_selection(args.client);
  if (!selected) {
    err << "mcpgate: doctor: --client: '" << args.client
        << "' is not one of chatgpt, claude, claude-code, all\n";
    return false;
  }
  clients = *selected;
  auto timeout = parse_timeout(args.timeout);
  if (!timeout) {
    err << "mcpgate: doctor: --timeout: '" << args.timeout << "' is not a number of seconds in (0, 300]\n";
    return false;
  }
  options.timeout = std::chrono::milliseconds(static_cast<long long>(*timeout * 1000));
  if (!args.ca_file.empty() && !std::ifstream(args.ca_file)) {
    err << "mcpgate: doctor: --ca-file: cannot read '" << args.ca_file << "'\n";
    return false;
  }
  options.ca_file = args.ca_file;
  return true;
}

// The text report's status column: the JSON name, padded to four, a failure in capitals so it stands out.
std::string status_label(CheckStatus status) {
  if (status == CheckStatus::Fail) return "FAIL";
  std::string label(status_name(status));
  label.resize(4, ' ');
  return label;
}

void print_text(const std::vector<CheckResult>& checks, ClientSet clients, std::ostream& out) {
  int counts[3] = {0, 0, 0};
  for (const auto& c : checks) {
    if (!c.applies_to(clients)) continue;
    const CheckStatus status = c.status_for(clients);
    ++counts[static_cast<int>(status)];
    std::string id = c.id;
    id.resize(std::max<std::size_t>(id.size(), 17), ' ');
    out << status_label(status) << " " << id << "  " << c.detail_for(clients);
    if (status != CheckStatus::Ok) out << " — fix: " << c.fix_for(clients);
    out << "\n";
  }
  std::string names;
  for (const auto& n : client_names(clients)) names += (names.empty() ? "" : ", ") + n;
  out << counts[0] << " ok, " << counts[1] << " warn, " << counts[2] << " fail (for " << names << ")\n";
}

void print_json(const TargetUrl& url, const std::vector<CheckResult>& checks, ClientSet clients, bool ok,
                std::ostream& out) {
  nlohmann::ordered_json report = {{"url", url.text}, {"checks", nlohmann::ordered_json::array()}};
  for (const auto& c : checks) {
    if (!c.applies_to(clients)) continue;
    report["checks"].push_back({{"id", c.id},
                                {"client", client_names(c.clients)},
                                {"status", std::string(status_name(c.status_for(clients)))},
                                {"detail", c.detail_for(clients)},
                                {"fix", c.fix_for(clients)}});
  }
  report["ok"] = ok;
  // A server's text is quoted in details: never let invalid UTF-8 abort the report.
  out << report.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

}  // namespace

int run_doctor(const DoctorArgs& args, std::ostream& out, std::ostream& err) {
  std::optional<TargetUrl> url;
  ClientSet clients = kAllClients;
  ProbeOptions options;
  if (!validate(args, url, clients, options, err)) return kExitUsage;

  const Probe probe(options);
  const std::vector<CheckResult> checks = run_doctor_checks(*url, probe);
  bool ok = true;
  for (const auto& c : checks)
    if (c.applies_to(clients) && c.status_for(clients) == CheckStatus::Fail) ok = false;
  if (args.json)
    print_json(*url, checks, clients, ok, out);
  else
    print_text(checks, clients, out);
  out.flush();
  return ok ? kExitOk : kExitNegative;
}

void register_doctor_command(CLI::App& app, CommandResult& result) {
  auto args = std::make_shared<DoctorArgs>();
  CLI::App* doctor = app.add_subcommand(
      "doctor",
      "Check a live deployment from outside, the way ChatGPT, Claude.ai and Claude Code discover it:\n"
      "protected-resource metadata, the 401 challenge, authorization-server metadata, JSON 404s, CORS, TLS.\n"
      "One line per check; exit 0 when no check of the selected clients fails, 1 when one does, 2 usage "
      "error.");
  doctor->add_option("url", args->url, "The MCP server URL exactly as users enter it")->required();
  doctor->add_option("--client", args->client, "chatgpt, claude, claude-code or all (default all)");
  doctor->add_flag("--json", args->json, "Print one JSON object instead of lines");
  doctor->add_option("--timeout", args->timeout, "Seconds per connect, read and write (default 10)");
  doctor->add_option("--ca-file", args->ca_file, "PEM CA bundle to trust instead of the system CAs");
  doctor->callback([args, &result] { result.exit_code = run_doctor(*args, std::cout, std::cerr); });
}

}  // namespace mcpgate::cli
