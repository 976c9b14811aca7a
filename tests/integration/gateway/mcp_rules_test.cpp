// Integration: `mcpgate serve` on an MCP route with [[routes.rules]], in front of the recording upstream, over
// loopback; and the embedded Guard's check() with a body. Each test states one rule of the MCP stage
// (src/http/guard_mcp.cpp); a refused request must never reach the upstream.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <mcpgate/guard.hpp>
#include <nlohmann/json.hpp>
#include <thread>

#include "auth/token_digest.hpp"
#include "jose/test_signer.hpp"
#include "support/child_process.hpp"
#include "support/upstream_server.hpp"

namespace mcpgate {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

constexpr const char* kReader = "reader-static-token-0123456789";
constexpr const char* kWriter = "writer-static-token-0123456789";
constexpr const char* kIssuer = "https://as.example.org";
constexpr const char* kAudience = "https://mcp.example.com/json";

// The route's rules: read tools open to every token with mcp:read, write tools behind mcp:write, one admin tool
// for one organization, one tool nobody may call.
std::string rules_toml(const std::string& prefix, const std::string& upstream, const std::string& extra) {
  return "[[routes]]\nprefix = \"" + prefix + "\"\nscopes = [\"mcp:read\"]\nupstream = \"" + upstream +
         "\"\n" + extra +
         "[[routes.rules]]\nname = \"no-sql\"\nmethod = \"tools/call\"\ntarget = \"run_sql\"\ndeny = true\n"
         "[[routes.rules]]\nname = \"admin\"\nmethod = \"tools/call\"\ntarget = \"delete_workspace\"\n"
         "scopes = [\"mcp:admin\"]\norganizations = [\"org-acme\"]\n"
         "[[routes.rules]]\nname = \"writes\"\nmethod = \"tools/call\"\ntarget = \"create_*\"\n"
         "scopes = [\"mcp:write\"]\n"
         "[[routes.rules]]\nname = \"private-prompts\"\nmethod = \"prompts/get\"\ntarget = \"internal_*\"\n"
         "scopes = [\"mcp:write\"]\n\n";
}

std::string tools_call(const std::string& name, int id = 1) {
  return json{{"jsonrpc", "2.0"},
              {"id", id},
              {"method", "tools/call"},
              {"params", {{"name", name}, {"arguments", json::object()}}}}
      .dump();
}

// A TCP connection to 127.0.0.1:port whose reads give up after 5 s; -1 when it cannot connect.
int connect_loopback(int port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in dst{};
  dst.sin_family = AF_INET;
  dst.sin_port = htons(static_cast<uint16_t>(port));
  ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// An MCP server's list answers on 127.0.0.1: tools/list, prompts/list, resources/list as JSON, or as an SSE
// stream (a progress notification, then the response) when the path ends in /sse; /broken sends invalid UTF-8.
class ListUpstream {
 public:
  ListUpstream() {
    auto answer = [](const httplib::Request& req, httplib::Response& res) {
      const json request = json::parse(req.body, nullptr, false);
      const std::string method = request.is_object() ? request.value("method", "") : "";
      json result;
      if (method == "tools/list")
        result = {
            {"tools", json::array({{{"name", "read_page"}, {"inputSchema", {{"type", "object"}}}},
                                   {{"name", "create_page"}, {"inputSchema", {{"type", "object"}}}},
                                   {{"name", "run_sql"}, {"inputSchema", {{"type", "object"}}}},
                                   {{"name", "delete_workspace"}, {"inputSchema", {{"type", "object"}}}}})}};
      else if (method == "prompts/list")
        result = {{"prompts", json::array({{{"name", "summary"}}, {{"name", "internal_plan"}}})}};
      else
        result = {{"resources", json::array({{{"uri", "file:///a"}, {"name", "a"}}})}};
      if (method == "subscriptions/listen") {  // a long-lived stream: one event, then quiet until stopped
        auto started = std::make_shared<bool>(false);
        res.set_chunked_content_provider(
            "text/event-stream", [started](std::size_t, httplib::DataSink& sink) {
              if (!*started) {
                *started = true;
                const std::string ev =
                    "event: message\ndata: "
                    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}\n\n";
                return sink.write(ev.data(), ev.size());
              }
              std::this_thread::sleep_for(std::chrono::milliseconds(50));
              return sink.is_writable();
            });
        return;
      }
      const std::string body = json{
          {"jsonrpc", "2.0"},
          {"id", request.is_object() ? request["id"] : json()},
          {"result", result}}.dump();
      if (req.path.ends_with("/sse")) {
        res.set_content(
            "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
            "\"params\":{\"progress\":1,\"progressToken\":\"run_sql\"}}\n\n"
            "id: 7\nevent: message\ndata: " +
                body + "\n\n",
            "text/event-stream");
      } else if (req.path.ends_with("/gzip")) {  // coded although the gateway asked for identity
        res.set_header("Content-Encoding", "gzip");
        res.set_content(body, "application/json");
      } else if (req.path.ends_with("/broken")) {
        res.set_content(body.substr(0, body.size() - 2) + ",\"x\":\"\xff\"}}", "application/json");
      } else {
        // Like a server that compresses when asked (the label alone: the gateway must never ask on a list).
        if (req.get_header_value("Accept-Encoding").find("gzip") != std::string::npos)
          res.set_header("Content-Encoding", "gzip");
        res.set_content(body, "application/json");
      }
    };
    server_.Post(R"(/lists.*)", answer);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
  }
  ~ListUpstream() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

class McpRules : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path().string() + "/mcpgate-mcp-rules-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    std::ofstream(dir_ + "/jwks.json") << jose::testing::jwks_json(
        {jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048).public_jwk("kid-1")});
    const std::string up = "http://127.0.0.1:" + std::to_string(upstream_.port());
    std::ofstream conf(dir_ + "/mcpgate.toml");
    conf << "[server]\npublic_url = \"" << kAudience << "\"\nlisten_address = \"127.0.0.1\"\nport = 0\n"
         << "threads = 1\ntrusted_proxies = [\"127.0.0.1\"]\n\n"
         << "[gateway]\nheader_timeout = 2\ninspect_max_bytes = 4096\nmax_streams_per_principal = 1\n\n"
         << "[admin]\nport = 0\n\n"
         << "[[issuers]]\nissuer = \"" << kIssuer << "\"\naudiences = [\"" << kAudience << "\"]\n"
         << "jwks_file = \"" << dir_ << "/jwks.json\"\n\n";
    for (auto [name, token, scopes] : {std::tuple{"reader", kReader, "\"mcp:read\""},
                                       std::tuple{"writer", kWriter, "\"mcp:read\", \"mcp:write\""}})
      conf << "[[static_tokens]]\nname = \"" << name << "\"\nsha256 = \""
           << auth::digest_hex(auth::digest_token(token)) << "\"\nscopes = [" << scopes << "]\n\n";
    conf << rules_toml("/json", up, "") << rules_toml("/chatgpt", up + "/json", "step_up = \"tool_result\"\n")
         << rules_toml("/lists", "http://127.0.0.1:" + std::to_string(lists_.port()), "");
    conf.close();
    serve_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{MCPGATE_BINARY, "serve", "--config", dir_ + "/mcpgate.toml"},
        dir_ + "/stderr.log");
    const auto listening = testing::wait_for_log_event(*serve_, "listening", 20s);
    ASSERT_TRUE(listening) << "mcpgate serve did not listen: " << serve_->stderr_text();
    port_ = listening->value("port", 0);
    admin_port_ = listening->value("admin_port", 0);
  }

  void TearDown() override {
    if (serve_) serve_->stop(SIGTERM, 10s);
    const std::string logged = serve_ ? serve_->stderr_text() : "";
    for (const std::string& secret : {std::string(kReader), std::string(kWriter), jwt_}) {
      if (!secret.empty()) {
        EXPECT_EQ(logged.find(secret), std::string::npos) << "a token reached the log";
      }
    }
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  httplib::Client client() {
    httplib::Client c("127.0.0.1", port_);
    c.set_connection_timeout(2);
    c.set_read_timeout(10);
    return c;
  }
  static httplib::Headers headers(const std::string& token, httplib::Headers extra = {}) {
    extra.emplace("Authorization", "Bearer " + token);
    extra.emplace("Accept", "application/json, text/event-stream");
    return extra;
  }
  httplib::Result post(const std::string& path, const std::string& token, const std::string& body,
                       httplib::Headers extra = {}, const std::string& type = "application/json") {
    return client().Post(path, headers(token, std::move(extra)), body, type);
  }
  std::size_t upstream_count() const { return upstream_.requests().size(); }
  std::string sign_jwt(const json& extra_claims) {
    json payload = {{"iss", kIssuer},
                    {"sub", "user-jwt-1"},
                    {"aud", kAudience},
                    {"exp", std::time(nullptr) + 600},
                    {"scope", "mcp:read mcp:admin"}};
    payload.update(extra_claims);
    jwt_ = jose::testing::sign_token(jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048), "RS256",
                                     {{"alg", "RS256"}, {"kid", "kid-1"}, {"typ", "at+jwt"}}, payload);
    return jwt_;
  }
  // One raw request on a fresh connection; everything received until the gateway closes or 5 s pass.
  std::string raw(const std::string& bytes) {
    const int fd = connect_loopback(port_);
    EXPECT_GE(fd, 0);
    EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
    std::string out;
    char buf[4096];
    for (int i = 0; i < 1000; ++i) {
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    return out;
  }
  static json error_of(const httplib::Result& r) {
    json j = json::parse(r->body, nullptr, false);
    return j.is_object() && j.contains("error") ? j["error"] : json();
  }

  testing::UpstreamServer upstream_;
  ListUpstream lists_;
  std::string dir_;
  int port_ = 0;
  int admin_port_ = 0;
  std::string jwt_;
  std::unique_ptr<testing::ChildProcess> serve_;
};

