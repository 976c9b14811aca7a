// The JSON-RPC inspector (src/mcp/inspect): what a body asks for, and the SEP-2243 header rules of MCP
// 2026-07-28 that keep a gateway from authorizing one thing while the server runs another.
#include "mcp/inspect.hpp"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <string>

namespace mcpgate::mcp {
namespace {

constexpr std::string_view kCall =
    R"({"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"delete_repo","arguments":{}}})";
constexpr std::string_view kStatelessCall =
    R"({"jsonrpc":"2.0","id":8,"method":"tools/call","params":{"name":"delete_repo",)"
    R"("_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28",)"
    R"("io.modelcontextprotocol/clientCapabilities":{}}}})";

TEST(Inspect, ACallYieldsItsMethodAndTarget) {
  const Inspection in = inspect(kCall, {});
  ASSERT_EQ(in.verdict, Verdict::Ok) << in.detail;
  ASSERT_EQ(in.calls.size(), 1u);
  EXPECT_EQ(in.calls[0].method, "tools/call");
  EXPECT_TRUE(in.calls[0].has_target);
  EXPECT_EQ(in.calls[0].target, "delete_repo");
  EXPECT_FALSE(in.calls[0].notification);
  EXPECT_EQ(in.id, 7);
}

TEST(Inspect, ResourcesAreNamedByUriAndPromptsByName) {
  const Inspection r =
      inspect(R"({"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///a"}})", {});
  ASSERT_EQ(r.verdict, Verdict::Ok);
  EXPECT_EQ(r.calls[0].target, "file:///a");
  const Inspection p =
      inspect(R"({"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"greet"}})", {});
  ASSERT_EQ(p.verdict, Verdict::Ok);
  EXPECT_EQ(p.calls[0].target, "greet");
  const Inspection l = inspect(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})", {});
  ASSERT_EQ(l.verdict, Verdict::Ok);
  EXPECT_FALSE(l.calls[0].has_target);
}

TEST(Inspect, AMcpMethodHeaderThatDiffersFromTheBodyIsAMismatch) {
  const Inspection in = inspect(kCall, {.method = "tools/list"});
  EXPECT_EQ(in.verdict, Verdict::HeaderMismatch);
  EXPECT_EQ(error_code(in.verdict), -32020);
  EXPECT_EQ(in.id, 7);  // the error answers the request it refuses
}

TEST(Inspect, AMcpNameHeaderThatDiffersFromTheBodyIsAMismatch) {
  EXPECT_EQ(inspect(kCall, {.method = "tools/call", .name = "read_repo"}).verdict, Verdict::HeaderMismatch);
  // A name on a method that names nothing is a mismatch too: a rule may have matched on it.
  EXPECT_EQ(inspect(R"({"jsonrpc":"2.0","id":1,"method":"tools/list"})", {.name = "read_repo"}).verdict,
            Verdict::HeaderMismatch);
  EXPECT_EQ(inspect(kCall, {.method = "tools/call", .name = "delete_repo"}).verdict, Verdict::Ok);
}

TEST(Inspect, HeadersCompareExactlyWithoutCaseFolding) {
  EXPECT_EQ(inspect(kCall, {.method = "Tools/Call"}).verdict, Verdict::HeaderMismatch);
  EXPECT_EQ(inspect(kCall, {.name = "Delete_Repo"}).verdict, Verdict::HeaderMismatch);
}

TEST(Inspect, Base64NamesAreDecodedBeforeComparing) {
  // "délete" is not a plain header value: SEP-2243 sends it as =?base64?...?=.
  const std::string body =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"d\u00e9lete"}})";
  EXPECT_EQ(inspect(body, {.method = "tools/call", .name = "=?base64?ZMOpbGV0ZQ==?="}).verdict, Verdict::Ok);
  EXPECT_EQ(inspect(body, {.method = "tools/call", .name = "=?base64?ZGVsZXRl?="}).verdict,
            Verdict::HeaderMismatch);
  EXPECT_EQ(inspect(body, {.method = "tools/call", .name = "=?base64?not base64?="}).verdict,
            Verdict::HeaderMismatch);
  EXPECT_EQ(decode_header_value("=?base64?YQ==?=").value_or("?"), "a");
  EXPECT_EQ(decode_header_value("plain").value_or("?"), "plain");
  EXPECT_FALSE(decode_header_value("=?base64?YQ=?=").has_value());  // padding that does not fill the quantum
}

