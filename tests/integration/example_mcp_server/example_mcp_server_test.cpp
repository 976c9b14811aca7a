// Integration: the real examples/mcp-server binary (`mcpgate_example_mcp_server --port 0`) over loopback —
// sessions, tools, SSE streaming that really streams, the GET tick stream, bad input, SIGTERM → exit 0.
//
//   ctest -R ExampleMcpServer
#include <gtest/gtest.h>
#include <httplib.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <thread>

#include "support/child_process.hpp"

namespace mcpgate {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr const char* kPath = "/mcp";

// One SSE event as the client saw it: its JSON-RPC message and when it arrived.
struct Event {
  json message;
  Clock::time_point arrived;
};

// Splits a growing SSE byte stream into events (`data:` lines, blank-line terminated).
class SseReader {
 public:
  void feed(const char* data, size_t len) {
    buffer_.append(data, len);
    for (size_t end; (end = buffer_.find("\n\n")) != std::string::npos;) {
      std::string block = buffer_.substr(0, end);
      buffer_.erase(0, end + 2);
      for (size_t pos = 0; pos < block.size();) {
        size_t eol = block.find('\n', pos);
        if (eol == std::string::npos) eol = block.size();
        std::string line = block.substr(pos, eol - pos);
        if (line.rfind("data: ", 0) == 0) events.push_back({json::parse(line.substr(6)), Clock::now()});
        pos = eol + 1;
      }
    }
  }
  std::vector<Event> events;

 private:
  std::string buffer_;
};

class ExampleMcpServer : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = ::testing::TempDir() + "mcpgate-example-mcp-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    server_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{MCPGATE_EXAMPLE_MCP_SERVER, "--port", "0", "--path", kPath, "--tick-ms",
                                 "100"},
        dir_ + "/output.log");
    // The server's one stdout line names the port it bound: poll for it (bounded).
    const std::string prefix = "listening on http://127.0.0.1:";
    for (auto deadline = Clock::now() + 10s; Clock::now() < deadline && port_ == 0;) {
      const std::string out = server_->stderr_text();
      const size_t at = out.find(prefix);
      if (at != std::string::npos && out.find(kPath, at) != std::string::npos)
        port_ = std::stoi(out.substr(at + prefix.size()));
      else
        std::this_thread::sleep_for(10ms);
    }
    ASSERT_GT(port_, 0) << "no 'listening on' line: " << server_->stderr_text();
  }
  void TearDown() override {
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(5);
    return c;
  }
  httplib::Headers headers(const std::string& session = "") {
    httplib::Headers h{{"Accept", "application/json, text/event-stream"}};
    if (!session.empty()) h.emplace("Mcp-Session-Id", session);
    return h;
  }
  static json request(int id, const std::string& method, json params = json::object()) {
    return {{"jsonrpc", "2.0"}, {"id", id}, {"method", method}, {"params", params}};
  }
  httplib::Result post(const json& message, const std::string& session) {
    return client().Post(kPath, headers(session), message.dump(), "application/json");
  }
  // Runs initialize + notifications/initialized, as a client does; returns the session id.
  std::string start_session() {
    auto res = post(request(1, "initialize",
                            {{"protocolVersion", "2025-06-18"},
                             {"capabilities", json::object()},
                             {"clientInfo", {{"name", "test"}, {"version", "1"}}}}),
                    "");
    if (!res || res->status != 200) return "";
    std::string session = res->get_header_value("Mcp-Session-Id");
    auto ack = post({{"jsonrpc", "2.0"}, {"method", "notifications/initialized"}}, session);
    return ack && ack->status == 202 ? session : "";
  }

  std::string dir_;
  int port_ = 0;
  std::unique_ptr<testing::ChildProcess> server_;
};

TEST_F(ExampleMcpServer, InitializeGivesFreshSessionIdAndNegotiatesProtocolVersion) {
  auto res = post(
      request(1, "initialize", {{"protocolVersion", "2025-03-26"}, {"capabilities", json::object()}}), "");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  const std::string session = res->get_header_value("Mcp-Session-Id");
  EXPECT_EQ(session.size(), 32u);  // 128 bits, hex
  EXPECT_EQ(session.find_first_not_of("0123456789abcdef"), std::string::npos);
  auto result = json::parse(res->body)["result"];
  EXPECT_EQ(result["protocolVersion"], "2025-03-26");
  EXPECT_EQ(result["serverInfo"]["name"], "mcpgate-example");
  EXPECT_EQ(result["capabilities"]["tools"]["listChanged"], false);
  EXPECT_TRUE(result["capabilities"].contains("logging"));

  auto newer = post(request(1, "initialize", {{"protocolVersion", "2099-01-01"}}), "");
  ASSERT_TRUE(newer);
  EXPECT_EQ(json::parse(newer->body)["result"]["protocolVersion"], "2025-06-18");
  EXPECT_NE(newer->get_header_value("Mcp-Session-Id"), session);
}

