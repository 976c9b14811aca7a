#include "support/pg_test_server.hpp"

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

namespace mcpgate::testing {
namespace {

constexpr const char* kBin = "/usr/lib/postgresql/15/bin";
constexpr const char* kUser = "mcpgate-pg";

int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot find a free port");
  ::close(fd);
  return ntohs(addr.sin_port);
}

int run(const std::string& command) {
  return std::system((command + " >/dev/null 2>&1").c_str());
}

// Runs `command` with its output in `log`; on failure the message ends with the log's last lines.
void run_or_throw(const std::string& command, const std::string& log, const std::string& what) {
  if (std::system((command + " >" + log + " 2>&1").c_str()) == 0) return;
  std::ifstream in(log);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (text.size() > 1500) text = text.substr(text.size() - 1500);
  throw std::runtime_error(what + ": " + text);
}

}  // namespace

// PostgreSQL tests fail (never skip) wherever the server binaries are installed — .ci/install-deps installs
// them — and in CI; they skip only on a developer machine without PostgreSQL 15.
bool postgres_required() {
  const char* ci = std::getenv("CI");
  return (ci && std::string(ci) == "true") || std::filesystem::exists(std::string(kBin) + "/initdb");
}

PostgresTestServer& PostgresTestServer::shared() {
  static PostgresTestServer server;
  return server;
}

bool PostgresTestServer::available() {
  if (!tried_) {
    tried_ = true;
    try {
      start();
    } catch (const std::exception& e) {
      why_ = e.what();
    }
  }
  return started_;
}

std::string PostgresTestServer::conninfo(const std::string& dbname) const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=" + dbname +
         " sslmode=disable connect_timeout=10";
}

void PostgresTestServer::start() {
  if (!std::filesystem::exists(std::string(kBin) + "/initdb") ||
      !std::filesystem::exists(std::string(kBin) + "/pg_ctl"))
    throw std::runtime_error(std::string("PostgreSQL 15 server binaries not found in ") + kBin +
                             " (apt-get install postgresql-15)");
  char tmpl[] = "/tmp/mcpgate-pg-XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (::geteuid() == 0) {
    // Test binaries start in parallel: one useradd at a time (flock), and a lost race is fine.
    if (!::getpwnam(kUser))
      run(std::string("flock /tmp/mcpgate-pg-useradd.lock sh -c 'id -u ") + kUser +
          " || useradd --system --no-create-home --shell /usr/sbin/nologin " + kUser + "'");
    if (!::getpwnam(kUser)) throw std::runtime_error(std::string("cannot create system user ") + kUser);
    if (run("chown " + std::string(kUser) + " " + dir_) != 0)
      throw std::runtime_error("chown of the temp dir failed");
    run_as_ = std::string("runuser -u ") + kUser + " -- ";
  }
  const std::string data = dir_ + "/data";
  run_or_throw(run_as_ + kBin + "/initdb -D " + data + " -U postgres -A trust --no-sync -E UTF8 --no-locale",
               dir_ + "/initdb.log", "initdb failed in " + dir_);
  // Another process may take the port between free_port() and the server's bind: try a few.
  bool up = false;
  for (int attempt = 0; attempt < 3 && !up; ++attempt) {
    port_ = free_port();
    up = run(run_as_ + kBin + "/pg_ctl -D " + data + " -l " + dir_ + "/server.log -w -t 60 -o '" +
             server_options() + "' start") == 0;
  }
  if (!up) throw std::runtime_error("pg_ctl start failed; see " + dir_ + "/server.log");
  // If this test binary dies without its Environment's TearDown (a crash, a sanitizer abort), a watchdog
  // stops the server and removes the temp dir, so no postgres outlives the test run.
  std::system(("setsid nohup sh -c 'while kill -0 " + std::to_string(::getpid()) +
               " 2>/dev/null; do sleep 1; done; " + run_as_ + kBin + "/pg_ctl -D " + data +
               " -m immediate stop; rm -rf " + dir_ + "' >/dev/null 2>&1 &")
                  .c_str());
  started_ = true;
}

std::string PostgresTestServer::create_database(const std::string& name) {
  const std::string psql = run_as_ + kBin + "/psql -h 127.0.0.1 -p " + std::to_string(port_) +
                           " -U postgres -d postgres -v ON_ERROR_STOP=1 -c ";
  run(psql + "'DROP DATABASE IF EXISTS \"" + name + "\" WITH (FORCE)'");
  if (run(psql + "'CREATE DATABASE \"" + name + "\"'") != 0)
    throw std::runtime_error("CREATE DATABASE failed");
  return conninfo(name);
}

std::string PostgresTestServer::server_options() const {
  return "-p " + std::to_string(port_) + " -k " + dir_ +
         " -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100";
}

void PostgresTestServer::restart() {
  if (run(run_as_ + kBin + "/pg_ctl -D " + dir_ + "/data -l " + dir_ + "/server.log -w -t 60 -m fast -o '" +
          server_options() + "' restart") != 0)
    throw std::runtime_error("pg_ctl restart failed");
}

void PostgresTestServer::stop() {
  if (!started_) return;
  run(run_as_ + kBin + "/pg_ctl -D " + dir_ + "/data -w -t 60 -m immediate stop");
  started_ = false;
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace mcpgate::testing