TEST(Inspect, OnTheStatelessRevisionMcpMethodIsRequired) {
  const Inspection in = inspect(kStatelessCall, {});
  EXPECT_EQ(in.verdict, Verdict::HeaderMismatch);
  EXPECT_NE(in.detail.find("Mcp-Method"), std::string::npos) << in.detail;
  // The revision may come from the header instead of _meta.
  EXPECT_EQ(inspect(kCall, {.protocol_version = "2026-07-28"}).verdict, Verdict::HeaderMismatch);
  // Before it, absent headers are fine (2025-11-25 clients do not send them).
  EXPECT_EQ(inspect(kCall, {.protocol_version = "2025-11-25"}).verdict, Verdict::Ok);
}

TEST(Inspect, OnTheStatelessRevisionMcpNameIsRequiredWhenTheBodyNamesATarget) {
  EXPECT_EQ(inspect(kStatelessCall, {.method = "tools/call"}).verdict, Verdict::HeaderMismatch);
  EXPECT_EQ(inspect(kStatelessCall, {.method = "tools/call", .name = "delete_repo"}).verdict, Verdict::Ok);
  const std::string list = R"({"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":)"
                           R"({"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}})";
  EXPECT_EQ(inspect(list, {.method = "tools/list"}).verdict,
            Verdict::Ok);  // names nothing: no Mcp-Name needed
}

TEST(Inspect, AProtocolVersionHeaderThatDiffersFromMetaIsAMismatch) {
  EXPECT_EQ(inspect(kStatelessCall,
                    {.method = "tools/call", .name = "delete_repo", .protocol_version = "2025-11-25"})
                .verdict,
            Verdict::HeaderMismatch);
}

TEST(Inspect, DuplicateMemberNamesAreRefusedAtAnyDepth) {
  // Two methods in one body: parsers disagree on which one wins.
  EXPECT_EQ(inspect(R"({"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call"})", {}).verdict,
            Verdict::NotJson);
  EXPECT_EQ(inspect(R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"a","name":"b"}})", {})
                .verdict,
            Verdict::NotJson);
}

TEST(Inspect, OnlyStrictJsonIsRead) {
  for (const char* bad : {"", "{", R"({"jsonrpc":"2.0","id":1,"method":"x"} trailing)",
                          R"({"jsonrpc":"2.0","id":1,"method":"x"} /* c */)", "{'jsonrpc':'2.0'}", "nan"}) {
    const Inspection in = inspect(bad, {});
    EXPECT_EQ(in.verdict, Verdict::NotJson) << bad;
    EXPECT_EQ(error_code(in.verdict), -32700);
  }
}

TEST(Inspect, NestingDeeperThanTheLimitIsRefusedWithoutRecursion) {
  std::string deep = R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":)";
  for (int i = 0; i < 100000; ++i) deep += '[';
  EXPECT_EQ(inspect(deep, {}).verdict, Verdict::NotJson);
  std::string ok = R"({"jsonrpc":"2.0","id":1,"method":"x","params":{"a":)";
  for (int i = 0; i < 60; ++i) ok += '[';
  for (int i = 0; i < 60; ++i) ok += ']';
  ok += "}}";
  EXPECT_EQ(inspect(ok, {}).verdict, Verdict::Ok);
}

TEST(Inspect, NonJsonRpcMessagesAreInvalidRequests) {
  for (const char* bad : {R"({"id":1,"method":"tools/list"})", R"({"jsonrpc":"1.0","id":1,"method":"x"})",
                          R"({"jsonrpc":"2.0","id":1,"method":5})", R"({"jsonrpc":"2.0","id":1,"method":""})",
                          R"({"jsonrpc":"2.0","id":{},"method":"x"})", R"({"jsonrpc":"2.0","id":1})",
                          R"({"jsonrpc":"2.0","method":"x","params":"s"})", R"("tools/call")", "[]"}) {
    const Inspection in = inspect(bad, {});
    EXPECT_EQ(in.verdict, Verdict::InvalidRequest) << bad;
    EXPECT_EQ(error_code(in.verdict), -32600);
  }
}

