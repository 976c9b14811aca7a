// log_test.cpp — JSON-lines logging: one valid object per line, query strings dropped, no interleaving under
// concurrent writers (through the real stderr sink into a real file), request ids.
//
//   std::vector<std::string> lines;  Logger log([&](std::string_view l) { lines.emplace_back(l); }, clock);
//   log.access({.path = "/mcp?token=x"});  // lines[0] has "path":"/mcp" and no "token=x"
#include "observe/log.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mcpgate/clock.hpp>
#include <regex>
#include <set>
#include <sstream>
#include <thread>
#include <vector>

namespace mcpgate::observe {
namespace {

struct Captured {
  std::vector<std::string> lines;
  LogSink sink() {
    return [this](std::string_view l) { lines.emplace_back(l); };
  }
};

TEST(LogTest, EventLineIsOneJsonObjectStartingWithTsLevelMsg) {
  Captured out;
  Logger log(out.sink(), std::make_shared<ManualClock>(1893456000.123));
  log.event("warn", "jwks refresh failed", {{"issuer", "https://a.example"}, {"attempt", 3}});
  ASSERT_EQ(out.lines.size(), 1u);
  EXPECT_EQ(out.lines[0].find('\n'), std::string::npos);
  EXPECT_EQ(out.lines[0].rfind(
                R"({"ts":"2030-01-01T00:00:00.123Z","level":"warn","msg":"jwks refresh failed",)", 0),
            0u)
      << out.lines[0];
  auto j = nlohmann::json::parse(out.lines[0]);
  EXPECT_EQ(j["issuer"], "https://a.example");
  EXPECT_EQ(j["attempt"], 3);
}

TEST(LogTest, TimestampIsRfc3339UtcWithMilliseconds) {
  EXPECT_EQ(rfc3339_utc_millis(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(rfc3339_utc_millis(1700000000.9996), "2023-11-14T22:13:21.000Z");  // rounds into the next second
  Captured out;
  Logger log(out.sink());  // the system clock
  log.event("info", "started");
  auto ts = nlohmann::json::parse(out.lines.at(0))["ts"].get<std::string>();
  EXPECT_TRUE(std::regex_match(ts, std::regex(R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z)"))) << ts;
}

TEST(LogTest, FieldsCannotForgeTsLevelOrMsg) {
  Captured out;
  Logger log(out.sink(), std::make_shared<ManualClock>(0));
  log.event("info", "real", {{"msg", "forged"}, {"level", "debug"}, {"ts", "x"}, {"k", "v"}});
  log.event("info", "scalar", 42);
  auto j = nlohmann::json::parse(out.lines.at(0));
  EXPECT_EQ(j["msg"], "real");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["ts"], "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(j["k"], "v");
  EXPECT_EQ(nlohmann::json::parse(out.lines.at(1))["fields"], 42);
}

TEST(LogTest, AccessLineCarriesTheRecordAndDropsTheQueryString) {
  Captured out;
  Logger log(out.sink(), std::make_shared<ManualClock>(0));
  AccessRecord r;
  r.request_id = "abc123";
  r.method = "POST";
  r.path = "/mcp/tools?access_token=s3cr3t-value&x=1#frag";
  r.route = "/mcp";
  r.auth_source = "jwt";
  r.subject = "user-1";
  r.upstream = "http://127.0.0.1:8000";
  r.status = 200;
  r.duration_ms = 12.3456;
  r.bytes_out = 512;
  r.remote_addr = "127.0.0.1";
  log.access(r);
  ASSERT_EQ(out.lines.size(), 1u);
  EXPECT_EQ(out.lines[0].find("s3cr3t"), std::string::npos) << out.lines[0];
  EXPECT_EQ(out.lines[0].find("frag"), std::string::npos) << out.lines[0];
  auto j = nlohmann::json::parse(out.lines[0]);
  EXPECT_EQ(j["msg"], "access");
  EXPECT_EQ(j["level"], "info");
  EXPECT_EQ(j["path"], "/mcp/tools");
  EXPECT_EQ(j["request_id"], "abc123");
  EXPECT_EQ(j["method"], "POST");
  EXPECT_EQ(j["route"], "/mcp");
  EXPECT_EQ(j["auth_source"], "jwt");
  EXPECT_EQ(j["subject"], "user-1");
  EXPECT_EQ(j["upstream"], "http://127.0.0.1:8000");
  EXPECT_EQ(j["status"], 200);
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 12.346);
  EXPECT_EQ(j["bytes_out"], 512);
  EXPECT_EQ(j["remote_addr"], "127.0.0.1");
  EXPECT_FALSE(j.contains("reason"));  // empty optional fields are left out
  EXPECT_EQ(path_without_query("/a#b?c"), "/a");
  EXPECT_EQ(path_without_query("/plain"), "/plain");
}

TEST(LogTest, InvalidUtf8IsReplacedInsteadOfThrowing) {
  Captured out;
  Logger log(out.sink(), std::make_shared<ManualClock>(0));
  AccessRecord r;
  r.path = "/bad\xff\xfe";
  r.method = "GET";
  EXPECT_NO_THROW(log.access(r));
  ASSERT_EQ(out.lines.size(), 1u);
  nlohmann::json parsed;
  EXPECT_NO_THROW(parsed = nlohmann::json::parse(out.lines[0]));
  EXPECT_EQ(parsed["path"].get<std::string>().rfind("/bad", 0), 0u);
}

// Writers hammer one logger; the sink (no lock of its own) appends to one buffer. Every line must come out
// whole: the logger serialises sink calls.
TEST(LogTest, ConcurrentWritersNeverInterleaveThroughACustomSink) {
  std::string buffer;
  Logger log([&](std::string_view line) { buffer.append(line).push_back('\n'); });
  constexpr int kThreads = 6, kEach = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < kEach; ++i)
        log.event("info", "tick",
                  {{"thread", t}, {"seq", i}, {"pad", std::string(static_cast<std::size_t>(i % 97), 'x')}});
    });
  for (auto& th : threads) th.join();
  std::istringstream in(buffer);
  std::set<std::pair<int, int>> seen;
  for (std::string line; std::getline(in, line);) {
    auto j = nlohmann::json::parse(line);  // throws (fails the test) on a torn line
    seen.emplace(j["thread"].get<int>(), j["seq"].get<int>());
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kEach));
}

// The real stderr sink, with fd 2 pointed at a real file; lines up to ~9 KiB so a torn write would show.
TEST(LogTest, ConcurrentWritersNeverInterleaveThroughTheStderrSink) {
  char path[] = "/tmp/mcpgate-log-test-XXXXXX";
  int fd = mkstemp(path);
  ASSERT_GE(fd, 0);
  int saved = dup(STDERR_FILENO);
  ASSERT_GE(saved, 0);
  ASSERT_GE(dup2(fd, STDERR_FILENO), 0);
  constexpr int kThreads = 4, kEach = 500;
  {
    Logger log;  // stderr_sink()
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t)
      threads.emplace_back([&, t] {
        for (int i = 0; i < kEach; ++i)
          log.event("info", "tick",
                    {{"thread", t},
                     {"seq", i},
                     {"pad", std::string(static_cast<std::size_t>((i * 37) % 9000), 'y')}});
      });
    for (auto& th : threads) th.join();
  }
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(fd);
  std::ifstream in(path);
  std::set<std::pair<int, int>> seen;
  std::size_t lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++lines;
    nlohmann::json j;
    ASSERT_NO_THROW(j = nlohmann::json::parse(line)) << "line " << lines << " is not one JSON object";
    seen.emplace(j["thread"].get<int>(), j["seq"].get<int>());
  }
  std::remove(path);
  EXPECT_EQ(lines, static_cast<std::size_t>(kThreads * kEach));
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(kThreads * kEach));
}