TEST_F(McpRules, ToolNoRuleNamesReachesTheUpstreamWithTheBodyByteIdentical) {
  const std::string body = tools_call("read_page");
  auto r = post("/json", kReader, body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  ASSERT_EQ(upstream_count(), 1u);
  EXPECT_EQ(upstream_.last_request().body, body);
  EXPECT_EQ(upstream_.last_request().header("Content-Length"), std::to_string(body.size()));
}

TEST_F(McpRules, ToolNeedingAScopeTheTokenLacksIs403WithTheUnionScopeAndNeverForwarded) {
  auto r = post("/json", kReader, tools_call("create_page"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  const std::string challenge = r->get_header_value("WWW-Authenticate");
  EXPECT_NE(challenge.find("error=\"insufficient_scope\""), std::string::npos) << challenge;
  // What the token holds plus what the tool needs: the client asks for exactly this (MCP step-up).
  EXPECT_NE(challenge.find("scope=\"mcp:read mcp:write\""), std::string::npos) << challenge;
  EXPECT_NE(challenge.find(
                "resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource/json\""),
            std::string::npos)
      << challenge;
  EXPECT_EQ(upstream_count(), 0u);
  // The same token may call what no rule names, and a token with the scope may call the tool.
  EXPECT_EQ(post("/json", kReader, tools_call("read_page"))->status, 200);
  EXPECT_EQ(post("/json", kWriter, tools_call("create_page"))->status, 200);
  EXPECT_EQ(upstream_count(), 2u);
}

TEST_F(McpRules, PromptRuleMatchesPromptsGetByName) {
  const std::string body =
      R"({"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"internal_plan"}})";
  EXPECT_EQ(post("/json", kReader, body)->status, 403);
  EXPECT_EQ(post("/json", kWriter, body)->status, 200);
  EXPECT_EQ(upstream_count(), 1u);
}

