// upstream_server.hpp — a real upstream for gateway tests on 127.0.0.1: it records what reached it and can
// answer in JSON, stream server-sent events with delays, stall before its headers, or break mid-stream.
//
//   mcpgate::testing::UpstreamServer up;                 // listens on a free port, on its own thread
//   up.port();
//   //   POST|GET|DELETE /json           200 {"ok":true}; with X-Test-New-Session: 1 also Mcp-Session-Id: s-N
//   //   POST /json/accepted            202, no body, no Content-Type
//   //   GET|POST /sse?n=5&gap_ms=100     5 events, one per chunk, gap_ms apart; then the stream ends
//   //                   ...&split=1      each event in two writes, gap_ms apart (a pause mid-event)
//                   ...&accel=1      with its own X-Accel-Buffering: no
//   //   GET /stall?ms=3000               waits before any header (bounded, ends early when stopped)
//   //   GET /reset                       one event, then the connection is dropped without the last chunk
//   up.requests();                        // every request seen: method, path, headers, body
//   up.wait_for_disconnect(5s);           // true once a /sse client went away (a write failed)
//   up.sent_times();                      // steady_clock instant each /sse event was handed to the socket
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace mcpgate::testing {

struct SeenRequest {
  std::string method, path, body;
  httplib::Headers headers;
  int remote_port = 0;  // the gateway's side of the connection: equal ports = a reused connection
  bool has_header(const std::string& name) const { return headers.find(name) != headers.end(); }
  std::string header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? std::string() : it->second;
  }
};

class UpstreamServer {
 public:
  UpstreamServer();
  ~UpstreamServer();
  UpstreamServer(const UpstreamServer&) = delete;
  UpstreamServer& operator=(const UpstreamServer&) = delete;

  int port() const { return port_; }
  std::vector<SeenRequest> requests() const;
  SeenRequest last_request() const;
  bool wait_for_disconnect(std::chrono::milliseconds timeout);
  std::vector<std::chrono::steady_clock::time_point> sent_times() const;

 private:
  void record(const httplib::Request& req);

  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<int> sessions_{0};
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<SeenRequest> requests_;
  std::vector<std::chrono::steady_clock::time_point> sent_;
  bool disconnected_ = false;
};

}  // namespace mcpgate::testing
