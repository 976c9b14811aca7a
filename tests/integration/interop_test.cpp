// Tokens signed by an independent implementation (PyJWT + cryptography, run at test time with fresh keys)
// must come out of the real `mcpgate token verify` binary exactly as the standards say (RFC 7515, 7518, 8037,
// 8725, 9068).
#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "integration/interop_cases.hpp"

namespace mcpgate::testing {
namespace {

// Runs every case of one family and reports each failing case by name.
void expect_family_judged_as_signed(const std::string& family) {
  const SignedCaseSet& set = python_signed_cases();
  ASSERT_TRUE(set.signer_error.empty()) << set.signer_error;
  int ran = 0;
  for (const InteropCase& c : set.cases) {
    if (c.family != family) continue;
    ++ran;
    std::string problem = judge_case(set.jwks_path, c);
    EXPECT_TRUE(problem.empty()) << problem;
  }
  EXPECT_GT(ran, 0) << "the signer produced no case of family '" << family << "'";
}

TEST(PythonSignedTokens, SignerCoversEveryAlgorithmAndEveryTamperingFamily) {
  const SignedCaseSet& set = python_signed_cases();
  ASSERT_TRUE(set.signer_error.empty()) << set.signer_error;
  std::set<std::string> valid_names, families;
  for (const auto& c : set.cases) {
    families.insert(c.family);
    if (c.expect_valid) valid_names.insert(c.name);
  }
  for (const char* alg : {"rs256", "rs384", "rs512", "ps256", "ps384", "ps512", "es256", "es384", "eddsa"}) {
    EXPECT_TRUE(valid_names.count(std::string(alg) + "_valid")) << "no valid " << alg << " case";
  }
  EXPECT_EQ(families, (std::set<std::string>{"rsa", "ec", "eddsa", "alg_swap", "attack", "claims"}));
}

TEST(PythonSignedTokens, RsaPkcs1AndPssTokensVerifyAndTamperedOnesAreRefused) {
  expect_family_judged_as_signed("rsa");
}

TEST(PythonSignedTokens, EcdsaTokensVerifyAndDerOrTamperedSignaturesAreRefused) {
  expect_family_judged_as_signed("ec");
}

TEST(PythonSignedTokens, Ed25519TokensVerifyAndTamperedOnesAreRefused) {
  expect_family_judged_as_signed("eddsa");
}

TEST(PythonSignedTokens, SwappedAlgHeaderNeverChangesHowTheKeyIsUsed) {
  expect_family_judged_as_signed("alg_swap");
}

TEST(PythonSignedTokens, RefusesNoneHmacConfusionCritTypAndSkippedKeys) {
  expect_family_judged_as_signed("attack");
}

TEST(PythonSignedTokens, EnforcesIssuerAudienceExpiryAndNotBeforeWithLeeway) {
  expect_family_judged_as_signed("claims");
}

// The shared vectors (../shared/interop beside the project root) were signed once by another engineer's
// independent signer; they are an extra check on top of the suite and are not shipped with the project.
TEST(SharedInteropVectors, EveryCaseComesOutAsExpected) {
  const std::filesystem::path dir = MCPGATE_SOURCE_DIR "/../shared/interop";
  if (!std::filesystem::exists(dir / "cases.jsonl") || !std::filesystem::exists(dir / "jwks.json")) {
    GTEST_SKIP() << "no shared interop vectors at " << dir.string()
                 << " (they live beside the project in the development tree only)";
  }
  std::vector<InteropCase> cases = load_cases((dir / "cases.jsonl").string());
  ASSERT_FALSE(cases.empty());
  int failures = 0;
  for (const InteropCase& c : cases) {
    std::string problem = judge_case((dir / "jwks.json").string(), c);
    if (!problem.empty()) ++failures;
    EXPECT_TRUE(problem.empty()) << problem;
  }
  EXPECT_EQ(failures, 0) << "of " << cases.size() << " shared cases";
}

}  // namespace
}  // namespace mcpgate::testing
