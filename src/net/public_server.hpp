// public_server.hpp — the public listener of `mcpgate serve` on Boost.Asio: HTTP/1.1 (and TLS) from
// clients, the Guard's decision, discovery and forward-auth answers, and every upstream route streamed
// through a per-thread pool of upstream connections.
//
//   mcpgate::net::PublicServer server(config, guard, proxy, [&](const mcpgate::net::Completed& c) { log(c); });
//   if (mcpgate::Status s = server.open(); !s.ok()) die(s.message());  // bound, TLS loaded
//   std::thread t([&] { server.run(); });      // server.threads event loops (0 = one per core)
//   ...
//   server.begin_drain();   // SIGTERM: stop accepting; event streams end now; the rest may finish
//   server.stop();          // drain_timeout reached: every connection is cut and run() returns
//
// Who owns what: each event loop (one thread, one io_context) owns the client connections it accepted and
// the upstream connections they use — its own idle pool, no lock on the data path. A request is read,
// judged (Guard::Impl), then its body is streamed to the upstream as it arrives; the response is relayed
// read-one-buffer / write-it, so backpressure is the client's socket: the upstream is not read while the
// client has not taken the last buffer (at most one buffer per stream in memory). docs/operations.md
// says what to size.
#pragma once

#include <cstdint>
#include <functional>
#include <mcpgate/config.hpp>
#include <mcpgate/guard.hpp>
#include <memory>
#include <string>

#include "gateway/proxy.hpp"

namespace mcpgate::net {

// One finished request, for the access log and metrics (views valid during the callback only).
struct Completed {
  std::string_view method, target, route, request_id, remote_addr;
  int status = 0;
  Reason reason = Reason::Ok;
  const Principal* principal = nullptr;
  bool routed_public = false;
  double elapsed_ms = 0;
  std::uint64_t bytes_out = 0;  // body bytes sent to the client
  // An MCP request (an inspected body, or forward-auth's Mcp-Method/Mcp-Name): what it asked, which rule decided.
  std::string_view mcp_method, mcp_target, rule;
};

class PublicServer {
 public:
  PublicServer(const Config& config, Guard& guard, gateway::Proxy& proxy,
               std::function<void(const Completed&)> completed);
  ~PublicServer();
  PublicServer(const PublicServer&) = delete;
  PublicServer& operator=(const PublicServer&) = delete;

  // Binds the listener and loads the TLS certificate: TlsUnusable, ConfigInvalid (the address) or ListenFailed.
  Status open();
  int port() const noexcept;
  void run();          // the event loops; returns after stop()
  void begin_drain();  // stop accepting; end event streams cleanly; idle connections close
  std::size_t active_exchanges() const noexcept;  // upstream exchanges in flight
  void stop();                                    // cut everything; run() returns

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace mcpgate::net
