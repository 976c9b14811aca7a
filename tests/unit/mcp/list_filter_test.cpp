// List answers cut to what one principal may use (src/mcp/list_filter.hpp): JSON, SSE, batches, fail closed.
#include "mcp/list_filter.hpp"

#include <gtest/gtest.h>

namespace mcpgate::mcp {
namespace {

using nlohmann::json;

const ItemJudge kHideSecret = [](std::string_view method, std::string_view target) {
  ItemVerdict v;
  v.hide = target.starts_with("secret");
  if (method == "tools/call") v.scopes = {"mcp:read"};
  return v;
};

const ListRequests kTools = {{json(1), ListKind::Tools}};

std::string tools_answer(json id, json tools) {
  return json{{"jsonrpc", "2.0"}, {"id", id}, {"result", {{"tools", tools}}}}.dump();
}

TEST(ListFilter, HiddenToolsAreRemovedAndShownOnesCarrySecuritySchemes) {
  const auto f = filter_list(tools_answer(1, json::array({{{"name", "a"}}, {{"name", "secret_b"}}})), false,
                             kTools, kHideSecret, {});
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.hidden, 1u);
  const json out = json::parse(f.body);
  ASSERT_EQ(out["result"]["tools"].size(), 1u);
  EXPECT_EQ(out["result"]["tools"][0]["name"], "a");
  EXPECT_EQ(out["result"]["tools"][0]["securitySchemes"][0]["type"], "oauth2");
  EXPECT_EQ(out["result"]["tools"][0]["securitySchemes"][0]["scopes"], json::array({"mcp:read"}));
  EXPECT_FALSE(out["result"].contains("cacheScope"));
}

TEST(ListFilter, PrivateCacheMarksTheFilteredResult) {
  const auto f =
      filter_list(tools_answer(1, json::array()), false, kTools, kHideSecret, {.private_cache = true});
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(json::parse(f.body)["result"]["cacheScope"], "private");
}

TEST(ListFilter, ItemWithoutItsIdentifyingMemberIsRemoved) {
  const auto f = filter_list(tools_answer(1, json::array({{{"title", "no name"}}, 3, {{"name", 5}}})), false,
                             kTools, kHideSecret, {});
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.hidden, 3u);
  EXPECT_TRUE(json::parse(f.body)["result"]["tools"].empty());
}

TEST(ListFilter, ResourcesAreJudgedByUriAndTemplatesByUriTemplate) {
  std::vector<std::pair<std::string, std::string>> seen;
  const ItemJudge record = [&](std::string_view m, std::string_view t) {
    seen.emplace_back(m, t);
    return ItemVerdict{};
  };
  const std::string body =
      json::array({{{"jsonrpc", "2.0"}, {"id", "r"}, {"result", {{"resources", {{{"uri", "file:///x"}}}}}}},
                   {{"jsonrpc", "2.0"},
                    {"id", "t"},
                    {"result", {{"resourceTemplates", {{{"uriTemplate", "file:///{p}"}}}}}}}})
          .dump();
  const auto f = filter_list(
      body, false, {{json("r"), ListKind::Resources}, {json("t"), ListKind::ResourceTemplates}}, record, {});
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(seen, (std::vector<std::pair<std::string, std::string>>{{"resources/read", "file:///x"},
                                                                    {"resources/read", "file:///{p}"}}));
}

TEST(ListFilter, AnswersToOtherRequestsAndErrorsPassUnchanged) {
  const std::string other = tools_answer(2, json::array({{{"name", "secret"}}}));
  EXPECT_EQ(filter_list(other, false, kTools, kHideSecret, {}).body, other);
  const std::string error = R"({"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"x"}})";
  const auto f = filter_list(error, false, kTools, kHideSecret, {});
  EXPECT_TRUE(f.ok);
  EXPECT_EQ(f.body, error);
}

TEST(ListFilter, UnreadableAnswersFailClosed) {
  EXPECT_FALSE(filter_list("not json", false, kTools, kHideSecret, {}).ok);
  EXPECT_FALSE(
      filter_list(R"({"jsonrpc":"2.0","id":1,"result":{"tools":{}}})", false, kTools, kHideSecret, {}).ok);
  EXPECT_FALSE(filter_list(R"({"jsonrpc":"2.0","id":1,"result":[]})", false, kTools, kHideSecret, {}).ok);
  // Invalid UTF-8 that a lenient client would read with replacement characters.
  EXPECT_FALSE(
      filter_list("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{\"tools\":[{\"name\":\"secret\xff\"}]}}", false,
                  kTools, kHideSecret, {})
          .ok);
  EXPECT_FALSE(filter_list("data: {not json\n\n", true, kTools, kHideSecret, {}).ok);
}

TEST(ListFilter, EventStreamRewritesOnlyTheResponseEventAndKeepsItsIdAndEventLines) {
  const std::string note =
      "event: message\r\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\"}\r\n\r\n";
  const std::string comment = ": keepalive\n\n";
  const std::string response = "id: 9\nevent: message\ndata: " +
                               tools_answer(1, json::array({{{"name", "a"}}, {{"name", "secret"}}})) + "\n\n";
  const auto f = filter_list(note + comment + response, true, kTools, kHideSecret, {});
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.hidden, 1u);
  EXPECT_EQ(f.body.rfind(note + comment, 0), 0u) << f.body;
  const std::string rewritten = f.body.substr(note.size() + comment.size());
  EXPECT_EQ(rewritten.rfind("id: 9\nevent: message\ndata: ", 0), 0u) << rewritten;
  EXPECT_EQ(rewritten.find("secret"), std::string::npos);
  EXPECT_TRUE(rewritten.ends_with("\n\n"));
}

TEST(ListFilter, MultiLineDataIsJoinedBeforeParsing) {
  // Two data lines join with '\n', which is JSON whitespace between tokens.
  const std::string split =
      "data: {\"jsonrpc\":\"2.0\",\ndata: \"id\":1,\"result\":{\"tools\":[{\"name\":\"secret\"}]}}\n\n";
  const auto f = filter_list(split, true, kTools, kHideSecret, {});
  ASSERT_TRUE(f.ok);
  EXPECT_EQ(f.hidden, 1u);
  EXPECT_EQ(f.body.find("secret"), std::string::npos);
}

TEST(ListFilter, ListRequestsTakeTheIdsOfListMethodsOnly) {
  std::vector<Call> calls(3);
  calls[0].method = "tools/list";
  calls[0].id = 4;
  calls[1].method = "tools/call";
  calls[1].id = 5;
  calls[2].method = "prompts/list";
  calls[2].notification = true;
  const ListRequests r = list_requests(calls);
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].first, 4);
  EXPECT_EQ(r[0].second, ListKind::Tools);
}

}  // namespace
}  // namespace mcpgate::mcp