TEST_F(McpRules, DenyRuleIsA403JsonRpcErrorWithTheRequestsIdAndNoChallenge) {
  auto r = post("/json", kWriter, tools_call("run_sql", 77));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_FALSE(r->has_header("WWW-Authenticate")) << "a deny is not fixable by a step-up";
  const json body = json::parse(r->body);
  EXPECT_EQ(body["jsonrpc"], "2.0");
  EXPECT_EQ(body["id"], 77);
  EXPECT_EQ(body["error"]["code"], -32003);
  EXPECT_EQ(upstream_count(), 0u);
}

TEST_F(McpRules, OrganizationRuleRefusesAnotherOrganizationEvenWithTheScope) {
  const std::string other =
      sign_jwt({{"https://stytch.com/organization", {{"organization_id", "org-other"}}}});
  auto r = post("/json", other, tools_call("delete_workspace"));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403);
  EXPECT_FALSE(r->has_header("WWW-Authenticate")) << "another organization cannot step up into this one";
  EXPECT_EQ(upstream_count(), 0u);
  const std::string member =
      sign_jwt({{"https://stytch.com/organization", {{"organization_id", "org-acme"}}}});
  EXPECT_EQ(post("/json", member, tools_call("delete_workspace"))->status, 200);
  const std::string member_without_scope = sign_jwt(
      {{"scope", "mcp:read"}, {"https://stytch.com/organization", {{"organization_id", "org-acme"}}}});
  auto s = post("/json", member_without_scope, tools_call("delete_workspace"));
  EXPECT_EQ(s->status, 403);
  EXPECT_NE(s->get_header_value("WWW-Authenticate").find("scope=\"mcp:read mcp:admin\""), std::string::npos);
  EXPECT_EQ(upstream_count(), 1u);
}

