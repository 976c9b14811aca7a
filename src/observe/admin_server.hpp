// admin_server.hpp — the admin listener: health, readiness and Prometheus metrics, on its own address and
// port (never the public one), served from its own thread and event loop (Boost.Asio): a saturated public
// listener never delays a probe, and idle or slow connections (a port scanner, a half-open scrape) cost a
// little memory, never a thread. One request per connection; a connection silent for 1 s or stalled for 2 s
// is dropped; past kMaxConnections open connections a new one is closed at once.
//
//   mcpgate::observe::Metrics metrics;
//   mcpgate::observe::AdminServer admin({.listen_address = "127.0.0.1", .port = 9090}, metrics,
//                                       [&](std::string& detail) { return gateway.ready(detail); });
//   std::string error;
//   if (!admin.start(&error)) die(error);     // bound and serving when this returns true
//   ...
//   admin.stop();                             // idempotent; the destructor calls it
//
// Routes: GET /healthz → 200 {"status":"ok"} (the process answers); GET /readyz → 200 {"status":"ready"} or
// 503 {"status":"not_ready","detail":...} from the callback; GET /metrics → 200 text/plain; version=0.0.4;
// anything else → 404. The admin port carries no authentication, which is why it binds to loopback by
// default.
#pragma once

#include <atomic>
#include <functional>
#include <mcpgate/status.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "observe/metrics.hpp"

namespace mcpgate::observe {

class AdminServer {
 public:
  struct Options {
    std::string listen_address = "127.0.0.1";  // loopback: the admin routes carry no authentication
    int port = 9090;                           // Prometheus' customary exporter range; 0 = any free port
  };
  using ReadyCheck = std::function<Status()>;  // Ok: /readyz answers 200; else 503 with the detail

  static constexpr std::size_t kMaxConnections = 256;

  AdminServer(Options options, Metrics& metrics, ReadyCheck ready);
  ~AdminServer();
  AdminServer(const AdminServer&) = delete;
  AdminServer& operator=(const AdminServer&) = delete;

  // Binds and serves on its own thread. ListenFailed when the address cannot be bound or start() was already
  // called; the detail names the address.
  Status start();
  int port() const;  // the bound port (0 before a successful start)
  void stop();       // idempotent; the destructor calls it

 private:
  Options options_;
  Metrics& metrics_;
  ReadyCheck ready_;
  struct Loop;
  std::unique_ptr<Loop> loop_;
  std::thread thread_;
  std::atomic<int> port_{0};
  std::mutex lifecycle_mutex_;
  bool started_ = false;
};

}  // namespace mcpgate::observe
