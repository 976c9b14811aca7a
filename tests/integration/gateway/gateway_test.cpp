// Integration: the real `mcpgate serve` binary in front of a real recording upstream (tests/support), spoken
// to over loopback. Each test states one rule of the gateway; every test also checks, in TearDown, that
// nothing the gateway logged contains a token or a secret.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iterator>
#include <mcpgate/token_store.hpp>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "auth/token_digest.hpp"
#include "jose/test_signer.hpp"
#include "support/child_process.hpp"
#include "support/upstream_server.hpp"

namespace mcpgate {
namespace {

using namespace std::chrono_literals;
using SteadyClock = std::chrono::steady_clock;

constexpr const char* kAlice = "alice-static-token-0123456789";
constexpr const char* kBob = "bob-static-token-0123456789ab";
constexpr const char* kServiceSecret = "svc-secret-value-DO-NOT-LOG-42";
constexpr const char* kIssuer = "https://as.example.org";

std::string canonical(std::string name) {
  for (char& c : name) c = c == '_' ? '-' : static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return name;
}

int count_spellings(const httplib::Headers& headers, const std::string& name) {
  int n = 0;
  for (const auto& [k, v] : headers)
    if (canonical(k) == canonical(name)) ++n;
  return n;
}

class Gateway : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  // `prepare` runs once the test's directory exists (e.g. to fill a store); `extra_tail` ends the config.
  void start(const std::string& extra_gateway = "", const std::string& extra_tail = "",
             const std::function<void()>& prepare = {}) {
    dir_ = ::testing::TempDir() + "mcpgate-gateway-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    std::filesystem::remove_all(dir_);
    std::filesystem::create_directories(dir_);
    if (prepare) prepare();
    std::ofstream(dir_ + "/jwks.json") << jose::testing::jwks_json(
        {jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048).public_jwk("kid-1")});
    const std::string up = "http://127.0.0.1:" + std::to_string(upstream_.port());
    std::ofstream conf(dir_ + "/mcpgate.toml");
    conf << "[server]\npublic_url = \"https://mcp.example.com/json\"\nlisten_address = \"127.0.0.1\"\nport = "
            "0\n"
         << "threads = 2\n\n"
         << "[gateway]\nheader_timeout = 1\ndrain_timeout = 5\nclaim_to_headers = { email = \"X-Auth-Email\" "
            "}\n"
         << extra_gateway << "\n"
         << "[admin]\nport = 0\n\n"
         << "[[issuers]]\nissuer = \"" << kIssuer << "\"\naudiences = [\"https://mcp.example.com/json\"]\n"
         << "jwks_file = \"" << dir_ << "/jwks.json\"\n\n";
    for (auto [name, token] : {std::pair{"alice", kAlice}, {"bob", kBob}})
      conf << "[[static_tokens]]\nname = \"" << name << "\"\nsha256 = \""
           << auth::digest_hex(auth::digest_token(token)) << "\"\nscopes = [\"mcp:read\"]\n\n";
    conf << "[[routes]]\nmcp = false\nprefix = \"/json\"\nscopes = [\"mcp:read\"]\nupstream = \"" << up
         << "\"\n"
         << "inject_headers = { Authorization = \"Bearer {secret:demo/api_token}\" }\n\n"
         << "[[routes]]\nmcp = false\nprefix = \"/sse\"\nscopes = [\"mcp:read\"]\nupstream = \"" << up
         << "\"\n\n"
         << "[[routes]]\nmcp = false\nprefix = \"/stall\"\nupstream = \"" << up << "\"\n\n"
         << "[[routes]]\nmcp = false\nprefix = \"/reset\"\nupstream = \"" << up << "\"\n\n"
         << "[[routes]]\nmcp = false\nprefix = \"/mapped\"\nupstream = \"" << up << "/json\"\n\n"
         << "[[routes]]\nmcp = false\nprefix = \"/down\"\nupstream = \"http://127.0.0.1:"
         << closed_port_.port() << "\"\n\n"
         << extra_tail;
    conf.close();
    ::setenv("MCPGATE_SECRET_DEMO_API_TOKEN", kServiceSecret, 1);
    serve_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{MCPGATE_BINARY, "serve", "--config", dir_ + "/mcpgate.toml"},
        dir_ + "/stderr.log");
    // Port 0 for both listeners: the "listening" log line says which ports they got.
    const auto listening = testing::wait_for_log_event(*serve_, "listening", 20s);
    ASSERT_TRUE(listening) << "mcpgate serve did not listen: " << serve_->stderr_text();
    port_ = listening->value("port", 0);
    admin_port_ = listening->value("admin_port", 0);
    ASSERT_GT(port_, 0) << listening->dump();
    ASSERT_GT(admin_port_, 0) << listening->dump();
  }

  void TearDown() override {
    if (serve_) serve_->stop(SIGTERM, 10s);
    // No token or secret in anything the gateway logged.
    const std::string logged = serve_ ? serve_->stderr_text() : "";
    std::vector<std::string> secrets = {kAlice, kBob, kServiceSecret, jwt_};
    secrets.insert(secrets.end(), extra_secrets_.begin(), extra_secrets_.end());
    for (const std::string& secret : secrets) {
      if (!secret.empty()) {
        EXPECT_EQ(logged.find(secret), std::string::npos) << "a secret reached the log";
      }
    }
    if (!HasFailure()) std::filesystem::remove_all(dir_);
  }

  httplib::Client client(int port = 0) {
    httplib::Client c("127.0.0.1", port ? port : port_);
    c.set_tcp_nodelay(true);
    c.set_connection_timeout(2);
    c.set_read_timeout(10);
    return c;
  }
  // Sends each step's raw bytes on one connection, waiting after each for one whole response (headers and
  // Content-Length body) before the next; returns everything received, until the gateway closes the
  // connection (the last step should say Connection: close) or 5 s pass. Steps are not pipelined: cpp-httplib
  // 0.11.4 drops bytes it read past one request (the data-plane rebuild fixes pipelining).
  std::string exchange(const std::vector<std::string>& steps) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{5, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in dst{};
    dst.sin_family = AF_INET;
    dst.sin_port = htons(static_cast<uint16_t>(port_));
    ::inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
    EXPECT_EQ(::connect(fd, reinterpret_cast<sockaddr*>(&dst), sizeof dst), 0);
    std::string out;
    char buf[4096];
    for (std::size_t step = 0; step < steps.size(); ++step) {
      const std::string& bytes = steps[step];
      EXPECT_EQ(::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL), static_cast<ssize_t>(bytes.size()));
      const std::size_t start = out.size();
      const bool last = step + 1 == steps.size();
      for (int i = 0; i < 1000; ++i) {
        if (!last && whole_response(out.substr(start))) break;
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        out.append(buf, static_cast<std::size_t>(n));
      }
    }
    ::close(fd);
    return out;
  }
  std::string exchange(const std::string& bytes) { return exchange(std::vector<std::string>{bytes}); }
  static bool whole_response(const std::string& r) {
    const auto end = r.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    const auto cl = r.find("Content-Length: ");
    const std::size_t length = cl < end ? std::stoul(r.substr(cl + 16)) : 0;
    return r.size() >= end + 4 + length;
  }
  static int count_responses(const std::string& received) {
    int n = 0;
    for (auto at = received.find("HTTP/1.1 "); at != std::string::npos;
         at = received.find("HTTP/1.1 ", at + 1))
      ++n;
    return n;
  }
  std::size_t upstream_requests_to(std::string_view prefix) const {
    std::size_t n = 0;
    for (const auto& r : upstream_.requests())
      if (r.path.starts_with(prefix)) ++n;
    return n;
  }
  static httplib::Headers bearer(const char* token, httplib::Headers extra = {}) {
    extra.emplace("Authorization", std::string("Bearer ") + token);
    return extra;
  }
  std::string sign_jwt(const nlohmann::json& extra_claims) {
    nlohmann::json payload = {{"iss", kIssuer},
                              {"sub", "user-jwt-1"},
                              {"aud", "https://mcp.example.com/json"},
                              {"exp", std::time(nullptr) + 600},
                              {"scope", "mcp:read"}};
    payload.update(extra_claims);
    jwt_ = jose::testing::sign_token(jose::testing::TestKey::shared(jose::testing::KeyKind::Rsa2048), "RS256",
                                     {{"alg", "RS256"}, {"kid", "kid-1"}, {"typ", "at+jwt"}}, payload);
    return jwt_;
  }

  testing::UpstreamServer upstream_;
  testing::ReservedPort closed_port_;  // the /down route's upstream: connections refused
  std::string dir_;
  int port_ = 0;
  int admin_port_ = 0;
  std::string jwt_;
  std::vector<std::string> extra_secrets_;  // also never in the log
  std::unique_ptr<testing::ChildProcess> serve_;
};