TEST_F(McpRules, HeaderThatNamesAnAllowedToolWhileTheBodyCallsAnotherIs400Minus32020) {
  // The confused-deputy attack: a gateway that authorized on Mcp-Name would let run_sql through.
  auto r = post("/json", kWriter, tools_call("run_sql"),
                {{"Mcp-Method", "tools/call"}, {"Mcp-Name", "read_page"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(error_of(r)["code"], -32020);
  auto m = post("/json", kWriter, tools_call("run_sql"), {{"Mcp-Method", "tools/list"}});
  EXPECT_EQ(m->status, 400);
  EXPECT_EQ(error_of(m)["code"], -32020);
  EXPECT_EQ(upstream_count(), 0u);
}

TEST_F(McpRules, StatelessRevisionWithoutItsRequiredHeadersIs400Minus32020) {
  auto r = post("/json", kWriter, tools_call("read_page"), {{"MCP-Protocol-Version", "2026-07-28"}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(error_of(r)["code"], -32020);
  auto ok =
      post("/json", kWriter, tools_call("read_page"),
           {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "tools/call"}, {"Mcp-Name", "read_page"}});
  EXPECT_EQ(ok->status, 200) << ok->body;
  EXPECT_EQ(upstream_count(), 1u);
}

TEST_F(McpRules, TargetThatIsNotAStringCannotSlipPastARuleOnTheTarget) {
  for (const char* body : {R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":["run_sql"]}})",
                           R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":["run_sql"]})",
                           R"({"jsonrpc":"2.0","id":1,"method":"tools/call"})"}) {
    auto r = post("/json", kWriter, body);
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400) << body;
    EXPECT_EQ(error_of(r)["code"], -32600) << body;
  }
  EXPECT_EQ(upstream_count(), 0u);
}

TEST_F(McpRules, DuplicateMemberNameThatCouldHideASecondToolIsRefused) {
  const std::string body =
      R"({"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"read_page","name":"run_sql"}})";
  auto r = post("/json", kWriter, body);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 400);
  EXPECT_EQ(error_of(r)["code"], -32700);
  EXPECT_EQ(upstream_count(), 0u);
}

TEST_F(McpRules, BodyThatIsNotJsonInUtf8Is415AndCodedBodiesAreNotRead) {
  EXPECT_EQ(post("/json", kWriter, tools_call("read_page"), {}, "text/plain")->status, 415);
  EXPECT_EQ(post("/json", kWriter, tools_call("read_page"), {}, "application/json; charset=utf-7")->status,
            415);
  EXPECT_EQ(post("/json", kWriter, tools_call("read_page"), {{"Content-Encoding", "gzip"}})->status, 415);
  EXPECT_EQ(upstream_count(), 0u);
}

TEST_F(McpRules, ChunkedBodyIsJudgedDecodedAndForwardedWithItsLength) {
  const std::string denied = tools_call("create_page");
  auto chunked = [](const std::string& token, const std::string& body) {
    const std::string half = body.substr(0, body.size() / 2), rest = body.substr(body.size() / 2);
    char a[16], b[16];
    std::snprintf(a, sizeof a, "%zx", half.size());
    std::snprintf(b, sizeof b, "%zx", rest.size());
    return "POST /json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
           "\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
           "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
           std::string(a) + "\r\n" + half + "\r\n" + b + "\r\n" + rest + "\r\n0\r\n\r\n";
  };
  const std::string refused = raw(chunked(kReader, denied));
  EXPECT_EQ(refused.rfind("HTTP/1.1 403", 0), 0u) << refused;
  EXPECT_EQ(upstream_count(), 0u);
  const std::string allowed = raw(chunked(kWriter, denied));
  EXPECT_EQ(allowed.rfind("HTTP/1.1 200", 0), 0u) << allowed;
  ASSERT_EQ(upstream_count(), 1u);
  EXPECT_EQ(upstream_.last_request().body, denied);
  EXPECT_EQ(upstream_.last_request().header("Content-Length"), std::to_string(denied.size()));
  EXPECT_FALSE(upstream_.last_request().has_header("Transfer-Encoding"));
}

TEST_F(McpRules, BodyAfterA100ContinueIsJudgedLikeAnyOther) {
  const std::string body = tools_call("run_sql");
  const std::string head =
      "POST /json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kWriter) +
      "\r\nContent-Type: application/json\r\nExpect: 100-continue\r\nConnection: close\r\n"
      "Content-Length: " +
      std::to_string(body.size()) + "\r\n\r\n";
  const int fd = connect_loopback(port_);
  ASSERT_GE(fd, 0);
  ::send(fd, head.data(), head.size(), MSG_NOSIGNAL);
  char buf[4096];
  const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(buf, static_cast<std::size_t>(n)).rfind("HTTP/1.1 100 Continue\r\n\r\n", 0), 0u);
  ::send(fd, body.data(), body.size(), MSG_NOSIGNAL);
  std::string out;
  for (int i = 0; i < 100; ++i) {
    const ssize_t m = ::recv(fd, buf, sizeof buf, 0);
    if (m <= 0) break;
    out.append(buf, static_cast<std::size_t>(m));
  }
  ::close(fd);
  EXPECT_NE(out.find("HTTP/1.1 403"), std::string::npos) << out;
  EXPECT_EQ(upstream_count(), 0u);
}

