// proxy.hpp — the gateway's decisions for every [[routes]] entry with an `upstream`, without any I/O:
// which upstream a judged request goes to, with which headers, and what the session binding says. The
// network side (src/net/public_server.cpp) asks prepare() once per request and reports the upstream's
// response head to upstream_answered().
//
//   auto created = mcpgate::gateway::Proxy::create(config, resolver, events, principals);  // or why not
//   mcpgate::gateway::Proxy& proxy = **created;
//   mcpgate::gateway::Prepared p = proxy.prepare({.method = "POST", .target = raw, .path = decoded,
//                                                 .headers = fields, .principal = who, ...});
//   if (p.answer) reply(p.answer->status, p.answer->headers, p.answer->body);   // log p.answer->reason
//   else send(p.upstream->method, p.upstream->target, p.upstream->fields) to p.upstream->route->upstream;
//   proxy.upstream_answered(*p.upstream, status, upstream_headers);             // binds/forgets sessions
#pragma once

#include <functional>
#include <mcpgate/config.hpp>
#include <mcpgate/guard.hpp>
#include <mcpgate/status.hpp>
#include <mcpgate/token_store.hpp>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "auth/route_rules.hpp"
#include "core/shared_slot.hpp"
#include "gateway/headers.hpp"
#include "gateway/principal_recorder.hpp"
#include "gateway/secret_injection.hpp"
#include "gateway/session_seal.hpp"
#include "gateway/upstream.hpp"

namespace mcpgate::gateway {

// What the proxy reports as it works (metrics); every member may be empty.
struct ProxyEvents {
  std::function<void(std::string_view route, double seconds)> upstream_headers;  // time to upstream headers
  std::function<void(std::string_view route, std::string_view kind)>
      upstream_error;                           // refused|timeout|broken|secret
  std::function<void(int delta)> open_streams;  // event streams to clients
  std::function<void(int delta)> in_flight;     // proxied requests not yet answered in full
};

// A response the gateway gives itself (JSON errors); never forwarded.
struct Answer {
  int status = 200;
  HeaderList headers;
  std::string body;
  Reason reason = Reason::Ok;  // the refusal's row of the reason table: the access log's and metrics' reason
};

struct ClientRequest {
  std::string_view method;
  std::string_view target;  // raw, as on the request line
  std::string_view path;    // decoded once (http/request_target.hpp): what the Guard judged
  const HeaderList& headers;
  const Principal* principal = nullptr;  // the Guard's verified principal; null on public routes
  std::string_view remote_addr;
  bool remote_trusted = false;
  std::string_view request_id;
  bool tls = false;  // our listener's scheme
};

class Proxy;

// One upstream request, ready to send. It keeps its route table alive (a SIGHUP reload changes only new
// requests).
struct UpstreamRequest {
  std::shared_ptr<const void> table;  // keeps `route`, `upstream` and `pool_key` alive
  const RouteConfig* route = nullptr;
  const Upstream* upstream = nullptr;
  std::string_view pool_key;  // origin + CA file: connections are reused only within one key
  std::string method;
  std::string target;  // path (re-encoded) + "?query"
  // The fields for the upstream as "Name: value\r\n" lines, without framing (the sender adds Host and the
  // body's framing).
  std::string fields;
  const Principal* principal = nullptr;  // the request's (outlives the exchange); null on public routes
  std::string session_id;                // the upstream's own id (unsealed), sent upstream as Mcp-Session-Id
  bool has_session = false;
};

struct Prepared {
  std::optional<Answer> answer;
  std::optional<UpstreamRequest> upstream;
};

class Proxy {
 public:
  // `resolver` may be null when no route injects {secret:...} references. ConfigInvalid naming the route whose
  // upstream URL is unusable, SecretReferenceInvalid for a bad inject_headers reference, StoreKeyInvalid for
  // bad gateway.session_keys. `principals`: the store whose `principals` table records who used the gateway
  // (null: not recorded).
  static Result<std::unique_ptr<Proxy>> create(const Config& config, std::shared_ptr<SecretResolver> resolver,
                                               ProxyEvents events = {},
                                               std::shared_ptr<TokenStore> principals = nullptr);
  ~Proxy();
  Proxy(const Proxy&) = delete;
  Proxy& operator=(const Proxy&) = delete;

  Prepared prepare(const ClientRequest& request) const;
  // The upstream's response head: a new Mcp-Session-Id it issued comes back sealed to the request's owner
  // (the value the client must get instead); nullopt when there is none, or session_binding is off.
  std::optional<std::string> upstream_answered(const UpstreamRequest& request, int status,
                                               const HeaderList& headers) const;
  // True when session ids are sealed with a per-process key (no gateway.session_keys): they survive no
  // restart and no other instance.
  bool sessions_ephemeral() const noexcept { return seal_.ephemeral(); }
  // The upstream route (its prefix) a request belongs to; "" when none. Routing is the Guard's own rule
  // (auth::RouteRules: first matching [[routes]] entry in file order), so a request always goes to the
  // upstream of the very rule its token was judged by.
  std::string route_of(std::string_view method, std::string_view path) const;  // path: decoded
  // SIGHUP: new routes (upstreams, inject_headers) for new requests; exchanges in flight keep theirs.
  // Refused (and nothing changes) for what create() refuses of the routes.
  Status reload(const Config& config);
  const ProxyEvents& events() const noexcept { return events_; }

 private:
  struct Route {
    RouteConfig config;
    Upstream upstream;
    std::unique_ptr<UpstreamHeaderPlan> headers;
    SecretInjection secrets;  // inject_headers, parsed once; filled per request
    std::string pool_key;     // upstream origin + "\n" + CA file
  };
  struct RouteTable {
    explicit RouteTable(const std::vector<RouteConfig>& routes) : rules(routes) {}
    static Result<std::shared_ptr<const RouteTable>> build(const Config& config);
    auth::RouteRules rules;
    std::vector<std::unique_ptr<Route>> by_index;  // [[routes]] position → its upstream (null: none)
    const Route* match(std::string_view method, std::string_view path) const;
  };

  Proxy(const Config& config, std::shared_ptr<SecretResolver> resolver, ProxyEvents events, SessionSeal seal);

  Config config_;
  std::shared_ptr<SecretResolver> resolver_;
  ProxyEvents events_;
  SharedSlot<RouteTable> table_;
  SessionSeal seal_;
  std::unique_ptr<PrincipalRecorder> recorder_;
};

// The identity a session is bound to: "jwt\n<iss>\n<sub>" or "static\n<name>".
std::string session_owner(const Principal& principal);

// A refusal, all of it from its row of the reason table: status http_status(reason), no-store, and
// {"error": reason_name(reason), "error_description": description, or reason_sentence(reason) when empty}.
Answer json_answer(Reason reason, std::string_view description = {});

}  // namespace mcpgate::gateway