TEST_F(Gateway, ClientTokenNeverReachesUpstreamAndTheServiceTokenIsInjected) {
  auto r = client().Post("/json", bearer(kAlice), R"({"jsonrpc":"2.0","id":1,"method":"ping"})",
                         "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, R"({"ok":true})");
  auto seen = upstream_.last_request();
  EXPECT_EQ(seen.body, R"({"jsonrpc":"2.0","id":1,"method":"ping"})");
  EXPECT_EQ(count_spellings(seen.headers, "Authorization"), 1);
  EXPECT_EQ(seen.header("Authorization"), std::string("Bearer ") + kServiceSecret);

  auto s = client().Get("/sse?n=1", bearer(kAlice));  // a route without injection: no Authorization at all
  ASSERT_TRUE(s);
  EXPECT_EQ(count_spellings(upstream_.last_request().headers, "Authorization"), 0);
}

TEST_F(Gateway, IdentityHeadersCannotBeSpoofedInAnySpelling) {
  std::string token = sign_jwt({{"email", "jwt-user@example.com"}, {"client_id", "client-7"}});
  // One spelling per name in each request (two spellings in one request are refused outright:
  // HeaderSpellingsOfOneNameInOneRequestAreRefused).
  const httplib::Headers dashed = {{"X-Auth-Subject", "mallory"},
                                   {"x-auth-subject", "mallory"},
                                   {"X-AUTH-SCOPES", "admin"},
                                   {"X-Auth-Client-Id", "evil"},
                                   {"X-Auth-Email", "ceo@example.com"}};
  const httplib::Headers underscored = {{"X_Auth_Subject", "mallory"},
                                        {"x_auth_source", "static"},
                                        {"X_AUTH_ORGANIZATION", "org"},
                                        {"x_auth_email", "ceo@example.com"}};
  for (const auto* spoof : {&dashed, &underscored}) {
    auto r = client().Post("/json", bearer(token.c_str(), *spoof), "{}", "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
    auto seen = upstream_.last_request();
    for (const char* name :
         {"X-Auth-Subject", "X-Auth-Scopes", "X-Auth-Source", "X-Auth-Client-Id", "X-Auth-Email"})
      EXPECT_EQ(count_spellings(seen.headers, name), 1) << name;
    EXPECT_EQ(count_spellings(seen.headers, "X-Auth-Organization"), 0);  // the token has no organization
    EXPECT_EQ(seen.header("X-Auth-Subject"), "user-jwt-1");
    EXPECT_EQ(seen.header("X-Auth-Scopes"), "mcp:read");
    EXPECT_EQ(seen.header("X-Auth-Source"), "jwt");
    EXPECT_EQ(seen.header("X-Auth-Client-Id"), "client-7");
    EXPECT_EQ(seen.header("X-Auth-Email"), "jwt-user@example.com");
  }
}

TEST_F(Gateway, HeaderSpellingsOfOneNameInOneRequestAreRefused) {
  // CGI, WSGI and Rack read both as HTTP_MCP_SESSION_ID: the upstream would take the one not checked.
  const std::size_t before = upstream_.requests().size();
  for (const httplib::Headers& h : {httplib::Headers{{"X-Auth-Subject", "a"}, {"X_Auth_Subject", "b"}},
                                    httplib::Headers{{"Mcp_Session_Id", "someone-elses"}},
                                    httplib::Headers{{"X-Custom", "a"}, {"x_custom", "b"}}}) {
    auto r = client().Post("/json", bearer(kAlice, h), "{}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 400);
    EXPECT_NE(r->body.find("invalid_request"), std::string::npos);
  }
  EXPECT_EQ(upstream_.requests().size(), before);
}

TEST_F(Gateway, HopByHopHeadersAreDroppedAndForwardedForIsTheRealPeer) {
  auto r = client().Post("/json",
                         bearer(kAlice, {{"Connection", "X-Private-Hop"},
                                         {"X-Private-Hop", "1"},
                                         {"Keep-Alive", "timeout=5"},
                                         {"Proxy-Authorization", "Basic Zm9vOmJhcg=="},
                                         {"X-Forwarded-For", "6.6.6.6"},
                                         {"X-Forwarded-Host", "evil.example"},
                                         {"X-Custom", "kept"}}),
                         "{}", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  auto seen = upstream_.last_request();
  EXPECT_FALSE(seen.has_header("X-Private-Hop"));
  EXPECT_FALSE(seen.has_header("Keep-Alive"));
  EXPECT_FALSE(seen.has_header("Proxy-Authorization"));
  EXPECT_EQ(seen.header("X-Forwarded-For"), "127.0.0.1");  // an untrusted peer cannot extend the chain
  EXPECT_EQ(seen.header("X-Forwarded-Host"), "127.0.0.1:" + std::to_string(port_));
  EXPECT_EQ(seen.header("X-Forwarded-Proto"), "http");
  EXPECT_EQ(seen.header("X-Custom"), "kept");
}

TEST_F(Gateway, EventStreamCarriesOneXAccelBufferingEvenWhenTheUpstreamSendsItsOwn) {
  auto r = client().Get("/sse?n=1&gap_ms=1&accel=1", bearer(kAlice, {{"Accept", "text/event-stream"}}));
  ASSERT_TRUE(r);
  EXPECT_EQ(r->headers.count("X-Accel-Buffering"), 1u);
  EXPECT_EQ(r->get_header_value("X-Accel-Buffering"), "no");
}

TEST_F(Gateway, EachEventReachesTheClientBeforeTheUpstreamSendsTheLast) {
  std::vector<SteadyClock::time_point> arrivals;
  std::string received;
  std::string accel;
  auto c = client();
  auto r = c.Get(
      "/sse?n=5&gap_ms=200", bearer(kAlice, {{"Accept", "text/event-stream"}}),
      [&](const httplib::Response& res) {
        accel = res.get_header_value("X-Accel-Buffering");
        return true;
      },
      [&](const char* data, std::size_t n) {
        received.append(data, n);
        arrivals.push_back(SteadyClock::now());
        return true;
      });
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(accel, "no");
  for (int i = 0; i < 5; ++i)
    EXPECT_NE(received.find("{\"n\":" + std::to_string(i) + "}"), std::string::npos);
  auto sent = upstream_.sent_times();
  ASSERT_EQ(sent.size(), 5u);
  ASSERT_FALSE(arrivals.empty());
  EXPECT_LT(arrivals.front(), sent.back()) << "the first event waited for the last: the stream was buffered";
  EXPECT_GE(arrivals.size(), 3u) << "events arrived in one lump";
}

TEST_F(Gateway, ClientDisconnectCancelsTheUpstreamRequest) {
  auto c = client();
  int chunks = 0;
  auto r = c.Get("/sse?n=200&gap_ms=50", bearer(kAlice, {{"Accept", "text/event-stream"}}),
                 [&](const char*, std::size_t) { return ++chunks < 2; });  // hang up after the first events
  EXPECT_FALSE(r);
  EXPECT_TRUE(upstream_.wait_for_disconnect(10s)) << "the upstream kept streaming to nobody";
  EXPECT_LT(upstream_.sent_times().size(), 150u);
}

// [gateway] sse_keepalive: idle event streams get ": keepalive" comments, only ever between two events.
class GatewayKeepalive : public Gateway {
 protected:
  void SetUp() override { start("sse_keepalive = 0.3\n"); }
  // The gauge of open streams, read from the admin listener (-1 when unreadable).
  int open_streams() {
    auto r = client(admin_port_).Get("/metrics");
    if (!r) return -1;
    const std::string name = "\nmcpgate_open_streams ";
    const auto at = r->body.find(name);
    return at == std::string::npos ? -1 : std::atoi(r->body.c_str() + at + name.size());
  }
};

TEST_F(GatewayKeepalive, IdleStreamGetsCommentsOnlyBetweenEventsAndTheEventsArriveIntact) {
  std::string received;
  // Three events 0.7 s apart, each written in two halves 0.7 s apart: idle between and inside events.
  auto r = client().Get("/sse?n=3&gap_ms=700&split=1", bearer(kAlice, {{"Accept", "text/event-stream"}}),
                        [&](const char* d, std::size_t n) {
                          received.append(d, n);
                          return true;
                        });
  ASSERT_TRUE(r) << httplib::to_string(r.error());
  EXPECT_EQ(r->status, 200);
  const std::string comment = ": keepalive\n\n";
  std::string events;  // what the client got, comments taken out
  std::size_t comments = 0;
  for (std::size_t at = 0; at < received.size();) {
    if (received.compare(at, comment.size(), comment) == 0) {
      EXPECT_TRUE(at == 0 || received.compare(at - 2, 2, "\n\n") == 0)
          << "a comment split an event at byte " << at << ": " << received;
      ++comments;
      at += comment.size();
    } else {
      events += received[at++];
    }
  }
  EXPECT_GE(comments, 2u) << received;
  std::string sent;
  for (int i = 0; i < 3; ++i) sent += "event: message\ndata: {\"n\":" + std::to_string(i) + "}\n\n";
  EXPECT_EQ(events, sent);
}

TEST_F(GatewayKeepalive, ClientLeavingAnIdleStreamIsNoticedBeforeTheUpstreamSpeaksAgain) {
  std::atomic<bool> first{false};
  std::thread reader([&] {
    auto c = client();
    // One event, then 6 s of silence; the client hangs up after the first event.
    c.Get("/sse?n=2&gap_ms=6000", bearer(kAlice, {{"Accept", "text/event-stream"}}),
          [&](const char* d, std::size_t n) {
            if (std::string_view(d, n).find("data:") == std::string_view::npos) return true;
            first = true;
            return false;
          });
  });
  reader.join();
  ASSERT_TRUE(first);
  const auto gone = SteadyClock::now();
  int open = -1;
  while (SteadyClock::now() - gone < 4s && (open = open_streams()) != 0) std::this_thread::sleep_for(50ms);
  EXPECT_EQ(open, 0) << "the stream to a departed client was still open";
  EXPECT_EQ(upstream_.sent_times().size(), 1u) << "noticed only when the upstream sent its next event";
}

// The access log's bytes_out is what the client got: for a streamed response too (the events, not 0).
TEST_F(Gateway, AccessLogCountsTheBytesOfAStreamedResponse) {
  std::string received;
  auto r = client().Get("/sse?n=4&gap_ms=20", bearer(kAlice, {{"Accept", "text/event-stream"}}),
                        [&](const char* data, std::size_t n) {
                          received.append(data, n);
                          return true;
                        });
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  serve_->stop(SIGTERM, 10s);
  std::ifstream in(dir_ + "/stderr.log");
  std::string line;
  std::uint64_t logged = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    auto j = nlohmann::json::parse(line);
    if (j.value("msg", "") == "access" && j.value("path", "") == "/sse") logged = j.value("bytes_out", 0ull);
  }
  EXPECT_GT(received.size(), 0u);
  EXPECT_EQ(logged, received.size());
}

// A 202 without a body reaches the client without a body and without a Content-Type nobody sent.
TEST_F(Gateway, AcceptedWithoutBodyGetsNoInventedContentType) {
  const std::string received =
      exchange("POST /json/accepted HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kAlice) +
               "\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
  ASSERT_EQ(received.rfind("HTTP/1.1 202", 0), 0u) << received;
  const std::string head = received.substr(0, received.find("\r\n\r\n"));
  std::string lower = head;
  for (char& ch : lower) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  EXPECT_EQ(lower.find("content-type"), std::string::npos) << head;
  EXPECT_EQ(received.size(), head.size() + 4) << "a body appeared";
}

// [gateway] max_streams_per_principal: one token cannot hold every stream; another principal still gets one,
// and a slot comes back when a stream ends.
class GatewayStreamCap : public Gateway {
 protected:
  void SetUp() override { start("max_streams_per_principal = 2\n"); }
};

TEST_F(GatewayStreamCap, OnePrincipalsStreamsAreCappedAndOthersAreStillServed) {
  std::atomic<int> open{0};
  std::atomic<bool> release{false};
  std::vector<std::thread> holders;
  for (int i = 0; i < 2; ++i)
    holders.emplace_back([&] {
      auto c = client();
      c.Get("/sse?n=400&gap_ms=25", bearer(kAlice, {{"Accept", "text/event-stream"}}),
            [&](const char*, std::size_t) {
              static thread_local bool counted = false;
              if (!counted) {
                counted = true;
                ++open;
              }
              return !release;
            });
    });
  const auto deadline = SteadyClock::now() + 5s;
  while (open < 2 && SteadyClock::now() < deadline) std::this_thread::sleep_for(10ms);
  ASSERT_EQ(open.load(), 2);
  auto third = client().Get("/sse?n=2&gap_ms=1", bearer(kAlice, {{"Accept", "text/event-stream"}}));
  ASSERT_TRUE(third);
  EXPECT_EQ(third->status, 429) << third->body;
  EXPECT_FALSE(third->get_header_value("Retry-After").empty());
  auto other = client().Get("/sse?n=2&gap_ms=1", bearer(kBob, {{"Accept", "text/event-stream"}}));
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200) << "another principal was starved";
  release = true;
  for (auto& t : holders) t.join();
  bool again = false;
  for (int i = 0; i < 100 && !again; ++i) {  // the slots come back once the gateway saw the streams end
    auto r = client().Get("/sse?n=1&gap_ms=1", bearer(kAlice, {{"Accept", "text/event-stream"}}));
    again = r && r->status == 200;
    if (!again) std::this_thread::sleep_for(50ms);
  }
  EXPECT_TRUE(again) << "a finished stream kept its slot";
}

// SIGTERM: a long-lived POST stream (MCP 2026-07-28 subscriptions/listen) ends at once, like a GET stream,
// instead of holding the shutdown for drain_timeout.
TEST_F(Gateway, SigtermEndsSubscriptionListenStreamsAtOnce) {
  std::atomic<bool> started{false}, ended{false};
  std::thread listen([&] {
    auto c = client();
    c.Post("/sse?n=1000&gap_ms=100",
           bearer(kAlice, {{"Accept", "text/event-stream"}, {"Mcp-Method", "subscriptions/listen"}}), "{}", 2,
           "application/json");
    ended = true;
  });
  const auto deadline = SteadyClock::now() + 5s;
  while (upstream_.sent_times().empty() && SteadyClock::now() < deadline) std::this_thread::sleep_for(10ms);
  const auto t0 = SteadyClock::now();
  const int code = serve_->stop(SIGTERM, 10s);
  const auto took = SteadyClock::now() - t0;
  listen.join();
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(ended);
  EXPECT_LT(took, 2s) << "the listen stream held the shutdown (drain_timeout is 5 s here)";
}

TEST_F(Gateway, RefusedUpstreamIs502AndStalledUpstreamIs504BothJson) {
  auto refused = client().Get("/down/anything", bearer(kAlice));
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->status, 502);
  EXPECT_EQ(nlohmann::json::parse(refused->body)["error"], "upstream_unavailable");

  const auto t0 = SteadyClock::now();
  auto stalled = client().Get("/stall?ms=8000", bearer(kAlice));
  ASSERT_TRUE(stalled);
  EXPECT_EQ(stalled->status, 504);
  EXPECT_EQ(nlohmann::json::parse(stalled->body)["error"], "upstream_timeout");
  EXPECT_LT(SteadyClock::now() - t0, 6s);  // header_timeout = 1 s, not the upstream's 8 s

  auto after = client().Post("/json", bearer(kAlice), "{}", "application/json");  // still serving
  ASSERT_TRUE(after);
  EXPECT_EQ(after->status, 200);
}

TEST_F(Gateway, UpstreamBreakingMidStreamBreaksTheClientStream) {
  std::string received;
  auto r = client().Get("/reset", bearer(kAlice), [&](const char* d, std::size_t n) {
    received.append(d, n);
    return true;
  });
  EXPECT_NE(received.find("data: first"), std::string::npos);
  EXPECT_FALSE(r) << "a broken upstream stream must not look complete to the client";
}

TEST_F(Gateway, SessionAnswersOnlyToThePrincipalThatOpenedIt) {
  auto opened =
      client().Post("/json", bearer(kAlice, {{"X-Test-New-Session", "1"}}), "{}", "application/json");
  ASSERT_TRUE(opened);
  const std::string session = opened->get_header_value("Mcp-Session-Id");
  ASSERT_FALSE(session.empty());
  const auto seen_before = upstream_.requests().size();

  auto hijack = client().Post("/json", bearer(kBob, {{"Mcp-Session-Id", session}}), "{}", "application/json");
  ASSERT_TRUE(hijack);
  EXPECT_EQ(hijack->status, 404);
  EXPECT_EQ(upstream_.requests().size(), seen_before) << "the hijack attempt reached the upstream";

  auto owner =
      client().Post("/json", bearer(kAlice, {{"Mcp-Session-Id", session}}), "{}", "application/json");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->status, 200);
  // The client holds the sealed id; the upstream gets its own id back, never the sealed one.
  EXPECT_EQ(session.rfind("ms1.", 0), 0u) << session;
  EXPECT_EQ(upstream_.last_request().header("Mcp-Session-Id").rfind("s-", 0), 0u);
  EXPECT_EQ(count_spellings(upstream_.last_request().headers, "Mcp-Session-Id"), 1);
}

TEST_F(Gateway, UpstreamsRawSessionIdIsRefusedAndAlteredSealedIdsAre404) {
  auto opened =
      client().Post("/json", bearer(kAlice, {{"X-Test-New-Session", "1"}}), "{}", "application/json");
  ASSERT_TRUE(opened);
  const std::string session = opened->get_header_value("Mcp-Session-Id");
  const std::string raw = "s-1";  // what the upstream issued: only the sealed form is a session id here
  const std::size_t before = upstream_.requests().size();
  std::string flipped = session;
  flipped[flipped.size() / 2] = flipped[flipped.size() / 2] == 'A' ? 'B' : 'A';
  for (const std::string& id : {raw, flipped, session.substr(0, session.size() - 4), session + "AAAA"}) {
    auto r = client().Post("/json", bearer(kAlice, {{"Mcp-Session-Id", id}}), "{}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << id;
  }
  // Another route's upstream never accepts this route's id (the route is sealed in).
  auto other = client().Post("/sse", bearer(kAlice, {{"Mcp-Session-Id", session}}), "{}", "application/json");
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 404);
  EXPECT_EQ(upstream_.requests().size(), before);
}

// The upstream (like the bundled example server) percent-decodes the id: "%25" + hex of its first
// character + the rest is someone else's id there. Only ids issued to this principal pass, byte for byte.
TEST_F(Gateway, SessionIdThatDecodesToAnothersIsNeverForwarded) {
  auto opened =
      client().Post("/json", bearer(kAlice, {{"X-Test-New-Session", "1"}}), "{}", "application/json");
  ASSERT_TRUE(opened);
  const std::string session = opened->get_header_value("Mcp-Session-Id");
  ASSERT_FALSE(session.empty());
  char hex[3];
  std::snprintf(hex, sizeof hex, "%02X", static_cast<unsigned char>(session[0]));
  const std::string disguised = std::string("%25") + hex + session.substr(1);
  const std::size_t before = upstream_.requests().size();
  auto ride = client().Post("/json", bearer(kBob, {{"Mcp-Session-Id", disguised}}), "{}", "application/json");
  ASSERT_TRUE(ride);
  EXPECT_EQ(ride->status, 404);
  auto end = client().Delete("/json", bearer(kBob, {{"Mcp-Session-Id", disguised}}));
  ASSERT_TRUE(end);
  EXPECT_EQ(end->status, 404);
  EXPECT_EQ(upstream_.requests().size(), before) << "a disguised id reached the upstream";
  auto owner =
      client().Post("/json", bearer(kAlice, {{"Mcp-Session-Id", session}}), "{}", "application/json");
  ASSERT_TRUE(owner);
  EXPECT_EQ(owner->status, 200);  // the session was not ended
}

TEST_F(Gateway, UnknownSessionIdIs404AndNeverForwarded) {
  const std::size_t before = upstream_.requests().size();
  for (const char* id : {"s-999", "never-issued", "%73-1"}) {
    auto r = client().Post("/json", bearer(kAlice, {{"Mcp-Session-Id", id}}), "{}", "application/json");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->status, 404) << id;
    EXPECT_NE(r->body.find("Session not found"), std::string::npos);
  }
  EXPECT_EQ(upstream_.requests().size(), before);
}