TEST_F(McpRules, BodyOverInspectMaxBytesIs413AndNeverForwarded) {
  json big = json::parse(tools_call("read_page"));
  big["params"]["arguments"]["text"] = std::string(5000, 'x');
  auto r = post("/json", kWriter, big.dump());
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(upstream_count(), 0u);
}

TEST_F(McpRules, BatchIsJudgedElementByElementAndTheStrictestAnswers) {
  const std::string batch = "[" + tools_call("read_page", 1) + "," + tools_call("create_page", 2) + "]";
  auto r = post("/json", kReader, batch);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 403) << r->body;
  EXPECT_NE(r->get_header_value("WWW-Authenticate").find("insufficient_scope"), std::string::npos);
  const std::string with_denied = "[" + tools_call("create_page", 1) + "," + tools_call("run_sql", 2) + "]";
  auto d = post("/json", kWriter, with_denied);
  EXPECT_EQ(d->status, 403);
  EXPECT_FALSE(d->has_header("WWW-Authenticate"));
  // From 2025-06-18 on there are no batches at all.
  auto v =
      post("/json", kWriter, "[" + tools_call("read_page") + "]", {{"MCP-Protocol-Version", "2025-06-18"}});
  EXPECT_EQ(v->status, 400);
  EXPECT_EQ(upstream_count(), 0u);
  EXPECT_EQ(post("/json", kWriter, batch)->status, 200);
}

TEST_F(McpRules, InBandStepUpIsA200IsErrorToolResultCarryingTheChallengeInMeta) {
  auto r = post("/chatgpt", kReader, tools_call("create_page", 9));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_FALSE(r->has_header("WWW-Authenticate"));
  const json body = json::parse(r->body);
  EXPECT_EQ(body["id"], 9);
  EXPECT_EQ(body["result"]["isError"], true);
  const json& challenges = body["result"]["_meta"]["mcp/www_authenticate"];
  ASSERT_TRUE(challenges.is_array() && challenges.size() == 1) << r->body;
  const std::string challenge = challenges[0];
  EXPECT_NE(challenge.find("error=\"insufficient_scope\""), std::string::npos) << challenge;
  EXPECT_NE(challenge.find("scope=\"mcp:read mcp:write\""), std::string::npos) << challenge;
  EXPECT_NE(
      challenge.find("resource_metadata=\"https://mcp.example.com/.well-known/oauth-protected-resource"),
      std::string::npos)
      << challenge;
  EXPECT_EQ(upstream_count(), 0u);
  // Only tools/call has a result of that shape: a prompt still gets the 403.
  auto p = post("/chatgpt", kReader,
                R"({"jsonrpc":"2.0","id":4,"method":"prompts/get","params":{"name":"internal_x"}})");
  EXPECT_EQ(p->status, 403);
}

TEST_F(McpRules, OpaqueRequestsOfTheRouteStillNeedOnlyTheRoutesScopes) {
  // GET (the 2025 event stream) and DELETE (session end) carry no JSON-RPC body: the route's scopes decide.
  auto g = client().Get("/json", headers(kReader));
  ASSERT_TRUE(g);
  EXPECT_EQ(g->status, 200);
  auto anon = client().Post("/json", tools_call("read_page"), "application/json");
  EXPECT_EQ(anon->status, 401) << "the head is judged before the body is read";
}

TEST_F(McpRules, AccessLogAndMetricsNameTheMethodTheTargetAndTheRule) {
  post("/json", kReader, tools_call("create_page"));
  post("/json", kWriter, tools_call("run_sql"));
  post("/json", kReader, R"({"jsonrpc":"2.0","id":2,"method":"tools/list"})");
  bool saw_step_up = false, saw_deny = false, saw_list = false;
  for (int i = 0; i < 50 && !(saw_step_up && saw_deny && saw_list); ++i) {
    std::this_thread::sleep_for(50ms);
    saw_step_up = saw_deny = saw_list = false;
    std::istringstream lines(serve_->stderr_text());
    for (std::string line; std::getline(lines, line);) {
      const json j = json::parse(line, nullptr, false);
      if (!j.is_object() || j.value("msg", "") != "access") continue;
      if (j.value("mcp_target", "") == "create_page" && j.value("rule", "") == "writes" &&
          j.value("reason", "") == "insufficient_scope" && j.value("mcp_method", "") == "tools/call")
        saw_step_up = true;
      if (j.value("mcp_target", "") == "run_sql" && j.value("rule", "") == "no-sql" &&
          j.value("reason", "") == "call_denied")
        saw_deny = true;
      if (j.value("mcp_method", "") == "tools/list" && !j.contains("rule") && j.value("status", 0) == 200)
        saw_list = true;
    }
  }
  EXPECT_TRUE(saw_step_up) << serve_->stderr_text();
  EXPECT_TRUE(saw_deny) << serve_->stderr_text();
  EXPECT_TRUE(saw_list) << serve_->stderr_text();
  httplib::Client admin("127.0.0.1", admin_port_);
  auto m = admin.Get("/metrics");
  ASSERT_TRUE(m);
  EXPECT_NE(
      m->body.find(
          R"(mcpgate_mcp_requests_total{route="/json",method="tools/call",target="",decision="step_up"} 1)"),
      std::string::npos)
      << m->body;
  EXPECT_NE(
      m->body.find(
          R"(mcpgate_mcp_requests_total{route="/json",method="tools/call",target="",decision="denied"} 1)"),
      std::string::npos);
  EXPECT_EQ(m->body.find("create_page"), std::string::npos) << "targets are not labels unless configured";
}