TEST(LogTest, NewRequestIdIs32LowercaseHexAndUnique) {
  std::set<std::string> ids;
  for (int i = 0; i < 1000; ++i) {
    std::string id = new_request_id();
    ASSERT_TRUE(std::regex_match(id, std::regex("[0-9a-f]{32}"))) << id;
    EXPECT_TRUE(acceptable_request_id(id));
    ids.insert(id);
  }
  EXPECT_EQ(ids.size(), 1000u);
}

TEST(LogTest, NewRequestIdIsUniqueAcrossThreads) {
  constexpr int kEach = 2000;
  std::vector<std::string> a, b;
  std::thread t1([&] {
    for (int i = 0; i < kEach; ++i) a.push_back(new_request_id());
  });
  std::thread t2([&] {
    for (int i = 0; i < kEach; ++i) b.push_back(new_request_id());
  });
  t1.join();
  t2.join();
  std::set<std::string> ids(a.begin(), a.end());
  ids.insert(b.begin(), b.end());
  EXPECT_EQ(ids.size(), 2u * kEach);
  EXPECT_NE(a.front().substr(0, 16), b.front().substr(0, 16));  // each thread draws its own random prefix
}

TEST(LogTest, AcceptableRequestIdAllowsOneTo128SafeCharacters) {
  EXPECT_TRUE(acceptable_request_id("a"));
  EXPECT_TRUE(acceptable_request_id("Req-01.abc_XYZ"));
  EXPECT_TRUE(acceptable_request_id(std::string(128, 'z')));
  EXPECT_FALSE(acceptable_request_id(""));
  EXPECT_FALSE(acceptable_request_id(std::string(129, 'z')));
  for (const char* bad : {"a b", "a/b", "a\"b", "a\nb", "a:b", "caf\xc3\xa9", "a{b}", "a\\b", "a,b"})
    EXPECT_FALSE(acceptable_request_id(bad)) << bad;
  EXPECT_FALSE(acceptable_request_id(std::string_view("a\0b", 3)));
}

}  // namespace
}  // namespace mcpgate::observe
