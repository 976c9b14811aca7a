// proxy.hpp — the gateway: every [[routes]] entry with an `upstream` streamed through to that MCP server.
//
//   mcpgate::Guard guard{config};
//   httplib::Server server;
//   guard.install(server);                                  // discovery, challenges, the check
//   mcpgate::gateway::Proxy proxy(config, guard, resolver); // resolver: {secret:...} in inject_headers
//   proxy.install(server);                                  // all methods, on every upstream route
//   ...
//   proxy.begin_drain();            // SIGTERM: GET event streams end now, the rest may finish
//   proxy.cancel_all();             // drain timeout reached: every upstream exchange is cut
//
// Streaming: the upstream is read on a thread of its own; each chunk it sends is written to the client as it
// arrives (chunked encoding, no buffering; `X-Accel-Buffering: no` on event streams), with at most
// kMaxBuffered bytes in between (backpressure). A client that goes away cancels the upstream request at the
// next chunk; an upstream that ends ends the client's response; an upstream that breaks mid-stream breaks it
// (no terminating chunk, so the client sees a truncated stream, never a silently complete one).
// Failures before the upstream's headers: refused/unreachable → 502, no headers within
// gateway.header_timeout → 504, both JSON; nothing is retried.
#pragma once

#include <httplib.h>

#include <atomic>
#include <functional>
#include <map>
#include <mcpgate/config.hpp>
#include <mcpgate/guard.hpp>
#include <mcpgate/token_store.hpp>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "auth/route_rules.hpp"
#include "gateway/headers.hpp"
#include "gateway/principal_recorder.hpp"
#include "gateway/secret_injection.hpp"
#include "gateway/session_registry.hpp"
#include "gateway/upstream.hpp"
#include "gateway/worker_pool.hpp"
#include "core/shared_slot.hpp"

namespace mcpgate::gateway {

// What the proxy reports as it works (metrics); every member may be empty.
struct ProxyEvents {
  std::function<void(std::string_view route, double seconds)> upstream_headers;  // time to upstream headers
  std::function<void(std::string_view route, std::string_view kind)>
      upstream_error;                           // refused|timeout|broken|secret
  std::function<void(int delta)> open_streams;  // event streams to clients
  std::function<void(int delta)> in_flight;     // proxied requests not yet answered in full
};

class Proxy {
 public:
  static constexpr std::size_t kMaxBuffered =
      1 << 20;  // bytes read from upstream not yet written to the client
  static constexpr std::size_t kMaxIdleClients = 64;  // kept-alive upstream connections per origin

  // `resolver` may be null when no route injects {secret:...} references. Throws std::runtime_error naming
  // the route whose upstream URL is unusable.
  // `principals`: the store whose `principals` table records who used the gateway (null: not recorded).
  Proxy(const Config& config, const Guard& guard, std::shared_ptr<SecretResolver> resolver,
        ProxyEvents events = {}, std::shared_ptr<TokenStore> principals = nullptr);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  void install(httplib::Server& server);
  // The upstream route (its prefix) a request belongs to; "" when none. Routing is the Guard's own rule
  // (auth::RouteRules: first matching [[routes]] entry in file order), so a request always goes to the
  // upstream of the very rule its token was judged by.
  std::string route_of(std::string_view method, std::string_view target) const;  // target: raw
  // SIGHUP: new routes (upstreams, inject_headers) for new requests; exchanges in flight keep theirs.
  // Throws std::runtime_error (and changes nothing) when an upstream URL is unusable.
  void reload(const Config& config);

  void begin_drain();
  void cancel_all();
  std::size_t active_exchanges() const;
  const SessionRegistry& sessions() const noexcept { return *sessions_; }

  struct Exchange;

 private:
  struct Route {
    RouteConfig config;
    Upstream upstream;
    std::unique_ptr<UpstreamHeaderPlan> headers;
    SecretInjection secrets;  // inject_headers, parsed once; filled per request
  };
  struct RouteTable {
    explicit RouteTable(const Config& config);
    auth::RouteRules rules;
    std::vector<std::unique_ptr<Route>> by_index;  // [[routes]] position → its upstream (null: none)
    const Route* match(std::string_view method, std::string_view path) const;
  };
  void handle(const httplib::Request& req, httplib::Response& res);
  // Pool key: the origin, plus the CA file for https upstreams that name one.
  std::unique_ptr<httplib::Client> take_client(const Upstream& upstream, const std::string& ca_file);
  // Ends an exchange: a cleanly finished one returns its kept-alive connection to the idle pool, any other is
  // cancelled (its upstream connection closed).
  void release(const std::shared_ptr<Exchange>& exchange, const std::string& origin);
  void track(const std::shared_ptr<Exchange>& exchange);
  void untrack(const Exchange* exchange);

  Config config_;
  const Guard& guard_;
  std::shared_ptr<SecretResolver> resolver_;
  ProxyEvents events_;
  SharedSlot<RouteTable> table_;
  std::unique_ptr<SessionRegistry> sessions_;
  std::atomic<bool> draining_{false};
  mutable std::mutex live_mutex_;
  std::set<std::shared_ptr<Exchange>> live_;
  std::unique_ptr<PrincipalRecorder> recorder_;
  std::unique_ptr<WorkerPool> workers_;  // threads reading upstream responses
  std::mutex pool_mutex_;
  std::map<std::string, std::vector<std::unique_ptr<httplib::Client>>> idle_clients_;
};

// The identity a session is bound to: "jwt\n<iss>\n<sub>" or "static\n<name>".
std::string session_owner(const Principal& principal);

}  // namespace mcpgate::gateway
