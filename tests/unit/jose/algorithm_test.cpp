// The asymmetric JWS algorithm names (RFC 7518 §3.1, RFC 8037 §3.1) and allow-lists.
#include "jose/algorithm.hpp"

#include <gtest/gtest.h>

using mcpgate::jose::Algorithm;
using mcpgate::jose::algorithm_from_name;
using mcpgate::jose::algorithm_name;
using mcpgate::jose::AlgorithmSet;

TEST(Algorithm, KnowsEveryAsymmetricAlgorithmByItsExactName) {
  for (const char* name : {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}) {
    auto alg = algorithm_from_name(name);
    ASSERT_TRUE(alg) << name;
    EXPECT_EQ(algorithm_name(*alg), name);
  }
}

TEST(Algorithm, RefusesNoneHmacAndUnknownNames) {
  for (const char* name :
       {"none", "HS256", "HS384", "HS512", "ES512", "rs256", "RS256 ", "", "ES256K", "Ed25519"})
    EXPECT_FALSE(algorithm_from_name(name)) << name;
  EXPECT_TRUE(mcpgate::jose::is_hmac_name("HS384"));
  EXPECT_FALSE(mcpgate::jose::is_hmac_name("RS384"));
}

TEST(AlgorithmSet, ParsesCommaAndSpaceSeparatedLists) {
  auto set = AlgorithmSet::parse_list("RS256, ES256  EdDSA");
  ASSERT_TRUE(set.ok()) << set.message();
  EXPECT_TRUE(set->contains(Algorithm::RS256));
  EXPECT_TRUE(set->contains(Algorithm::ES256));
  EXPECT_TRUE(set->contains(Algorithm::EdDSA));
  EXPECT_FALSE(set->contains(Algorithm::PS256));
  EXPECT_EQ(set->to_string(), "RS256,ES256,EdDSA");
}

TEST(AlgorithmSet, RefusesListsNamingHmacNoneOrUnknownAlgorithms) {
  for (auto [list, bad] : {std::pair{"RS256,HS256", "HS256"}, {"none", "none"}, {"RS256,XY999", "XY999"}}) {
    auto set = AlgorithmSet::parse_list(list);
    EXPECT_EQ(set.reason, mcpgate::Reason::AlgorithmUnknown) << list;
    EXPECT_EQ(set.detail, bad) << list;
  }
}

TEST(AlgorithmSet, RefusesAnEmptyList) {
  EXPECT_EQ(AlgorithmSet::parse_list(" , ").reason, mcpgate::Reason::ConfigInvalid);
}

TEST(AlgorithmSet, AllContainsEveryAlgorithmAndOfContainsOne) {
  EXPECT_EQ(AlgorithmSet::all().to_string(), "RS256,RS384,RS512,PS256,PS384,PS512,ES256,ES384,EdDSA");
  EXPECT_EQ(AlgorithmSet::of(Algorithm::PS384).to_string(), "PS384");
  EXPECT_TRUE(AlgorithmSet().empty());
}