TEST_F(McpRules, ForwardAuthJudgesTheRulesFromMcpMethodAndMcpName) {
  auto check = [&](const std::string& token, httplib::Headers extra) {
    extra.emplace("X-Original-Method", "POST");
    return client().Get("/auth/json", headers(token, std::move(extra)));
  };
  auto ok = check(kReader, {{"Mcp-Method", "tools/call"}, {"Mcp-Name", "read_page"}});
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  auto step = check(kReader, {{"Mcp-Method", "tools/call"}, {"Mcp-Name", "create_page"}});
  EXPECT_EQ(step->status, 403);
  EXPECT_NE(step->get_header_value("WWW-Authenticate").find("scope=\"mcp:read mcp:write\""),
            std::string::npos);
  // Base64 form of Mcp-Name (SEP-2243) is decoded before matching: "run_sql".
  auto deny = check(kWriter, {{"Mcp-Method", "tools/call"}, {"Mcp-Name", "=?base64?cnVuX3NxbA==?="}});
  EXPECT_EQ(deny->status, 403);
  EXPECT_FALSE(deny->has_header("WWW-Authenticate"));
  // Without Mcp-Method the rules cannot be applied: refused, never allowed (and a 403: nginx relays only 401/403).
  auto blind = check(kWriter, {});
  EXPECT_EQ(blind->status, 403);
  // tools/call without Mcp-Name would match no rule on a target (the deny of run_sql): refused too.
  auto nameless = check(kWriter, {{"Mcp-Method", "tools/call"}});
  EXPECT_EQ(nameless->status, 403);
  EXPECT_EQ(check(kWriter, {{"Mcp-Method", "tools/list"}})->status, 200);
  // The in-band form would be a 2xx, which a proxy reads as "allow": forward-auth always challenges.
  auto in_band = client().Get("/auth/chatgpt", headers(kReader, {{"X-Original-Method", "POST"},
                                                                 {"Mcp-Method", "tools/call"},
                                                                 {"Mcp-Name", "create_page"}}));
  EXPECT_EQ(in_band->status, 403);
}

std::vector<std::string> names(const json& items, const char* key = "name") {
  std::vector<std::string> out;
  for (const auto& i : items) out.push_back(i.value(key, ""));
  return out;
}

TEST_F(McpRules, ToolsListHidesWhatNoStepUpCouldGrantAndNamesTheScopesOfTheRest) {
  auto r = post("/lists", kReader, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body);
  const json& tools = body["result"]["tools"];
  // run_sql is denied to all, delete_workspace belongs to another organization; create_page stays visible
  // (the client must see it to call it and be asked for mcp:write).
  EXPECT_EQ(names(tools), (std::vector<std::string>{"read_page", "create_page"})) << r->body;
  EXPECT_EQ(tools[0]["securitySchemes"], json::parse(R"([{"type":"oauth2","scopes":["mcp:read"]}])"));
  EXPECT_EQ(tools[1]["securitySchemes"],
            json::parse(R"([{"type":"oauth2","scopes":["mcp:read","mcp:write"]}])"));
  EXPECT_EQ(tools[1]["_meta"]["securitySchemes"], tools[1]["securitySchemes"]);
  EXPECT_EQ(std::to_string(r->body.size()), r->get_header_value("Content-Length"));
  EXPECT_FALSE(body["result"].contains("cacheScope")) << "only 2026-07-28 results carry cacheScope";
  const std::string member =
      sign_jwt({{"https://stytch.com/organization", {{"organization_id", "org-acme"}}}});
  auto m = post("/lists", member, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})");
  EXPECT_EQ(names(json::parse(m->body)["result"]["tools"]),
            (std::vector<std::string>{"read_page", "create_page", "delete_workspace"}));
}

