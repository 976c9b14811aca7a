// interop_cases.hpp — JWT cases signed by someone else, judged by the real `mcpgate token verify` binary.
//
//   const SignedCaseSet& set = python_signed_cases();       // runs /usr/bin/python3 interop_signer.py once
//   for (const InteropCase& c : set.cases)
//     if (auto problem = judge_case(set.jwks_path, c); !problem.empty()) ADD_FAILURE() << problem;
//
// A case passes when the exit code (0 valid, 1 invalid), the single JSON object on stdout, its "valid" flag,
// its "reason" (one of the case's acceptable reasons, when it lists any) and, for valid tokens, the principal
// fields all come out as the case says.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace mcpgate::testing {

struct InteropCase {
  std::string name;
  std::string family;  // "rsa", "ec", "eddsa", "alg_swap", "attack", "claims"; empty for the shared vectors
  std::string token;
  bool expect_valid = false;
  std::vector<std::string>
      reasons;  // acceptable reason names; empty = any reason (only valid/invalid is fixed)
  std::string issuer;
  std::string audience;
  std::string now;           // as given in the case, e.g. "1893456000" or "1893456000.75"
  std::string leeway;        // likewise
  nlohmann::json principal;  // expected principal fields for a valid case, or null
};

struct SignedCaseSet {
  std::string directory;  // a fresh temporary directory, removed when the test process exits
  std::string jwks_path;
  std::vector<InteropCase> cases;
  std::string signer_error;  // non-empty when the signer could not run; the tests then fail with it
};

// Parses a cases.jsonl file; throws std::runtime_error naming the line on malformed input.
std::vector<InteropCase> load_cases(const std::string& jsonl_path);

// Runs tests/integration/interop_signer.py with /usr/bin/python3 into a temp dir, once per process.
const SignedCaseSet& python_signed_cases();

// The argv for `mcpgate token verify --jwks ... --issuer ... --audience ... --now ... --leeway ... TOKEN`.
std::vector<std::string> verify_command(const std::string& jwks_path, const InteropCase& c);

// Runs the binary on one case; returns "" when it came out as expected, else a description naming the case.
std::string judge_case(const std::string& jwks_path, const InteropCase& c);

}  // namespace mcpgate::testing