// Two instances behind one load balancer share only their keys: a session sealed by one opens on the other,
// and on an instance whose ring has rotated to a new key that still holds the old one.
constexpr const char* kSessionKeyOld = "old:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
constexpr const char* kSessionKeyNew = "new:ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=";

class GatewaySealedSessions : public Gateway {
 protected:
  void SetUp() override { start(std::string("session_keys = \"") + kSessionKeyOld + "\"\n"); }
  // Another `mcpgate serve` on the same config but these session keys; returns its port.
  int second_instance(const std::string& keys) {
    std::ifstream in(dir_ + "/mcpgate.toml");
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const std::string old_line = std::string("session_keys = \"") + kSessionKeyOld + "\"";
    text.replace(text.find(old_line), old_line.size(), "session_keys = \"" + keys + "\"");
    std::ofstream(dir_ + "/second.toml") << text;
    second_ = std::make_unique<testing::ChildProcess>(
        std::vector<std::string>{MCPGATE_BINARY, "serve", "--config", dir_ + "/second.toml"},
        dir_ + "/second.log");
    auto listening = testing::wait_for_log_event(*second_, "listening", 20s);
    EXPECT_TRUE(listening) << second_->stderr_text();
    return listening ? listening->value("port", 0) : 0;
  }
  void TearDown() override {
    if (second_) second_->stop(SIGTERM, 10s);
    Gateway::TearDown();
  }
  std::unique_ptr<testing::ChildProcess> second_;
};