TEST_F(ExampleMcpServer, ToolsListNamesEchoWhoamiAndCountdownWithObjectSchemas) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  auto res = post(request(2, "tools/list"), session);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  auto tools = json::parse(res->body)["result"]["tools"];
  ASSERT_EQ(tools.size(), 3u);
  std::vector<std::string> names;
  for (const auto& t : tools) {
    names.push_back(t["name"]);
    EXPECT_EQ(t["inputSchema"]["type"], "object") << t.dump();
  }
  EXPECT_EQ(names, (std::vector<std::string>{"echo", "whoami", "countdown"}));
  EXPECT_EQ(tools[0]["inputSchema"]["properties"]["text"]["type"], "string");
  EXPECT_EQ(tools[2]["inputSchema"]["properties"]["from"]["type"], "integer");
}

TEST_F(ExampleMcpServer, EchoReturnsTheTextAsTextContent) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  auto res = post(request(3, "tools/call", {{"name", "echo"}, {"arguments", {{"text", "hello, gateway"}}}}),
                  session);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200);
  auto body = json::parse(res->body);
  EXPECT_EQ(body["id"], 3);
  EXPECT_EQ(body["result"]["content"], json::parse(R"([{"type":"text","text":"hello, gateway"}])"));

  auto bad = post(request(4, "tools/call", {{"name", "echo"}, {"arguments", {{"text", 42}}}}), session);
  ASSERT_TRUE(bad);
  EXPECT_EQ(json::parse(bad->body)["error"]["code"], -32602);
}

TEST_F(ExampleMcpServer, WhoamiShowsTheIdentityHeadersItReceived) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  auto h = headers(session);
  h.emplace("X-Auth-Subject", "user-123");
  h.emplace("X-Auth-Scopes", "mcp:read mcp:write");
  auto res =
      client().Post(kPath, h, request(5, "tools/call", {{"name", "whoami"}}).dump(), "application/json");
  ASSERT_TRUE(res);
  auto who = json::parse(json::parse(res->body)["result"]["content"][0]["text"].get<std::string>());
  EXPECT_EQ(who, json({{"X-Auth-Subject", "user-123"},
                       {"X-Auth-Scopes", "mcp:read mcp:write"},
                       {"X-Auth-Client-Id", ""},
                       {"X-Auth-Organization", ""},
                       {"X-Auth-Source", ""}}));
}

TEST_F(ExampleMcpServer, CountdownOverSseDeliversProgressEventsBeforeTheResultAsTheyHappen) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  constexpr int kFrom = 5, kIntervalMs = 200;
  httplib::Request req;
  req.method = "POST";
  req.path = kPath;
  req.headers = headers(session);
  req.headers.emplace("Content-Type", "application/json");
  req.body = request(6, "tools/call",
                     {{"name", "countdown"},
                      {"arguments", {{"from", kFrom}, {"interval_ms", kIntervalMs}}},
                      {"_meta", {{"progressToken", "tok-1"}}}})
                 .dump();
  SseReader sse;
  req.content_receiver = [&](const char* data, size_t len, uint64_t, uint64_t) {
    sse.feed(data, len);
    return true;
  };
  const auto started = Clock::now();
  auto res = client().send(req);
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");

  ASSERT_EQ(sse.events.size(), static_cast<size_t>(kFrom + 1));
  for (int i = 0; i < kFrom; ++i) {
    const json& n = sse.events[i].message;
    EXPECT_EQ(n["method"], "notifications/progress") << n.dump();
    EXPECT_EQ(n["params"]["progressToken"], "tok-1");
    EXPECT_EQ(n["params"]["progress"], i + 1);
    EXPECT_EQ(n["params"]["total"], kFrom);
  }
  const json& last = sse.events.back().message;
  EXPECT_EQ(last["id"], 6);
  EXPECT_EQ(last["result"]["content"][0]["text"], "liftoff");
  // Streaming, not buffering: the server waits kFrom * kIntervalMs (1 s) between sending the first progress
  // event and the result, so the first must arrive well before the result does. (Only this lower bound: an
  // upper bound on when the first event arrives would measure the machine's load, not the server.)
  const auto spread = sse.events.back().arrived - sse.events.front().arrived;
  EXPECT_GE(spread, std::chrono::milliseconds((kFrom - 2) * kIntervalMs));
  EXPECT_LT(Clock::now() - started, 5s);
}

TEST_F(ExampleMcpServer, CountdownWithoutSseAcceptAnswersPlainJson) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  auto res = client().Post(
      kPath, {{"Accept", "application/json"}, {"Mcp-Session-Id", session}},
      request(7, "tools/call", {{"name", "countdown"}, {"arguments", {{"from", 2}, {"interval_ms", 10}}}})
          .dump(),
      "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->get_header_value("Content-Type"), "application/json");
  EXPECT_EQ(json::parse(res->body)["result"]["content"][0]["text"], "liftoff");
}

TEST_F(ExampleMcpServer, CountdownRejectsArgumentsOutsideItsSchemaAsInvalidParams) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  for (const char* args : {R"({})", R"({"from":0})", R"({"from":21})", R"({"from":"3"})", R"({"from":2.5})",
                           R"({"from":4294967297})", R"({"from":18446744073709551615})",
                           R"({"from":2,"interval_ms":-1})", R"({"from":2,"interval_ms":10001})"}) {
    auto res =
        post(request(13, "tools/call", {{"name", "countdown"}, {"arguments", json::parse(args)}}), session);
    ASSERT_TRUE(res) << args;
    EXPECT_EQ(json::parse(res->body)["error"]["code"], -32602) << args;
  }
}

