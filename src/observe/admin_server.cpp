#include "observe/admin_server.hpp"

#include <httplib.h>
#include <sys/socket.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace mcpgate::observe {
namespace {

constexpr const char* kJson = "application/json";
constexpr const char* kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

// cpp-httplib serves a connection on one thread for its whole life, so the liveness probe answers only if a
// thread is free: idle or slow connections (a port scanner, a half-open scrape; the container image binds
// 0.0.0.0) must neither outnumber the threads nor keep them long. One request per connection, a silent
// connection is dropped after 1 s, a stalled read or write after 2 s. Beyond kConnectionThreads connections
// the rest wait their turn: cpp-httplib 0.11's TaskQueue::enqueue cannot refuse a connection (the task owns
// the socket), so a cap that closes the excess needs the Beast listener.
constexpr std::size_t kConnectionThreads = 32;

void configure(httplib::Server& server) {
  server.set_tcp_nodelay(true);  // docs/standards.md §8: Nagle + delayed ACK stall keep-alive scrapes
  server.set_read_timeout(2, 0);
  server.set_write_timeout(2, 0);
  server.set_keep_alive_timeout(1);     // also the wait for the first request of a connection
  server.set_keep_alive_max_count(1);   // probes and scrapes open a connection per request anyway
  server.set_payload_max_length(1024);  // no admin route takes a body
  server.new_task_queue = [] { return new httplib::ThreadPool(kConnectionThreads); };
  // cpp-httplib's default sets SO_REUSEPORT, which lets a second process bind the same port and silently take
  // a share of the scrapes. SO_REUSEADDR alone still allows a restart while old connections sit in TIME_WAIT.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  // Never put exception text on the wire (cpp-httplib's default sends it in EXCEPTION_WHAT).
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    res.headers.clear();
    res.status = 500;
    res.set_content(R"({"error":"internal_error"})", kJson);
  });
  // Called for every status >= 400; only unrouted requests arrive without a body.
  server.set_error_handler([](const httplib::Request&, httplib::Response& res) {
    if (res.body.empty() && res.status == 404) res.set_content(R"({"error":"not_found"})", kJson);
  });
}

}  // namespace

AdminServer::AdminServer(Options options, Metrics& metrics, ReadyCheck ready)
    : options_(std::move(options)), metrics_(metrics), ready_(std::move(ready)) {}

AdminServer::~AdminServer() {
  stop();
}

bool AdminServer::start(std::string* error) {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) return fail("admin server already started");
  auto server = std::make_unique<httplib::Server>();
  configure(*server);
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"ok"})", kJson);
  });
  server->Get("/readyz", [this](const httplib::Request&, httplib::Response& res) {
    std::string detail;
    bool ready = ready_ ? ready_(detail) : true;
    if (ready) {
      res.set_content(R"({"status":"ready"})", kJson);
      return;
    }
    res.status = 503;
    nlohmann::json body{{"status", "not_ready"}, {"detail", detail}};
    res.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace), kJson);
  });
  server->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), kPrometheusText);
  });

  int port = options_.port;
  if (port == 0) {
    port = server->bind_to_any_port(options_.listen_address);
    if (port <= 0) return fail("cannot bind the admin listener to " + options_.listen_address + ":0");
  } else if (port < 0 || port > 65535 || !server->bind_to_port(options_.listen_address, port)) {
    return fail("cannot bind the admin listener to " + options_.listen_address + ":" + std::to_string(port));
  }
  port_ = port;
  server_ = std::move(server);
  listen_returned_ = false;
  thread_ = std::thread([this] {
    server_->listen_after_bind();
    listen_returned_ = true;
  });
  // cpp-httplib's stop() does nothing until the accept loop has set is_running(); wait for it (bounded) so
  // that a stop() right after start() cannot leave the thread accepting forever. The socket is already
  // listening, so connections made meanwhile just queue.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!server_->is_running() && !listen_returned_ && std::chrono::steady_clock::now() < deadline)
    std::this_thread::yield();
  if (listen_returned_) {
    thread_.join();
    server_.reset();
    port_ = 0;
    return fail("the admin listener stopped as it started");
  }
  started_ = true;
  return true;
}

int AdminServer::port() const {
  return port_;
}

void AdminServer::stop() {
  std::lock_guard lock(lifecycle_mutex_);
  if (!started_) return;
  // Bounded: the loop only repeats while the accept loop has not yet begun (see start()).
  for (int i = 0; i < 10000 && !listen_returned_; ++i) {
    if (server_->is_running()) {
      server_->stop();
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (thread_.joinable()) thread_.join();
  started_ = false;
}

}  // namespace mcpgate::observe
