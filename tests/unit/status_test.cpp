#include <gtest/gtest.h>

#include <mcpgate/status.hpp>
#include <set>
#include <string>

namespace mcpgate {
namespace {

constexpr Reason kAll[] = {
#define MCPGATE_REASON_VALUE(e, name, status, code, sentence) Reason::e,
    MCPGATE_REASONS(MCPGATE_REASON_VALUE)
#undef MCPGATE_REASON_VALUE
};

TEST(Status, EveryReasonHasAUniqueStableName) {
  std::set<std::string> names;
  for (Reason r : kAll) {
    std::string name(reason_name(r));
    EXPECT_FALSE(name.empty());
    EXPECT_TRUE(names.insert(name).second) << "duplicate reason name " << name;
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789_"), std::string::npos) << name;
  }
}

TEST(Status, EveryReasonHasASentence) {
  for (Reason r : kAll) EXPECT_FALSE(reason_sentence(r).empty()) << reason_name(r);
}

TEST(Status, ErrorCodesFollowRfc6750ForTheirStatus) {
  for (Reason r : kAll) {
    const int status = http_status(r);
    const std::string code(oauth_error(r));
    if (reason_name(r).starts_with("mcp_")) {
      // The MCP stage answers with JSON-RPC errors (SEP-2243), never a bearer challenge: no OAuth code.
      EXPECT_EQ(code, "") << reason_name(r);
    } else if (status == 400) {
      EXPECT_EQ(code, "invalid_request") << reason_name(r);
    } else if (status == 403 && !code.empty()) {
      EXPECT_EQ(code, "insufficient_scope") << reason_name(r);
    } else if (status == 401 && r != Reason::MissingCredentials) {
      EXPECT_EQ(code, "invalid_token") << reason_name(r);
    }
  }
}

TEST(Status, MissingCredentialsChallengeCarriesNoErrorCode) {
  EXPECT_EQ(http_status(Reason::MissingCredentials), 401);
  EXPECT_EQ(oauth_error(Reason::MissingCredentials), "");
}

TEST(Status, KeyUnavailabilityIsA503NotA401) {
  EXPECT_EQ(http_status(Reason::KeysUnavailable), 503);
  EXPECT_EQ(http_status(Reason::KeysStale), 503);
}

}  // namespace
}  // namespace mcpgate