TEST_F(McpRules, StatelessListResultIsMarkedPrivate) {
  auto r = post("/lists", kReader, R"({"jsonrpc":"2.0","id":"a","method":"prompts/list"})",
                {{"MCP-Protocol-Version", "2026-07-28"}, {"Mcp-Method", "prompts/list"}});
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  const json body = json::parse(r->body);
  EXPECT_EQ(body["result"]["cacheScope"], "private");
  // internal_plan needs mcp:write, which a step-up grants: listed.
  EXPECT_EQ(names(body["result"]["prompts"]), (std::vector<std::string>{"summary", "internal_plan"}));
}

TEST_F(McpRules, EventStreamListAnswerIsFilteredAndItsOtherEventsKeepTheirBytes) {
  auto r = post("/lists/sse", kReader, R"({"jsonrpc":"2.0","id":5,"method":"tools/list"})");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(r->get_header_value("Content-Type").rfind("text/event-stream", 0), 0u);
  const std::string progress =
      "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\","
      "\"params\":{\"progress\":1,\"progressToken\":\"run_sql\"}}\n\n";
  EXPECT_EQ(r->body.rfind(progress, 0), 0u) << r->body;
  const std::string rest = r->body.substr(progress.size());
  EXPECT_EQ(rest.rfind("id: 7\nevent: message\ndata: ", 0), 0u) << rest;
  const json response = json::parse(rest.substr(rest.find("data: ") + 6));
  EXPECT_EQ(names(response["result"]["tools"]), (std::vector<std::string>{"read_page", "create_page"}));
}

TEST_F(McpRules, ListRequestAsksTheUpstreamForPlainBytesAndACodedAnswerIs502) {
  // Node's fetch always sends Accept-Encoding: gzip, deflate; a compressed list could not be filtered.
  auto plain = post("/lists", kReader, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})",
                    {{"Accept-Encoding", "gzip, deflate"}});
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->status, 200) << plain->body;
  auto coded = post("/lists/gzip", kReader, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})",
                    {{"Accept-Encoding", "gzip, deflate"}});
  ASSERT_TRUE(coded);
  EXPECT_EQ(coded->status, 502);
  EXPECT_EQ(coded->body.find("run_sql"), std::string::npos);
}

TEST_F(McpRules, ListAnswerThatCannotBeFilteredIs502NeverRelayedUnfiltered) {
  auto r = post("/lists/broken", kReader, R"({"jsonrpc":"2.0","id":3,"method":"tools/list"})");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 502);
  EXPECT_EQ(r->body.find("run_sql"), std::string::npos) << r->body;
}

// A 2026-07-28 subscriptions/listen POST, raw: returns the socket once the stream's first event arrived (-1 if
// the gateway answered otherwise; `head` gets what came).
int open_listen_stream(int port, const std::string& token, std::string& head) {
  const int fd = connect_loopback(port);
  if (fd < 0) return -1;
  const std::string body = R"({"jsonrpc":"2.0","id":1,"method":"subscriptions/listen","params":{}})";
  const std::string req =
      "POST /lists HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
      "\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\n"
      "MCP-Protocol-Version: 2026-07-28\r\nMcp-Method: subscriptions/listen\r\nContent-Length: " +
      std::to_string(body.size()) + "\r\n\r\n" + body;
  ::send(fd, req.data(), req.size(), MSG_NOSIGNAL);
  char buf[4096];
  for (int i = 0; i < 100 && head.find("list_changed") == std::string::npos; ++i) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    head.append(buf, static_cast<std::size_t>(n));
    if (head.rfind("HTTP/1.1 200", 0) != 0 && head.find("\r\n\r\n") != std::string::npos) break;
  }
  if (head.find("list_changed") == std::string::npos) {
    ::close(fd);
    return -1;
  }
  return fd;
}

TEST_F(McpRules, SubscriptionsListenStreamsCountTowardsThePerPrincipalStreamCap) {
  std::string first_head, second_head;
  const int first = open_listen_stream(port_, kReader, first_head);
  ASSERT_GE(first, 0) << first_head;
  const int second = open_listen_stream(port_, kReader, second_head);
  EXPECT_LT(second, 0);
  EXPECT_EQ(second_head.rfind("HTTP/1.1 429", 0), 0u) << second_head;
  std::string other_head;
  const int other = open_listen_stream(port_, kWriter, other_head);  // another principal has its own cap
  EXPECT_GE(other, 0) << other_head;
  ::close(first);
  if (other >= 0) ::close(other);
}

