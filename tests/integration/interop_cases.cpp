#include "integration/interop_cases.hpp"

#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "support/child_process.hpp"

namespace mcpgate::testing {
namespace {

// NumericDates keep their JSON spelling ("1893456000", "1893456000.75") so the binary sees what the case
// says.
std::string number_text(const nlohmann::json& j, const char* field) {
  if (!j.contains(field)) return "0";
  const auto& v = j.at(field);
  if (!v.is_number()) throw std::runtime_error(std::string("case field '") + field + "' is not a number");
  return v.dump();
}

struct TempDirectory {
  std::string path;
  ~TempDirectory() {
    std::error_code ignored;
    if (!path.empty()) std::filesystem::remove_all(path, ignored);
  }
};

std::string describe(const InteropCase& c, const ProcessOutput& out, const std::string& problem) {
  std::ostringstream s;
  s << "case '" << c.name << "': " << problem << "\n  exit=" << out.exit_code << " stdout=" << out.stdout_text
    << "  stderr=" << out.stderr_text;
  return s.str();
}

}  // namespace

std::vector<InteropCase> load_cases(const std::string& jsonl_path) {
  std::ifstream file(jsonl_path);
  if (!file) throw std::runtime_error("cannot read " + jsonl_path);
  std::vector<InteropCase> cases;
  std::string line;
  int line_number = 0;
  while (std::getline(file, line)) {
    ++line_number;
    if (line.empty()) continue;
    try {
      auto j = nlohmann::json::parse(line);
      InteropCase c;
      c.name = j.at("name").get<std::string>();
      c.family = j.value("family", "");
      c.token = j.at("token").get<std::string>();
      std::string expect = j.at("expect").get<std::string>();
      if (expect != "valid" && expect != "invalid") throw std::runtime_error("expect is '" + expect + "'");
      c.expect_valid = expect == "valid";
      if (j.contains("reasons")) c.reasons = j.at("reasons").get<std::vector<std::string>>();
      c.issuer = j.at("issuer").get<std::string>();
      c.audience = j.at("audience").get<std::string>();
      c.now = number_text(j, "now");
      c.leeway = number_text(j, "leeway");
      if (j.contains("principal")) c.principal = j.at("principal");
      cases.push_back(std::move(c));
    } catch (const std::exception& e) {
      throw std::runtime_error(jsonl_path + ":" + std::to_string(line_number) + ": " + e.what());
    }
  }
  return cases;
}

const SignedCaseSet& python_signed_cases() {
  static TempDirectory directory;
  static const SignedCaseSet set = [] {
    SignedCaseSet s;
    std::string base = (std::filesystem::temp_directory_path() / "mcpgate-interop-XXXXXX").string();
    if (mkdtemp(base.data()) == nullptr) {
      s.signer_error = "mkdtemp failed for " + base;
      return s;
    }
    directory.path = base;
    s.directory = base;
    s.jwks_path = base + "/jwks.json";
    // Debian's interpreter explicitly: python3-jwt and python3-cryptography are installed for it, not for
    // whatever `python3` comes first on PATH.
    ProcessOutput out =
        run_process({"/usr/bin/python3", MCPGATE_SOURCE_DIR "/tests/integration/interop_signer.py", base}, {},
                    std::chrono::seconds(120));
    if (out.exit_code != 0) {
      s.signer_error =
          "interop_signer.py failed (exit " + std::to_string(out.exit_code) + "): " + out.stderr_text;
      return s;
    }
    try {
      s.cases = load_cases(base + "/cases.jsonl");
    } catch (const std::exception& e) {
      s.signer_error = e.what();
    }
    return s;
  }();
  return set;
}

std::vector<std::string> verify_command(const std::string& jwks_path, const InteropCase& c) {
  std::vector<std::string> argv = {MCPGATE_BINARY, "token",    "verify",     "--jwks",   jwks_path,
                                   "--issuer",     c.issuer,   "--audience", c.audience, "--now",
                                   c.now,          "--leeway", c.leeway};
  // A token is data, never an option: a leading '-' must not be read as a flag.
  if (!c.token.empty() && c.token.front() == '-') argv.push_back("--");
  argv.push_back(c.token);
  return argv;
}

std::string judge_case(const std::string& jwks_path, const InteropCase& c) {
  ProcessOutput out = run_process(verify_command(jwks_path, c));
  if (out.timed_out) return describe(c, out, "timed out");
  int expected_exit = c.expect_valid ? 0 : 1;
  if (out.exit_code != expected_exit) {
    return describe(
        c, out, "exit code " + std::to_string(out.exit_code) + ", expected " + std::to_string(expected_exit));
  }
  // The contract: stdout is exactly one JSON object on one line.
  const std::string& text = out.stdout_text;
  if (text.empty() || text.back() != '\n' || std::count(text.begin(), text.end(), '\n') != 1) {
    return describe(c, out, "stdout is not exactly one line");
  }
  nlohmann::json verdict;
  try {
    verdict = nlohmann::json::parse(text);
  } catch (const std::exception& e) {
    return describe(c, out, std::string("stdout is not JSON: ") + e.what());
  }
  if (!verdict.is_object() || !verdict.contains("valid") || !verdict["valid"].is_boolean()) {
    return describe(c, out, "stdout has no boolean 'valid'");
  }
  if (verdict["valid"].get<bool>() != c.expect_valid)
    return describe(c, out, "'valid' disagrees with the exit code");
  if (!c.expect_valid) {
    if (verdict.value("error", "") != "invalid_token")
      return describe(c, out, "'error' is not invalid_token");
    std::string reason = verdict.value("reason", "");
    if (reason.empty()) return describe(c, out, "no 'reason'");
    if (!c.reasons.empty() && std::find(c.reasons.begin(), c.reasons.end(), reason) == c.reasons.end()) {
      std::string wanted;
      for (const auto& r : c.reasons) wanted += (wanted.empty() ? "" : " or ") + r;
      return describe(c, out, "reason '" + reason + "', expected " + wanted);
    }
    if (!verdict.contains("detail") || !verdict["detail"].is_string() ||
        verdict["detail"].get<std::string>().empty()) {
      return describe(c, out, "no 'detail' sentence");
    }
    // The verdict names what went wrong; it never echoes the token (it may be a live credential).
    if (c.token.size() > 16 && text.find(c.token) != std::string::npos)
      return describe(c, out, "token echoed");
    return "";
  }
  if (c.principal.is_object()) {
    for (const auto& [field, value] : c.principal.items()) {
      if (!verdict.contains(field) || verdict[field] != value) {
        return describe(c, out, "'" + field + "' should be " + value.dump());
      }
    }
  }
  return "";
}

}  // namespace mcpgate::testing