TEST(Inspect, AResponseFromTheClientCarriesNoMethodAndNoHeaders) {
  const std::string response = R"({"jsonrpc":"2.0","id":"s-1","result":{}})";
  const Inspection in = inspect(response, {});
  ASSERT_EQ(in.verdict, Verdict::Ok);
  EXPECT_TRUE(in.calls[0].method.empty());
  EXPECT_EQ(inspect(response, {.method = "tools/call"}).verdict, Verdict::HeaderMismatch);
}

TEST(Inspect, NotificationsAreCallsWithoutAnId) {
  const Inspection in = inspect(R"({"jsonrpc":"2.0","method":"notifications/initialized"})", {});
  ASSERT_EQ(in.verdict, Verdict::Ok);
  EXPECT_TRUE(in.calls[0].notification);
}

TEST(Inspect, BatchesAreJudgedElementByElementOnlyWhereTheVersionAllowsThem) {
  const std::string batch =
      R"([{"jsonrpc":"2.0","id":1,"method":"tools/list"},)"
      R"({"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_repo"}}])";
  const Inspection old = inspect(batch, {.protocol_version = "2025-03-26"});
  ASSERT_EQ(old.verdict, Verdict::Ok) << old.detail;
  ASSERT_EQ(old.calls.size(), 2u);
  EXPECT_EQ(old.calls[1].target, "delete_repo");  // every element is seen, not only the first
  EXPECT_EQ(inspect(batch, {.protocol_version = "2025-06-18"}).verdict, Verdict::InvalidRequest);
  EXPECT_EQ(inspect(batch, {.protocol_version = "2026-07-28"}).verdict, Verdict::InvalidRequest);
  // A header must match every element that has a method.
  EXPECT_EQ(inspect(batch, {.method = "tools/list"}).verdict, Verdict::HeaderMismatch);
  // An element's own _meta version can rule batches out as well.
  const std::string modern = R"([{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"_meta":)"
                             R"({"io.modelcontextprotocol/protocolVersion":"2026-07-28"}}}])";
  EXPECT_EQ(inspect(modern, {}).verdict, Verdict::InvalidRequest);
}

// A server decodes the body by its charset before parsing: in UTF-7, "+ACIALAAiAG4AYQBtAGUAIgA6ACIAZQB2AGkAbA-"
// is `","name":"evil` — a second name the gateway, reading UTF-8, would not see. Only UTF-8 JSON is read.
TEST(Inspect, OnlyJsonInUtf8WithoutAContentCodingIsRead) {
  const std::string body =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"safe","x":"+ACIALAAiAG4AYQBtAGUAIgA6ACIAZQB2AGkAbA-"}})";
  const Inspection utf7 = inspect(body, {.content_type = "application/json; charset=utf-7"});
  EXPECT_EQ(utf7.verdict, Verdict::UnreadableBody);
  EXPECT_EQ(http_status(utf7.verdict), 415);
  for (const char* bad :
       {"text/plain", "application/json; charset=utf-16", "application/json;charset=\"UTF-7\"",
        "application/jsonx", "application/json; foo=bar"})
    EXPECT_EQ(inspect(body, {.content_type = bad}).verdict, Verdict::UnreadableBody) << bad;
  for (const char* good : {"application/json", "Application/JSON", "application/json; charset=utf-8",
                           "application/json;charset=\"UTF-8\""})
    EXPECT_EQ(inspect(body, {.content_type = good}).verdict, Verdict::Ok) << good;
  EXPECT_EQ(inspect(body, {.content_type = "application/json", .content_encoding = "gzip"}).verdict,
            Verdict::UnreadableBody);
  EXPECT_EQ(inspect(body, {.content_type = "application/json", .content_encoding = "identity"}).verdict,
            Verdict::Ok);
}

TEST(Inspect, TheErrorBodyIsAJsonRpcErrorWithTheRequestsId) {
  const Inspection in = inspect(kCall, {.method = "tools/list"});
  const auto body = nlohmann::json::parse(error_body(in));
  EXPECT_EQ(body["jsonrpc"], "2.0");
  EXPECT_EQ(body["id"], 7);
  EXPECT_EQ(body["error"]["code"], -32020);
  EXPECT_NE(body["error"]["message"].get<std::string>().find("Mcp-Method"), std::string::npos);
  EXPECT_TRUE(nlohmann::json::parse(error_body(inspect("{", {})))["id"].is_null());
}

}  // namespace
}  // namespace mcpgate::mcp