TEST_F(McpRules, DrainEndsSubscriptionsListenStreamsAtOnce) {
  std::string head;
  const int fd = open_listen_stream(port_, kReader, head);
  ASSERT_GE(fd, 0) << head;
  const auto started = std::chrono::steady_clock::now();
  ::kill(serve_->pid(), SIGTERM);
  char buf[4096];
  std::string rest;
  for (int i = 0; i < 200; ++i) {
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    rest.append(buf, static_cast<std::size_t>(n));
  }
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  ::close(fd);
  // Ended cleanly (the last chunk) well before drain_timeout (20 s): a listen stream is not a request in flight.
  EXPECT_LT(waited, 5.0);
  EXPECT_NE(rest.find("0\r\n\r\n"), std::string::npos) << rest;
}

// The embedded Guard: check() with the body applies the same stage.
TEST(GuardCheck, BodyIsInspectedAndJudgedByTheRoutesRules) {
  auto loaded =
      load_config_text(std::string("[server]\npublic_url = \"https://mcp.example.com/mcp\"\n") +
                           "[[static_tokens]]\nname = \"reader\"\nsha256 = \"" +
                           auth::digest_hex(auth::digest_token(kReader)) + "\"\nscopes = [\"mcp:read\"]\n" +
                           rules_toml("/mcp", "http://127.0.0.1:1", ""),
                       "<test>", [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(loaded.ok()) << loaded.errors.front().key << ": " << loaded.errors.front().message;
  auto created = Guard::create(*loaded.config);
  ASSERT_TRUE(created.ok()) << created.message();
  Guard& guard = **created;
  const HeaderList h = {{"Authorization", std::string("Bearer ") + kReader},
                        {"Content-Type", "application/json"}};
  EXPECT_TRUE(guard.check("POST", "/mcp", h, tools_call("read_page")).allow);
  const Decision step = guard.check("POST", "/mcp", h, tools_call("create_page"));
  EXPECT_FALSE(step.allow);
  EXPECT_EQ(step.status, 403);
  EXPECT_EQ(step.reason, Reason::InsufficientScope);
  EXPECT_EQ(guard.check("POST", "/mcp", h, tools_call("run_sql")).reason, Reason::CallDenied);
  HeaderList mismatch = h;
  mismatch.emplace_back("Mcp-Name", "read_page");
  EXPECT_EQ(guard.check("POST", "/mcp", mismatch, tools_call("run_sql")).status, 400);
  // Without a body, only the head is judged (the caller's choice, as before).
  EXPECT_TRUE(guard.check("POST", "/mcp", h).allow);
}

// The embedded Guard inside a cpp-httplib server: install() judges the head, check_body() the MCP body.
TEST(GuardCheck, CheckBodyInAHandlerAppliesTheRulesToTheBodyCppHttplibRead) {
  auto loaded =
      load_config_text(std::string("[server]\npublic_url = \"https://mcp.example.com/mcp\"\n") +
                           "[[static_tokens]]\nname = \"reader\"\nsha256 = \"" +
                           auth::digest_hex(auth::digest_token(kReader)) + "\"\nscopes = [\"mcp:read\"]\n" +
                           rules_toml("/mcp", "http://127.0.0.1:1", ""),
                       "<test>", [](const std::string&) { return std::nullopt; });
  ASSERT_TRUE(loaded.ok());
  auto created = Guard::create(*loaded.config);
  ASSERT_TRUE(created.ok()) << created.message();
  Guard& guard = **created;
  httplib::Server server;
  guard.install(server);
  std::atomic<int> handled{0};
  server.Post("/mcp", [&](const httplib::Request& req, httplib::Response& res) {
    if (!guard.check_body(req, res)) return;
    ++handled;
    res.set_content(R"({"jsonrpc":"2.0","id":1,"result":{}})", "application/json");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread t([&] { server.listen_after_bind(); });
  httplib::Client c("127.0.0.1", port);
  const httplib::Headers h = {{"Authorization", std::string("Bearer ") + kReader}};
  auto ok = c.Post("/mcp", h, tools_call("read_page"), "application/json");
  auto step = c.Post("/mcp", h, tools_call("create_page"), "application/json");
  auto deny = c.Post("/mcp", h, tools_call("run_sql"), "application/json");
  server.stop();
  t.join();
  ASSERT_TRUE(ok && step && deny);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(step->status, 403);
  EXPECT_NE(step->get_header_value("WWW-Authenticate").find("scope=\"mcp:read mcp:write\""),
            std::string::npos);
  EXPECT_EQ(deny->status, 403);
  EXPECT_EQ(handled.load(), 1) << "a refused body never reached the handler's own work";
}

}  // namespace
}  // namespace mcpgate
