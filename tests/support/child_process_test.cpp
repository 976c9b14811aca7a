// The child-process helper itself, with /bin/sh as the child: bounded waits, no deadlock on full pipes,
// nothing left running.
#include "support/child_process.hpp"

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <string>

namespace mcpgate::testing {
namespace {

using namespace std::chrono_literals;

std::chrono::milliseconds since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

TEST(RunProcess, PumpsStdinStdoutAndStderrTogether) {
  // 1 MiB to stderr before reading a byte of its 1 MiB stdin, then echoed: each far beyond a pipe's buffer.
  const std::string input(1 << 20, 'x');
  const auto out = run_process({"/bin/sh", "-c", "head -c 1048576 /dev/zero >&2; cat"}, input, 30s);
  EXPECT_FALSE(out.timed_out);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.stdout_text, input);
  EXPECT_EQ(out.stderr_text.size(), std::size_t{1} << 20);
}

TEST(RunProcess, KillsAChildStillRunningAfterItsTimeout) {
  const auto start = std::chrono::steady_clock::now();
  const auto out = run_process({"/bin/sleep", "30"}, {}, 200ms);
  EXPECT_TRUE(out.timed_out);
  EXPECT_EQ(out.exit_code, -1);
  EXPECT_LT(since(start), 10s);
}

TEST(RunProcess, ReturnsOnceTheChildExitsThoughAGrandchildStillHoldsItsPipes) {
  const auto start = std::chrono::steady_clock::now();
  const auto out = run_process({"/bin/sh", "-c", "sleep 5 & echo done"}, {}, 30s);
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.stdout_text, "done\n");
  EXPECT_LT(since(start), 4s);
}

TEST(RunProcess, AddsToTheInheritedEnvironmentAndReportsAFailedExecAs127) {
  const auto out = run_process({"/usr/bin/env"}, {{"MCPGATE_CHILD_TEST", "one two"}});
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_NE(out.stdout_text.find("\nMCPGATE_CHILD_TEST=one two\n"), std::string::npos) << out.stdout_text;
  EXPECT_NE(out.stdout_text.find("PATH="), std::string::npos);
  EXPECT_EQ(run_process({"/nonexistent/program"}).exit_code, 127);
}

TEST(ChildProcess, ReadsLinesWhileRunningAndStopsWithTheSignal) {
  ChildProcess child({"/bin/sh", "-c", "echo one; echo two; exec sleep 30"}, Environment{});
  EXPECT_EQ(child.read_line(10s), "one");
  EXPECT_EQ(child.read_line(10s), "two");
  const auto start = std::chrono::steady_clock::now();
  EXPECT_EQ(child.read_line(100ms), std::nullopt);
  EXPECT_LT(since(start), 5s);
  EXPECT_TRUE(child.running());
  EXPECT_EQ(child.stop(SIGKILL, 10s), 128 + SIGKILL);
  EXPECT_FALSE(child.running());
}

TEST(ChildProcess, ServerLogsToAFileAndReportsItsExitStatus) {
  const std::string log =
      std::filesystem::temp_directory_path() / ("child_process_test_" + std::to_string(getpid()));
  ChildProcess server(
      {"/bin/sh", "-c",
       R"(echo '{"msg":"listening","port":5}'; trap 'kill $!; exit 3' TERM; sleep 30 & wait)"},
      log);
  const auto listening = wait_for_log_event(server, "listening", 10s);
  ASSERT_TRUE(listening) << server.stderr_text();
  EXPECT_EQ(listening->value("port", 0), 5);
  EXPECT_EQ(server.stop(SIGTERM, 10s), 3);
  std::filesystem::remove(log);
}

TEST(ChildProcess, DestructorKillsAndReapsAChildStillRunning) {
  pid_t pid = -1;
  {
    ChildProcess child({"/bin/sleep", "30"}, Environment{});
    pid = child.pid();
    ASSERT_GT(pid, 0);
  }
  EXPECT_EQ(::kill(pid, 0), -1);  // gone, and reaped: not even a zombie is left
  EXPECT_EQ(errno, ESRCH);
}

}  // namespace
}  // namespace mcpgate::testing