TEST_F(GatewaySealedSessions, SessionOpenedOnOneInstanceWorksOnAnotherWithTheSameKeys) {
  auto opened =
      client().Post("/json", bearer(kAlice, {{"X-Test-New-Session", "1"}}), "{}", "application/json");
  ASSERT_TRUE(opened);
  const std::string session = opened->get_header_value("Mcp-Session-Id");
  const int other =
      second_instance(std::string(kSessionKeyNew) + "," + kSessionKeyOld);  // rotated: new first
  ASSERT_GT(other, 0);
  auto there =
      client(other).Post("/json", bearer(kAlice, {{"Mcp-Session-Id", session}}), "{}", "application/json");
  ASSERT_TRUE(there);
  EXPECT_EQ(there->status, 200);
  EXPECT_EQ(upstream_.last_request().header("Mcp-Session-Id"), "s-1");
  auto stolen =
      client(other).Post("/json", bearer(kBob, {{"Mcp-Session-Id", session}}), "{}", "application/json");
  ASSERT_TRUE(stolen);
  EXPECT_EQ(stolen->status, 404) << "another instance is no weaker: the owner is sealed in";
  // What the rotated instance issues now is sealed with the new key: the old-only instance refuses it.
  auto fresh =
      client(other).Post("/json", bearer(kAlice, {{"X-Test-New-Session", "1"}}), "{}", "application/json");
  ASSERT_TRUE(fresh);
  auto back =
      client().Post("/json", bearer(kAlice, {{"Mcp-Session-Id", fresh->get_header_value("Mcp-Session-Id")}}),
                    "{}", "application/json");
  ASSERT_TRUE(back);
  EXPECT_EQ(back->status, 404);
}