TEST_F(ExampleMcpServer, MissingSessionIs400AndUnknownSessionIs404) {
  auto missing = post(request(8, "tools/list"), "");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 400);
  auto unknown = post(request(8, "tools/list"), "00000000000000000000000000000000");
  ASSERT_TRUE(unknown);
  EXPECT_EQ(unknown->status, 404);
  auto get_unknown = client().Get(kPath, {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", "nope"}});
  ASSERT_TRUE(get_unknown);
  EXPECT_EQ(get_unknown->status, 404);
}

TEST_F(ExampleMcpServer, NotificationGets202WithEmptyBodyAndPingGetsEmptyResult) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  auto note = post(
      {{"jsonrpc", "2.0"}, {"method", "notifications/cancelled"}, {"params", {{"requestId", 1}}}}, session);
  ASSERT_TRUE(note);
  EXPECT_EQ(note->status, 202);
  EXPECT_TRUE(note->body.empty());
  auto ping = post(request(9, "ping"), session);
  ASSERT_TRUE(ping);
  EXPECT_EQ(json::parse(ping->body)["result"], json::object());
}

TEST_F(ExampleMcpServer, UnknownMethodIsJsonRpcMethodNotFound) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  auto res = post(request(10, "resources/list"), session);
  ASSERT_TRUE(res);
  auto body = json::parse(res->body);
  EXPECT_EQ(body["id"], 10);
  EXPECT_EQ(body["error"]["code"], -32601);
}

TEST_F(ExampleMcpServer, DeleteEndsTheSessionAndLaterUseIs404) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  auto del = client().Delete(kPath, {{"Mcp-Session-Id", session}});
  ASSERT_TRUE(del);
  EXPECT_EQ(del->status, 200);
  auto after = post(request(11, "ping"), session);
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 404);
  auto again = client().Delete(kPath, {{"Mcp-Session-Id", session}});
  ASSERT_TRUE(again);
  EXPECT_EQ(again->status, 404);
}

TEST_F(ExampleMcpServer, MalformedJsonIs400ParseErrorAndTheServerKeepsAnswering) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  for (const char* junk : {"{not json", "", "[1,2]", "42", R"({"jsonrpc":"2.0","id":{},"method":"ping"})",
                           R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":7}})"}) {
    auto res = client().Post(kPath, headers(session), junk, "application/json");
    ASSERT_TRUE(res) << junk;
    EXPECT_NE(res->status, 500) << junk;
  }
  auto bad = client().Post(kPath, headers(session), "{not json", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  auto error = json::parse(bad->body);
  EXPECT_EQ(error["error"]["code"], -32700);
  EXPECT_TRUE(error["id"].is_null());
  auto ping = post(request(12, "ping"), session);
  ASSERT_TRUE(ping);
  EXPECT_EQ(ping->status, 200);
}

TEST_F(ExampleMcpServer, GetStreamDeliversLoggingTicksAndGetWithoutSseAcceptIs405) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  auto plain = client().Get(kPath, {{"Mcp-Session-Id", session}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 405);
  auto no_session = client().Get(kPath, {{"Accept", "text/event-stream"}});
  ASSERT_TRUE(no_session);
  EXPECT_EQ(no_session->status, 400);

  SseReader sse;
  const auto started = Clock::now();
  // Hang up after two ticks (the receiver returning false); --tick-ms 100 makes that ~200 ms.
  client().Get(kPath, {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}},
               [&](const char* data, size_t len) {
                 sse.feed(data, len);
                 return sse.events.size() < 2 && Clock::now() - started < 5s;
               });
  ASSERT_EQ(sse.events.size(), 2u);
  EXPECT_EQ(sse.events[0].message["method"], "notifications/message");
  EXPECT_EQ(sse.events[0].message["params"]["level"], "info");
  EXPECT_EQ(sse.events[0].message["params"]["data"], "tick 1");
  EXPECT_EQ(sse.events[1].message["params"]["data"], "tick 2");
}

TEST_F(ExampleMcpServer, SigtermWithAnOpenStreamExitsZero) {
  const std::string session = start_session();
  ASSERT_FALSE(session.empty());
  std::atomic<int> ticks{0};
  std::thread stream([&] {
    client().Get(kPath, {{"Accept", "text/event-stream"}, {"Mcp-Session-Id", session}},
                 [&](const char*, size_t) { return ++ticks < 1000; });
  });
  for (auto deadline = Clock::now() + 5s; ticks == 0 && Clock::now() < deadline;)
    std::this_thread::sleep_for(10ms);
  EXPECT_GT(ticks, 0);
  const auto before = Clock::now();
  EXPECT_EQ(server_->stop(SIGTERM, 10s), 0) << server_->stderr_text();
  EXPECT_LT(Clock::now() - before, 5s);
  stream.join();  // the server closed the stream, so the client's read ends
}

}  // namespace
}  // namespace mcpgate