TEST_F(GatewaySealedSessions, InstanceWithoutTheKeyRefusesTheIdWithoutForwardingIt) {
  auto opened =
      client().Post("/json", bearer(kAlice, {{"X-Test-New-Session", "1"}}), "{}", "application/json");
  ASSERT_TRUE(opened);
  const int other = second_instance(kSessionKeyNew);
  ASSERT_GT(other, 0);
  const std::size_t before = upstream_.requests().size();
  auto r = client(other).Post(
      "/json", bearer(kAlice, {{"Mcp-Session-Id", opened->get_header_value("Mcp-Session-Id")}}), "{}",
      "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_EQ(upstream_.requests().size(), before);
}

// CL.0: a body the gateway did not need must be consumed, so the next request on the connection is
// exactly the next bytes the client sent (here: an authenticated POST), never the body's contents.
TEST_F(Gateway, EarlyAnswerConsumesTheBodySoItIsNeverParsedAsTheNextRequest) {
  const std::string smuggled = "GET /stall?ms=1 HTTP/1.1\r\nHost: x\r\n\r\n";
  const std::string body = std::string(5000, ' ') + smuggled;
  const std::string second =
      "POST /json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kAlice) +
      "\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
  const std::string received =
      exchange({"POST /json HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                "Content-Length: " +
                    std::to_string(body.size()) + "\r\n\r\n" + body,
                second});
  EXPECT_EQ(received.rfind("HTTP/1.1 401", 0), 0u) << received.substr(0, 300);
  EXPECT_EQ(count_responses(received), 2) << received.substr(0, 2000);
  EXPECT_NE(received.find("HTTP/1.1 200"), std::string::npos) << received;
  EXPECT_EQ(upstream_requests_to("/stall"), 0u) << "the body was proxied as a request";
  EXPECT_EQ(upstream_.last_request().path, "/json");
}

TEST_F(Gateway, BodyOnAGetIsRefusedAndTheConnectionClosed) {
  // Padded past cpp-httplib's 4 KiB read buffer, so that the smuggled request would really be parsed.
  const std::string smuggled = std::string(5000, ' ') +
                               "GET /stall?ms=1 HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                               std::string(kAlice) + "\r\n\r\n";
  const std::string received =
      exchange("GET /json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kAlice) +
               "\r\nContent-Length: " + std::to_string(smuggled.size()) + "\r\n\r\n" + smuggled);
  EXPECT_EQ(received.rfind("HTTP/1.1 400", 0), 0u) << received;
  EXPECT_EQ(count_responses(received), 1) << received;
  EXPECT_EQ(upstream_requests_to("/stall"), 0u);
}

TEST_F(Gateway, MalformedHeaderSyntaxAndTargetsAreRefusedNeverForwarded) {
  const std::size_t before = upstream_.requests().size();
  const std::string auth = "Authorization: Bearer " + std::string(kAlice) + "\r\n";
  for (const std::string& request :
       {"POST /json HTTP/1.1\r\nHost: x\r\n" + auth + "X-Auth-Subject : evil\r\n",
        "POST /json HTTP/1.1\r\nHost: x\r\n" + auth + "X-Auth-Scopes\t: admin\r\n",
        "POST /json HTTP/1.1\r\n X-Auth-Subject: x\r\nHost: x\r\n" + auth,
        "POST /json HTTP/1.1\r\nHost: x\r\n" + auth + "Mcp-Session-Id: a\r\nMcp_Session_Id: b\r\n",
        "POST /json\rx HTTP/1.1\r\nHost: x\r\n" + auth, "POST /json/../mapped HTTP/1.1\r\nHost: x\r\n" + auth,
        "POST /json/%2e%2e/mapped HTTP/1.1\r\nHost: x\r\n" + auth}) {
    const std::string received = exchange(request + "Content-Length: 0\r\nConnection: close\r\n\r\n");
    EXPECT_EQ(received.rfind("HTTP/1.1 400", 0), 0u) << request << "\n" << received;
  }
  EXPECT_EQ(upstream_.requests().size(), before);
}

TEST_F(Gateway, OtherProxiesIdentityHeadersNeverReachTheUpstream) {
  const httplib::Headers forged = {{"X-Forwarded-User", "admin"},    {"X-Forwarded-Email", "ceo@example.com"},
                                   {"X-Auth-Request-User", "admin"}, {"X-Auth-Request-Groups", "admins"},
                                   {"Remote-User", "admin"},         {"x_auth_request_email", "a@b"},
                                   {"X-Remote-User", "admin"},       {"X-Amzn-Oidc-Identity", "admin"},
                                   {"X-Webauth-User", "admin"}};
  auto r = client().Post("/json", bearer(kAlice, forged), "{}", "application/json");
  ASSERT_TRUE(r);
  ASSERT_EQ(r->status, 200);
  const auto seen = upstream_.last_request();
  for (const auto& [name, value] : forged) EXPECT_EQ(count_spellings(seen.headers, name), 0) << name;
  EXPECT_EQ(seen.header("X-Auth-Subject"), "alice");
}

TEST_F(Gateway, AccessLogBoundsWhatTheRequestLineSays) {
  // A request line the listener refuses still reaches the access log: its method and path are bounded.
  exchange("{\"jsonrpc\":\"2.0\",\"method\":\"initialize\"}GET /\x80" + std::string(3000, 'a') +
           " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  serve_->stop(SIGTERM, 10s);
  std::ifstream in(dir_ + "/stderr.log");
  std::string line;
  int access = 0;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    auto j = nlohmann::json::parse(line);
    if (j.value("msg", "") != "access") continue;
    ++access;
    EXPECT_EQ(j.value("method", ""), "-") << line;
    EXPECT_LE(j.value("path", "").size(), 512u) << line;
    EXPECT_EQ(j.value("path", "").rfind("/%80aaa", 0), 0u) << line;  // a raw byte as it would be encoded
  }
  EXPECT_EQ(access, 1);
}

TEST_F(Gateway, RequestIdIsKeptWhenWellFormedElseGeneratedAndPassedUpstream) {
  auto kept =
      client().Post("/json", bearer(kAlice, {{"X-Request-Id", "abc-123.x_y"}}), "{}", "application/json");
  ASSERT_TRUE(kept);
  EXPECT_EQ(kept->get_header_value("X-Request-Id"), "abc-123.x_y");
  EXPECT_EQ(upstream_.last_request().header("X-Request-Id"), "abc-123.x_y");

  auto replaced =
      client().Post("/json", bearer(kAlice, {{"X-Request-Id", "bad id\"<>"}}), "{}", "application/json");
  ASSERT_TRUE(replaced);
  const std::string id = replaced->get_header_value("X-Request-Id");
  EXPECT_EQ(id.size(), 32u);
  EXPECT_EQ(upstream_.last_request().header("X-Request-Id"), id);
}

TEST_F(Gateway, UpstreamBasePathReplacesTheRoutePrefix) {
  auto r = client().Post("/mapped", bearer(kAlice), "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(upstream_.last_request().path, "/json");
}

TEST_F(Gateway, UnauthenticatedRequestGetsTheChallengeAndNeverReachesUpstream) {
  auto r = client().Post("/json", "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 401);
  EXPECT_NE(r->get_header_value("WWW-Authenticate").find("resource_metadata="), std::string::npos);
  auto bad = client().Post("/json", bearer("not-a-valid-token-at-all"), "{}", "application/json");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 401);
  EXPECT_NE(bad->get_header_value("WWW-Authenticate").find("error=\"invalid_token\""), std::string::npos);
  EXPECT_TRUE(upstream_.requests().empty());
}

TEST_F(Gateway, SigtermLetsAnInFlightResponseFinishClosesOpenStreamsAndExitsZero) {
  // A POST answered as a stream (a tool call in progress) is drained; a GET event stream is closed at once.
  std::string post_body;
  std::atomic<bool> post_ok{false};
  std::thread post([&] {
    auto c = client();
    auto r = c.Post("/sse?n=4&gap_ms=300", bearer(kAlice, {{"Accept", "text/event-stream"}}), "{}", 2,
                    "application/json");
    if (r && r->status == 200) {
      post_body = r->body;
      post_ok = true;
    }
  });
  std::atomic<bool> get_ended{false};
  std::thread get([&] {
    auto c = client();
    c.Get("/sse?n=1000&gap_ms=100", bearer(kAlice, {{"Accept", "text/event-stream"}}),
          [&](const char*, std::size_t) { return true; });
    get_ended = true;
  });
  const auto deadline = SteadyClock::now() + 5s;
  while (upstream_.requests().size() < 2 && SteadyClock::now() < deadline) std::this_thread::sleep_for(10ms);
  std::this_thread::sleep_for(150ms);
  const auto t0 = SteadyClock::now();
  const int code = serve_->stop(SIGTERM, 10s);
  const auto took = SteadyClock::now() - t0;
  post.join();
  get.join();
  EXPECT_EQ(code, 0);
  EXPECT_TRUE(get_ended);
  EXPECT_TRUE(post_ok) << "the in-flight response was cut";
  for (int i = 0; i < 4; ++i)
    EXPECT_NE(post_body.find("{\"n\":" + std::to_string(i) + "}"), std::string::npos);
  EXPECT_LT(took, 5s);
  EXPECT_FALSE(testing::wait_for_port(port_, 200ms)) << "still accepting after SIGTERM";
}

TEST_F(Gateway, SighupReloadsStaticTokensAndRoutesWhileAStreamStaysOpen) {
  constexpr const char* kCarol = "carol-static-token-0123456789";
  std::atomic<int> events{0};
  std::atomic<bool> stream_ok{false};
  std::thread stream([&] {
    auto c = client();
    auto r = c.Get("/sse?n=30&gap_ms=50", bearer(kAlice, {{"Accept", "text/event-stream"}}),
                   [&](const char*, std::size_t) {
                     ++events;
                     return true;
                   });
    stream_ok = r && r->status == 200;
  });
  const auto open_deadline = SteadyClock::now() + 5s;
  while (events < 2 && SteadyClock::now() < open_deadline) std::this_thread::sleep_for(10ms);
  ASSERT_GE(events.load(), 2);

  // bob out, carol in.
  const std::string path = dir_ + "/mcpgate.toml";
  std::string text((std::istreambuf_iterator<char>(std::ifstream(path).rdbuf())),
                   std::istreambuf_iterator<char>());
  const std::string bob_hash = auth::digest_hex(auth::digest_token(kBob));
  const std::string carol_hash = auth::digest_hex(auth::digest_token(kCarol));
  text.replace(text.find("name = \"bob\""), 12, "name = \"carol\"");
  text.replace(text.find(bob_hash), bob_hash.size(), carol_hash);
  std::ofstream(path) << text;
  const int before_reload = events;
  ASSERT_EQ(::kill(serve_->pid(), SIGHUP), 0);
  bool carol_in = false;
  for (int i = 0; i < 100 && !carol_in; ++i) {
    auto r = client().Post("/json", bearer(kCarol), "{}", "application/json");
    carol_in = r && r->status == 200;
    if (!carol_in) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(carol_in) << serve_->stderr_text();
  auto bob = client().Post("/json", bearer(kBob), "{}", "application/json");
  ASSERT_TRUE(bob);
  EXPECT_EQ(bob->status, 401);

  // A broken file is refused and logged; the running configuration stays.
  std::ofstream(path) << "[server\nthis is not toml";
  ASSERT_EQ(::kill(serve_->pid(), SIGHUP), 0);
  bool refused_logged = false;
  for (int i = 0; i < 100 && !refused_logged; ++i) {
    refused_logged = serve_->stderr_text().find("reload refused") != std::string::npos;
    if (!refused_logged) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(refused_logged);
  auto still = client().Post("/json", bearer(kCarol), "{}", "application/json");
  ASSERT_TRUE(still);
  EXPECT_EQ(still->status, 200);

  stream.join();
  EXPECT_TRUE(stream_ok) << "the open stream was dropped by the reload";
  EXPECT_GT(events.load(), before_reload);
  EXPECT_EQ(upstream_.sent_times().size(), 30u);
}

TEST_F(Gateway, RequestBodiesOverTheCapNeverReachTheUpstream) {
  const std::string big(4 * 1024 * 1024 + 1, 'x');  // server.max_body_bytes defaults to 4 MiB
  auto r = client().Post("/json", bearer(kAlice), big, "application/json");
  if (r) {
    EXPECT_GE(r->status, 400);
  }
  EXPECT_TRUE(upstream_.requests().empty());
  const std::string fits(64 * 1024, 'y');
  auto ok = client().Post("/json", bearer(kAlice), fits, "application/json");
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->status, 200);
  EXPECT_EQ(upstream_.last_request().body.size(), fits.size());
}

// Each event loop keeps its own idle upstream connections (no lock on the data path), so six requests on six
// client connections, spread over the two loops, reuse at most two upstream connections.
TEST_F(Gateway, UpstreamConnectionsAreKeptAliveAndReused) {
  for (int i = 0; i < 6; ++i) {
    auto r = client().Post("/json", bearer(kAlice), "{}", "application/json");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->status, 200);
  }
  auto seen = upstream_.requests();
  ASSERT_EQ(seen.size(), 6u);
  std::set<int> ports;
  for (const auto& r : seen) ports.insert(r.remote_port);
  EXPECT_LE(ports.size(), 2u) << "an upstream connection per request: nothing was reused";
}

TEST_F(Gateway, AdminListenerServesHealthReadinessAndParsableMetrics) {
  client().Post("/json", bearer(kAlice), "{}", "application/json");
  client().Post("/json", "{}", "application/json");
  auto health = client(admin_port_).Get("/healthz");
  ASSERT_TRUE(health);
  EXPECT_EQ(health->status, 200);
  auto ready = client(admin_port_).Get("/readyz");
  ASSERT_TRUE(ready);
  EXPECT_EQ(ready->status, 200);  // the only issuer has a local key set
  // Requests are counted after their response is written: poll (bounded) until both show.
  std::string text;
  int status = 0;
  for (int i = 0; i < 100; ++i) {
    auto metrics = client(admin_port_).Get("/metrics");
    ASSERT_TRUE(metrics);
    status = metrics->status;
    text = metrics->body;
    if (text.find("status=\"401\"") != std::string::npos && text.find("status=\"200\"") != std::string::npos)
      break;
    std::this_thread::sleep_for(20ms);
  }
  EXPECT_EQ(status, 200);
  EXPECT_NE(text.find("mcpgate_requests_total{route=\"/json\",method=\"POST\",status=\"200\"} 1"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("mcpgate_auth_total{outcome=\"ok_static\"} 1"), std::string::npos) << text;
  EXPECT_NE(text.find("mcpgate_upstream_response_seconds_count{route=\"/json\"} 1"), std::string::npos)
      << text;
  // The real Prometheus parser accepts the whole exposition.
  const std::string file = dir_ + "/metrics.txt";
  std::ofstream(file) << text;
  const std::string cmd =
      "/usr/bin/python3 -c \"import sys; from prometheus_client.parser import "
      "text_string_to_metric_families as p; print(len(list(p(open(sys.argv[1]).read()))))\" " +
      file + " > " + dir_ + "/families.txt 2>&1";
  ASSERT_EQ(std::system(cmd.c_str()), 0) << std::ifstream(dir_ + "/families.txt").rdbuf();
  EXPECT_NE(admin_port_, port_);  // metrics have a listener of their own
}

TEST_F(Gateway, AccessLogHasOneJsonLinePerRequestWithoutQueryOrToken) {
  client().Post("/json?access_key=hunter2", bearer(kAlice), "{}", "application/json");
  client().Post("/json", bearer("wrong-token-value-xyz"), "{}", "application/json");
  serve_->stop(SIGTERM, 10s);
  std::ifstream in(dir_ + "/stderr.log");
  std::string line;
  int access = 0;
  bool saw_ok = false, saw_refused = false;
  while (std::getline(in, line)) {
    if (line.empty() || line.front() != '{') continue;
    auto j = nlohmann::json::parse(line);  // every JSON line parses
    if (j.value("msg", "") != "access") continue;
    ++access;
    EXPECT_EQ(line.find("hunter2"), std::string::npos);
    EXPECT_EQ(line.find("wrong-token-value-xyz"), std::string::npos);
    if (j.value("status", 0) == 200 && j.value("subject", "") == "alice" &&
        j.value("auth_source", "") == "static") {
      saw_ok = true;
      EXPECT_GT(j.value("duration_ms", 0.0), 0.0) << line;  // the proxied request took measurable time
    }
    if (j.value("status", 0) == 401 && j.value("reason", "") != "") saw_refused = true;
    EXPECT_FALSE(j.value("request_id", "").empty());
  }
  EXPECT_EQ(access, 2);
  EXPECT_TRUE(saw_ok);
  EXPECT_TRUE(saw_refused);
}

// The access records in a gateway's log (read once it has stopped, so that every record is written).
std::vector<nlohmann::json> access_records(const std::string& log_path) {
  std::vector<nlohmann::json> out;
  std::ifstream in(log_path);
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line.front() != '{') continue;
    auto j = nlohmann::json::parse(line);
    if (j.value("msg", "") == "access") out.push_back(std::move(j));
  }
  return out;
}

// A refusal the gateway gives itself is one row of the reason table: its status, its "error" and the access
// log's reason all come from that row, so the log says why for every refused request.
class GatewayReasons : public Gateway {
 protected:
  // The answer is the row `reason`: `status` and {"error": reason}.
  static void expect_answer(int got_status, const std::string& body, int status, const std::string& reason) {
    EXPECT_EQ(got_status, status) << body;
    const auto j = nlohmann::json::parse(body, nullptr, false);
    EXPECT_EQ(j.is_object() ? j.value("error", "") : "", reason) << body;
  }
  // The same for a raw response ("HTTP/1.1 431 ...\r\n...\r\n\r\n{...}").
  static void expect_raw_answer(const std::string& received, int status, const std::string& reason) {
    ASSERT_EQ(received.rfind("HTTP/1.1 ", 0), 0u) << received;
    const auto body_at = received.find("\r\n\r\n");
    ASSERT_NE(body_at, std::string::npos) << received;
    expect_answer(std::stoi(received.substr(9, 3)), received.substr(body_at + 4), status, reason);
  }
  // The test's one request is in the access log with `status` and `reason`.
  void expect_logged(int status, const std::string& reason) {
    serve_->stop(SIGTERM, 10s);
    const auto records = access_records(dir_ + "/stderr.log");
    ASSERT_EQ(records.size(), 1u) << serve_->stderr_text();
    EXPECT_EQ(records[0].value("status", 0), status) << records[0].dump();
    EXPECT_EQ(records[0].value("reason", ""), reason) << records[0].dump();
  }
};

TEST_F(GatewayReasons, HeaderTooLargeIsLoggedWithItsReason) {
  const std::string received = exchange("GET /json HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(20000, 'a') +
                                        "\r\nConnection: close\r\n\r\n");
  expect_raw_answer(received, 431, "request_header_fields_too_large");
  expect_logged(431, "request_header_fields_too_large");
}

TEST_F(GatewayReasons, MalformedRequestAnswersRequestMalformed) {
  const std::string received = exchange(
      "GET /json HTTP/1.1\r\nHost: x\r\nX-Auth-Subject : evil\r\n"
      "Connection: close\r\n\r\n");
  expect_raw_answer(received, 400, "request_malformed");
  expect_logged(400, "request_malformed");
}

TEST_F(GatewayReasons, UnknownMethodIsLoggedAsNotImplemented) {
  const std::string received = exchange("BREW /json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  expect_raw_answer(received, 501, "not_implemented");
  expect_logged(501, "not_implemented");
}

TEST_F(GatewayReasons, UnknownRouteAnswersRouteNotFound) {
  auto r = client().Get("/nowhere", bearer(kAlice));  // the Guard's default rule: any valid token
  ASSERT_TRUE(r);
  expect_answer(r->status, r->body, 404, "route_not_found");
  expect_logged(404, "route_not_found");
}

TEST_F(GatewayReasons, UnknownSessionIsLoggedAsSessionUnknown) {
  auto r =
      client().Post("/json", bearer(kAlice, {{"Mcp-Session-Id", "never-issued"}}), "{}", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 404);
  EXPECT_NE(r->body.find("Session not found"), std::string::npos) << r->body;  // the transport's own answer
  expect_logged(404, "session_unknown");
}

TEST_F(GatewayReasons, RequestTooLargeIsLoggedWithItsReason) {
  // Refused on its Content-Length (over server.max_body_bytes) before a byte of the body is read.
  const std::string received = exchange("POST /json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                                        std::string(kAlice) + "\r\nContent-Length: 99999999999\r\n\r\n{}");
  expect_raw_answer(received, 413, "request_too_large");
  expect_logged(413, "request_too_large");
  EXPECT_TRUE(upstream_.requests().empty());
}

TEST_F(GatewayReasons, MalformedChunkedBodyAnswersChunkedBodyMalformed) {
  const std::string received =
      exchange("POST /json HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + std::string(kAlice) +
               "\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n");
  expect_raw_answer(received, 400, "chunked_body_malformed");
  expect_logged(400, "chunked_body_malformed");
}

TEST_F(GatewayReasons, UpstreamRefusedIsLoggedAsUpstreamUnavailable) {
  auto r = client().Get("/down/anything", bearer(kAlice));
  ASSERT_TRUE(r);
  expect_answer(r->status, r->body, 502, "upstream_unavailable");
  expect_logged(502, "upstream_unavailable");
}

TEST_F(GatewayReasons, StalledUpstreamIsLoggedAsUpstreamTimeout) {
  auto r = client().Get("/stall?ms=8000", bearer(kAlice));
  ASSERT_TRUE(r);
  expect_answer(r->status, r->body, 504, "upstream_timeout");
  expect_logged(504, "upstream_timeout");
}

// The client already has the 200 head when the upstream breaks: the log keeps that status and says why the
// response was cut.
TEST_F(GatewayReasons, UpstreamBreakingMidStreamIsLoggedAsUpstreamBroken) {
  auto r = client().Get("/reset", bearer(kAlice), [](const char*, std::size_t) { return true; });
  EXPECT_FALSE(r);
  expect_logged(200, "upstream_broken");
}

}  // namespace
}  // namespace mcpgate

namespace mcpgate {
namespace {

constexpr const char* kAliceUserToken = "alice-own-upstream-token-7f3e";
constexpr const char* kVictimUserToken = "victim-own-upstream-token-2b9d";
constexpr const char* kOtherIssuer = "https://other-as.example.org";  // a second configured issuer

// The gateway with the encrypted SQLite store: shared and per-user service tokens, and the principals table.
// Per-user tokens: (static, alice) — the static token "alice" — and (kIssuer, victim), a JWT user.
class GatewayWithStore : public Gateway {
 protected:
  void SetUp() override {
    extra_secrets_ = {kAliceUserToken, kVictimUserToken};
    const std::string up = "http://127.0.0.1:" + std::to_string(upstream_.port());
    auto tail = [&] {
      return "[store]\nbackend = \"sqlite\"\npath = \"" + dir_ + "/store.db\"\nkey_file = \"" + dir_ +
             "/master.key\"\n\n[[routes]]\nmcp = false\nprefix = \"/peruser\"\nupstream = \"" + up +
             "/json\"\ninject_headers = { X-User-Token = \"{secret:coda/user_token@subject}\" }\n\n" +
             "[[issuers]]\nissuer = \"" + kOtherIssuer +
             "\"\naudiences = [\"https://mcp.example.com/json\"]\n" + "jwks_file = \"" + dir_ +
             "/jwks.json\"\n";
    };
    // The directory name is only known inside start(); the tail is computed from the same rule.
    dir_ = ::testing::TempDir() + "mcpgate-gateway-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name();
    start("", tail(), [this] {
      ASSERT_EQ(std::system((cli() + " secrets keygen > " + dir_ + "/master.key").c_str()), 0);
      std::filesystem::permissions(dir_ + "/master.key",
                                   std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
      put_token("demo api_token", kServiceSecret);
      put_token("coda user_token --issuer static --subject alice", kAliceUserToken);
      put_token(std::string("coda user_token --issuer ") + kIssuer + " --subject victim", kVictimUserToken);
    });
  }
  static std::string cli() { return MCPGATE_BINARY; }
  std::string store_flags() const {
    return " --store sqlite:" + dir_ + "/store.db --key-file " + dir_ + "/master.key";
  }
  void put_token(const std::string& args, const std::string& value) {
    std::ofstream(dir_ + "/value.txt") << value;
    ASSERT_EQ(
        std::system((cli() + " secrets put " + args + store_flags() + " < " + dir_ + "/value.txt > /dev/null")
                        .c_str()),
        0)
        << args;
    std::filesystem::remove(dir_ + "/value.txt");
  }
  StoreOptions store_options() const {
    StoreOptions o;
    o.backend = StoreBackend::Sqlite;
    o.sqlite_path = dir_ + "/store.db";
    o.key_file = dir_ + "/master.key";
    return o;
  }
  // A per-user route asked for by `token`: refused with 403 service_token_missing before the upstream, and
  // no stored value in the answer.
  void expect_no_service_token(const std::string& token, const std::string& who) {
    const auto seen = upstream_.requests().size();
    auto r = client().Post("/peruser", bearer(token.c_str()), "{}", "application/json");
    ASSERT_TRUE(r) << who;
    EXPECT_EQ(r->status, 403) << who << ": " << r->body;
    EXPECT_EQ(nlohmann::json::parse(r->body).value("error", ""), "service_token_missing") << who;
    for (const char* secret : {kVictimUserToken, kAliceUserToken, kServiceSecret})
      EXPECT_EQ(r->body.find(secret), std::string::npos) << who;
    EXPECT_EQ(upstream_.requests().size(), seen) << who << " reached the upstream";
    if (upstream_.requests().size() != seen)
      ADD_FAILURE() << who << " was given X-User-Token '" << upstream_.last_request().header("X-User-Token")
                    << "'";
  }
};

TEST_F(GatewayWithStore, InjectsTheSharedAndThePrincipalsOwnTokenFromTheEncryptedStore) {
  auto shared = client().Post("/json", bearer(kAlice), "{}", "application/json");
  ASSERT_TRUE(shared);
  ASSERT_EQ(shared->status, 200) << serve_->stderr_text();
  EXPECT_EQ(upstream_.last_request().header("Authorization"), std::string("Bearer ") + kServiceSecret);

  auto own = client().Post("/peruser", bearer(kAlice), "{}", "application/json");
  ASSERT_TRUE(own);
  ASSERT_EQ(own->status, 200);
  EXPECT_EQ(upstream_.last_request().header("X-User-Token"), kAliceUserToken);

  const auto seen = upstream_.requests().size();
  auto missing = client().Post("/peruser", bearer(kBob), "{}", "application/json");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 403);
  auto body = nlohmann::json::parse(missing->body);
  EXPECT_EQ(body["error"], "service_token_missing");
  EXPECT_NE(body["error_description"].get<std::string>().find("coda/user_token"), std::string::npos);
  EXPECT_EQ(upstream_.requests().size(), seen) << "a request without its service token reached the upstream";
}

// The subject is a value handed to the store, never pasted into `{secret:...@subject}` and parsed again: a
// `sub` that closes the reference, or opens another one, names no stored token.
TEST_F(GatewayWithStore, PerUserSecretTakesTheSubjectAsDataNotTemplateText) {
  auto own =
      client().Post("/peruser", bearer(sign_jwt({{"sub", "victim"}}).c_str()), "{}", "application/json");
  ASSERT_TRUE(own);
  ASSERT_EQ(own->status, 200) << own->body;
  EXPECT_EQ(upstream_.last_request().header("X-User-Token"), kVictimUserToken);

  for (const char* sub : {"victim}", "victim}{secret:demo/api_token", "victim}{secret:demo/api_token}",
                          "victim@subject}", "{secret:coda/user_token@victim}"})
    expect_no_service_token(sign_jwt({{"sub", sub}}), std::string("sub '") + sub + "'");
}

// A per-user token belongs to (issuer, subject): the same `sub` from another configured issuer, or a JWT user
// whose `sub` equals a static token's subject, is someone else.
TEST_F(GatewayWithStore, PerUserSecretBelongsToIssuerAndSubject) {
  expect_no_service_token(sign_jwt({{"iss", kOtherIssuer}, {"sub", "victim"}}), "victim of the other issuer");
  expect_no_service_token(sign_jwt({{"sub", "alice"}}), "JWT user 'alice'");

  auto static_alice = client().Post("/peruser", bearer(kAlice), "{}", "application/json");
  ASSERT_TRUE(static_alice);
  ASSERT_EQ(static_alice->status, 200);
  EXPECT_EQ(upstream_.last_request().header("X-User-Token"), kAliceUserToken);
  auto victim = client().Post("/peruser", bearer(sign_jwt({{"iss", kIssuer}, {"sub", "victim"}}).c_str()),
                              "{}", "application/json");
  ASSERT_TRUE(victim);
  ASSERT_EQ(victim->status, 200);
  EXPECT_EQ(upstream_.last_request().header("X-User-Token"), kVictimUserToken);
}

TEST_F(GatewayWithStore, RecordsEachPrincipalItServesInTheStore) {
  std::string token = sign_jwt({{"email", "jwt-user@example.com"}});
  ASSERT_EQ(client().Post("/json", bearer(token.c_str()), "{}", "application/json")->status, 200);
  ASSERT_EQ(client().Post("/json", bearer(kAlice), "{}", "application/json")->status, 200);
  auto opened = TokenStore::open(store_options());
  ASSERT_TRUE(opened.ok()) << opened.message();
  auto& store = *opened.value;
  auto found = [](const Result<PrincipalRecord>& r) { return r.ok() && r.value.has_value(); };
  Result<PrincipalRecord> jwt_user{Status{}}, alice{Status{}};  // nothing found yet
  for (int i = 0; i < 250; ++i) {                               // written off the request path: poll, bounded
    jwt_user = store->principal(kIssuer, "user-jwt-1");
    alice = store->principal("static", "alice");
    if (found(jwt_user) && found(alice)) break;
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(found(jwt_user)) << jwt_user.message();
  EXPECT_EQ(jwt_user.value->email, "jwt-user@example.com");
  EXPECT_GT(jwt_user.value->first_seen, 0);
  ASSERT_TRUE(found(alice)) << alice.message();
}

TEST_F(GatewayWithStore, MissingServiceTokenIsLoggedWithItsReason) {
  expect_no_service_token(kBob, "bob");
  serve_->stop(SIGTERM, 10s);
  const auto records = access_records(dir_ + "/stderr.log");
  ASSERT_EQ(records.size(), 1u) << serve_->stderr_text();
  EXPECT_EQ(records[0].value("status", 0), 403) << records[0].dump();
  EXPECT_EQ(records[0].value("reason", ""), "service_token_missing") << records[0].dump();
}

}  // namespace
}  // namespace mcpgate

namespace mcpgate {
namespace {

// [server] tls_cert_file / tls_key_file: the gateway itself speaks HTTPS (a self-signed certificate from
// openssl).
TEST(GatewayTls, ServesHttpsAndTellsTheUpstreamTheSchemeWasHttps) {
  testing::UpstreamServer upstream;
  const std::string dir = ::testing::TempDir() + "mcpgate-gateway-tls-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 -keyout " +
                         dir + "/key.pem -out " + dir + "/cert.pem 2>/dev/null")
                            .c_str()),
            0);
  std::ofstream(dir + "/mcpgate.toml")
      << "[server]\npublic_url = \"https://127.0.0.1/json\"\nport = 0"
      << "\ntls_cert_file = \"" << dir << "/cert.pem\"\ntls_key_file = \"" << dir << "/key.pem\"\n"
      << "[admin]\nenabled = false\n[[static_tokens]]\nname = \"alice\"\nsha256 = \""
      << auth::digest_hex(auth::digest_token(kAlice))
      << "\"\n[[routes]]\nmcp = false\nprefix = \"/json\"\nupstream = \"http://127.0.0.1:" << upstream.port()
      << "\"\n";
  testing::ChildProcess serve({MCPGATE_BINARY, "serve", "--config", dir + "/mcpgate.toml"},
                              dir + "/stderr.log");
  const auto listening = testing::wait_for_log_event(serve, "listening", 20s);
  ASSERT_TRUE(listening) << serve.stderr_text();
  const int port = listening->value("port", 0);
  httplib::SSLClient tls("127.0.0.1", port);
  tls.enable_server_certificate_verification(false);  // self-signed for the test
  tls.set_connection_timeout(5);
  tls.set_read_timeout(10);
  auto r = tls.Post("/json", {{"Authorization", std::string("Bearer ") + kAlice}}, "{}", "application/json");
  ASSERT_TRUE(r) << httplib::to_string(r.error()) << serve.stderr_text();
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(upstream.last_request().header("X-Forwarded-Proto"), "https");
  httplib::Client plain("127.0.0.1", port);  // plain HTTP on the TLS port gets nothing useful
  plain.set_read_timeout(3);
  auto p =
      plain.Post("/json", {{"Authorization", std::string("Bearer ") + kAlice}}, "{}", "application/json");
  EXPECT_TRUE(!p || p->status != 200);
  EXPECT_EQ(serve.stop(SIGTERM, 10s), 0);
  EXPECT_EQ(serve.stderr_text().find(kAlice), std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mcpgate

namespace mcpgate {
namespace {

// An https upstream: verified against [[routes]] upstream_ca_file (host name included); without it the system
// CAs do not know the certificate and the gateway refuses the upstream (502), never sending the request
// unverified.
TEST(GatewayTls, HttpsUpstreamIsVerifiedAgainstTheRoutesCaFile) {
  const std::string dir = ::testing::TempDir() + "mcpgate-gateway-https-up-" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  ASSERT_EQ(std::system(("openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 "
                         "-addext subjectAltName=IP:127.0.0.1 -keyout " +
                         dir + "/up-key.pem -out " + dir + "/up-cert.pem 2>/dev/null")
                            .c_str()),
            0);
  httplib::SSLServer upstream((dir + "/up-cert.pem").c_str(), (dir + "/up-key.pem").c_str());
  ASSERT_TRUE(upstream.is_valid());
  std::atomic<int> served{0};
  upstream.Post("/json", [&](const httplib::Request& req, httplib::Response& res) {
    ++served;
    res.set_content(nlohmann::json{{"subject", req.get_header_value("X-Auth-Subject")}}.dump(),
                    "application/json");
  });
  const int up_port = upstream.bind_to_any_port("127.0.0.1");
  ASSERT_GT(up_port, 0);
  std::thread up_thread([&] { upstream.listen_after_bind(); });

  const std::string up = "https://127.0.0.1:" + std::to_string(up_port);
  std::ofstream(dir + "/mcpgate.toml")
      << "[server]\npublic_url = \"http://127.0.0.1/json\"\nport = 0"
      << "\n[admin]\nenabled = false\n[[static_tokens]]\nname = \"alice\"\nsha256 = \""
      << auth::digest_hex(auth::digest_token(kAlice)) << "\"\n"
      << "[[routes]]\nmcp = false\nprefix = \"/json\"\nupstream = \"" << up << "\"\nupstream_ca_file = \""
      << dir << "/up-cert.pem\"\n"
      << "[[routes]]\nmcp = false\nprefix = \"/untrusted\"\nupstream = \"" << up << "/json\"\n";
  testing::ChildProcess serve({MCPGATE_BINARY, "serve", "--config", dir + "/mcpgate.toml"},
                              dir + "/stderr.log");
  const auto listening = testing::wait_for_log_event(serve, "listening", 20s);
  ASSERT_TRUE(listening) << serve.stderr_text();
  httplib::Client client("127.0.0.1", listening->value("port", 0));
  client.set_read_timeout(10);
  auto trusted =
      client.Post("/json", {{"Authorization", std::string("Bearer ") + kAlice}}, "{}", "application/json");
  ASSERT_TRUE(trusted);
  EXPECT_EQ(trusted->status, 200) << trusted->body;
  EXPECT_EQ(nlohmann::json::parse(trusted->body)["subject"], "alice");
  const int before = served;
  auto untrusted = client.Post("/untrusted", {{"Authorization", std::string("Bearer ") + kAlice}}, "{}",
                               "application/json");
  ASSERT_TRUE(untrusted);
  EXPECT_EQ(untrusted->status, 502);
  EXPECT_EQ(served.load(), before) << "the request reached an upstream whose certificate was not verified";
  EXPECT_EQ(serve.stop(SIGTERM, 10s), 0);
  upstream.stop();
  up_thread.join();
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace mcpgate
