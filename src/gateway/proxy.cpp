#include "gateway/proxy.hpp"

#include <charconv>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <nlohmann/json.hpp>
#include <stdexcept>
#include <thread>

#include "http/request_target.hpp"
#include "observe/log.hpp"

namespace mcpgate::gateway {

struct Proxy::Exchange {
  std::mutex m;
  std::condition_variable cv;
  bool headers_ready = false;
  bool finished = false;
  bool failed = false;
  bool cancelled = false;
  httplib::Error error = httplib::Error::Success;
  int status = 0;
  httplib::Headers headers;
  std::deque<std::string> chunks;
  std::size_t buffered = 0;
  std::atomic<bool> long_lived{false};  // a GET event stream: closed at once when draining (read by begin_drain)
  std::unique_ptr<httplib::Client> client;
  // Touched only by the thread writing to the client (the content provider), never under `m`.
  std::chrono::steady_clock::time_point last_write{};
  std::string written_tail;  // the last bytes sent: is the client at an event boundary?

  void cancel() {
    {
      std::lock_guard lock(m);
      cancelled = true;
    }
    cv.notify_all();
    client->stop();  // unblocks a worker waiting on the upstream socket
  }
  void wait_finished() {  // the upstream request has returned (after a cancel(), promptly)
    std::unique_lock lock(m);
    cv.wait(lock, [this] { return finished; });
  }
};

namespace {

using Clock = std::chrono::steady_clock;

// An SSE comment line: clients ignore it (WHATWG HTML, "event stream interpretation": lines starting with ':').
constexpr std::string_view kKeepaliveComment = ": keepalive\n\n";

// True when what the client has received so far ends between two events (or nothing was sent yet): only there
// may a comment go without splitting an event the upstream is still writing.
bool at_event_boundary(std::string_view tail) {
  return tail.empty() || tail.ends_with("\n\n") || tail.ends_with("\r\r") || tail.ends_with("\r\n\r\n");
}

// Writes to the client and remembers when and how the stream ended so far. False: the client went away.
bool write_to_client(Proxy::Exchange& ex, httplib::DataSink& sink, std::string_view data) {
  if (!sink.write(data.data(), data.size())) return false;
  ex.last_write = Clock::now();
  ex.written_tail.append(data.substr(data.size() > 4 ? data.size() - 4 : 0));
  if (ex.written_tail.size() > 4) ex.written_tail.erase(0, ex.written_tail.size() - 4);
  return true;
}

void json_error(httplib::Response& res, int status, std::string_view code, std::string_view description) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(nlohmann::json{{"error", code}, {"error_description", description}}.dump(),
                  "application/json");
}

// Re-encodes a decoded, normalised path for the upstream: RFC 3986 pchar plus '/', everything else %XX.
std::string encode_path(std::string_view path) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  out.reserve(path.size());
  for (unsigned char c : path) {
    if (std::isalnum(c) ||
        std::string_view("-._~!$&'()*+,;=:@/").find(static_cast<char>(c)) != std::string_view::npos) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

bool is_event_stream(const httplib::Headers& headers) {
  for (const auto& [k, v] : headers)
    if (canonical_header_name(k) == "content-type") return v.rfind("text/event-stream", 0) == 0;
  return false;
}

std::string header_of(const httplib::Headers& headers, std::string_view canonical) {
  for (const auto& [k, v] : headers)
    if (canonical_header_name(k) == canonical) return v;
  return {};
}

}  // namespace

// The owner of sessions opened on public routes: nobody's principal, so never one of theirs.
constexpr std::string_view kPublicOwner = "public";

std::string session_owner(const Principal& principal) {
  if (principal.source == PrincipalSource::Static) return "static\n" + principal.token_name;
  return "jwt\n" + principal.issuer + "\n" + principal.subject;
}

Proxy::RouteTable::RouteTable(const Config& config) : rules(config.routes) {
  for (const auto& rc : config.routes) {
    if (rc.upstream.empty()) {
      by_index.push_back(nullptr);
      continue;
    }
    auto up = parse_upstream(rc.upstream);
    if (!up) throw std::runtime_error("routes " + rc.prefix + ": upstream is not an http(s) URL");
    auto secrets = SecretInjection::parse(rc.inject_headers);
    if (!secrets.plan) throw std::runtime_error("routes " + rc.prefix + ": inject_headers." + secrets.error);
    by_index.push_back(std::make_unique<Route>(
        Route{rc, *up, std::make_unique<UpstreamHeaderPlan>(config, rc), std::move(*secrets.plan)}));
  }
}

const Proxy::Route* Proxy::RouteTable::match(std::string_view method, std::string_view path) const {
  const auth::RouteRule& rule = rules.match(method, path);
  if (rule.index < 0 || static_cast<std::size_t>(rule.index) >= by_index.size()) return nullptr;
  return by_index[static_cast<std::size_t>(rule.index)].get();
}

Proxy::Proxy(const Config& config, const Guard& guard, std::shared_ptr<SecretResolver> resolver,
             ProxyEvents events, std::shared_ptr<TokenStore> principals)
    : config_(config), guard_(guard), resolver_(std::move(resolver)), events_(std::move(events)) {
  if (principals) recorder_ = std::make_unique<PrincipalRecorder>(std::move(principals));
  table_.store(std::make_shared<const RouteTable>(config_));
  workers_ = std::make_unique<WorkerPool>();
  sessions_ = std::make_unique<SessionRegistry>(config_.gateway.max_sessions,
                                                config_.gateway.max_sessions_per_principal,
                                                config_.gateway.session_idle_ttl, mcpgate::Clock::system());
}

Proxy::~Proxy() {
  cancel_all();
}

void Proxy::reload(const Config& config) {
  auto table = std::make_shared<const RouteTable>(config);  // throws before anything changes
  table_.store(std::move(table));
}

std::string Proxy::route_of(std::string_view method, std::string_view target) const {
  const http::RequestTarget t = http::parse_request_target(target);
  if (!t.ok) return {};
  auto table = table_.load();
  const Route* r = table->match(method, t.path);
  return r ? r->config.prefix : std::string();
}

void Proxy::install(httplib::Server& server) {
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  server.Get(".*", handler);
  server.Post(".*", handler);
  server.Put(".*", handler);
  server.Patch(".*", handler);
  server.Delete(".*", handler);
  server.Options(".*", handler);
}

std::unique_ptr<httplib::Client> Proxy::take_client(const Upstream& upstream, const std::string& ca_file) {
  const std::string key = upstream.origin + "\n" + ca_file;
  {
    std::lock_guard lock(pool_mutex_);
    auto& idle = idle_clients_[key];
    if (!idle.empty()) {
      auto client = std::move(idle.back());
      idle.pop_back();
      return client;
    }
  }
  auto client = std::make_unique<httplib::Client>(upstream.origin);
  if (upstream.tls) {
    client->enable_server_certificate_verification(true);  // and the host name (cpp-httplib checks SAN/CN)
    if (!ca_file.empty()) client->set_ca_cert_path(ca_file.c_str());
  }
  const GatewayConfig& g = config_.gateway;
  const auto seconds = [](double s, auto setter) {
    setter(static_cast<time_t>(s),
           static_cast<time_t>((s - static_cast<double>(static_cast<time_t>(s))) * 1e6));
  };
  seconds(g.connect_timeout, [&](time_t s, time_t us) { client->set_connection_timeout(s, us); });
  seconds(config_.server.write_timeout, [&](time_t s, time_t us) { client->set_write_timeout(s, us); });
  client->set_read_timeout(7 * 86400);  // streams may idle for hours; header_timeout is enforced per request
  client->set_keep_alive(true);         // reused through the idle pool (a dead socket is reconnected)
  client->set_tcp_nodelay(true);
  client->set_url_encode(false);  // the proxy encodes the path itself
  client->set_decompress(true);   // Content-Encoding is dropped towards the client
  return client;
}

void Proxy::release(const std::shared_ptr<Exchange>& ex, const std::string& origin) {
  bool reusable = false;
  {
    std::lock_guard lock(ex->m);
    reusable = ex->finished && !ex->failed && !ex->cancelled && ex->chunks.empty();
  }
  if (!reusable) ex->cancel();
  ex->wait_finished();
  untrack(ex.get());
  if (!reusable || draining_) return;
  std::lock_guard lock(pool_mutex_);
  auto& idle = idle_clients_[origin];
  if (idle.size() < kMaxIdleClients) idle.push_back(std::move(ex->client));
}

void Proxy::track(const std::shared_ptr<Exchange>& exchange) {
  std::lock_guard lock(live_mutex_);
  live_.insert(exchange);
}

void Proxy::untrack(const Exchange* exchange) {
  std::lock_guard lock(live_mutex_);
  for (auto it = live_.begin(); it != live_.end(); ++it)
    if (it->get() == exchange) {
      live_.erase(it);
      return;
    }
}

std::size_t Proxy::active_exchanges() const {
  std::lock_guard lock(live_mutex_);
  return live_.size();
}

void Proxy::begin_drain() {
  draining_ = true;
  std::lock_guard lock(live_mutex_);
  for (const auto& ex : live_)
    if (ex->long_lived) ex->cancel();
}

void Proxy::cancel_all() {
  std::lock_guard lock(live_mutex_);
  for (const auto& ex : live_) ex->cancel();
}

void Proxy::handle(const httplib::Request& req, httplib::Response& res) {
  const auto started = Clock::now();
  const GatewayConfig& g = config_.gateway;
  std::string request_id = req.get_header_value(g.request_id_header.c_str());
  if (!observe::acceptable_request_id(request_id)) request_id = observe::new_request_id();
  res.set_header(g.request_id_header, request_id);

  // In flight until this handler returns or, for a streamed response, until the stream is released.
  std::shared_ptr<void> in_flight;
  if (events_.in_flight) {
    events_.in_flight(+1);
    in_flight = std::shared_ptr<void>(nullptr, [this](void*) { events_.in_flight(-1); });
  }
  if (guard_.answer_pending(req, res)) return;  // refused (or discovery) once its body was read
  // The Guard judged this very decoding of the target (and refused what could be read two ways).
  const http::RequestTarget target = http::parse_request_target(req.target);
  if (!target.ok) return json_error(res, 400, "invalid_request", "The request path is ambiguous.");
  const std::string& path = target.path;
  const std::shared_ptr<const RouteTable> table =
      table_.load();  // this request's routes, even across a reload
  const Route* route = table->match(req.method, path);
  if (!route) return json_error(res, 404, "not_found", "No upstream is configured for this path.");
  const Principal* who = guard_.principal(req);
  // The Guard judged this request by the same rules; checking again against this table's rule keeps a
  // request judged just before a SIGHUP reload from reaching a route whose new rule it does not meet.
  if (!route->config.is_public) {
    if (!who) return json_error(res, 403, "access_denied", "No verified principal for a protected route.");
    if (auth::RouteRules::authorize(table->rules.match(req.method, path), *who) != Reason::Ok)
      return json_error(res, 403, "insufficient_scope", "The token lacks a scope this route requires.");
  }

  // Session binding: a session id answers only to the principal it was issued to through this gateway.
  // Unknown (never seen, forgotten, expired) fails closed: 404 is the transport's "start a new session",
  // and an id we cannot vouch for is never forwarded (the upstream may decode it into someone else's).
  const std::string session_id = req.get_header_value("Mcp-Session-Id");
  const std::string owner = who ? session_owner(*who) : std::string(kPublicOwner);
  if (g.session_binding && req.has_header("Mcp-Session-Id") &&
      sessions_->check(session_id, owner) != SessionCheck::Owner) {
    res.status = 404;
    res.set_content(R"({"jsonrpc":"2.0","error":{"code":-32001,"message":"Session not found"},"id":null})",
                    "application/json");
    return;
  }

  RequestContext context{.principal = who,
                         .remote_addr = req.remote_addr,
                         .remote_trusted = guard_.is_trusted_proxy(req.remote_addr),
                         .request_id = request_id,
                         .scheme = config_.server.tls_cert_file.empty() ? "http" : "https",
                         .injected = {}};
  if (who && recorder_) recorder_->seen(*who);
  // Parsed with the route table; a per-user token is looked up by the principal's identity, never by text.
  Injection injection = route->secrets.fill(resolver_.get(), who);
  switch (injection.failure) {
    case InjectionFailure::None:
      break;
    case InjectionFailure::NoPrincipal:
      return json_error(res, 403, "access_denied", "A per-user service token needs a signed-in user.");
    case InjectionFailure::PerUserTokenMissing:
      return json_error(res, 403, "service_token_missing",
                        "No per-user service token is stored for this user (" + injection.reference +
                            "); an operator can add it with `mcpgate secrets put SERVICE KEY --issuer ISSUER "
                            "--subject SUBJECT`.");
    case InjectionFailure::Unavailable:
      if (events_.upstream_error) events_.upstream_error(route->config.prefix, "secret");
      return json_error(res, 502, "upstream_credentials_unavailable",
                        "A service token this route needs is not available.");
  }
  context.injected = std::move(injection.headers);

  httplib::Request up;
  up.method = req.method;
  up.path = encode_path(route->upstream.map_path(route->config.prefix, path));
  if (auto q = req.target.find('?'); q != std::string::npos) up.path += req.target.substr(q);
  up.headers = route->headers->request_headers(req.headers, context);
  up.body = req.body;

  auto ex = std::make_shared<Exchange>();
  ex->long_lived = req.method == "GET";
  ex->client = take_client(route->upstream, route->config.upstream_ca_file);
  up.headers.emplace("Accept-Encoding", "identity");

  std::weak_ptr<Exchange> weak = ex;
  up.response_handler = [weak](const httplib::Response& r) {
    auto e = weak.lock();
    if (!e) return false;
    std::lock_guard lock(e->m);
    e->status = r.status;
    e->headers = r.headers;
    e->headers_ready = true;
    e->cv.notify_all();
    return !e->cancelled;
  };
  up.content_receiver = [weak](const char* data, std::size_t n, std::uint64_t, std::uint64_t) {
    auto e = weak.lock();
    if (!e) return false;
    std::unique_lock lock(e->m);
    e->cv.wait(lock, [&] { return e->buffered < kMaxBuffered || e->cancelled; });
    if (e->cancelled) return false;
    e->chunks.emplace_back(data, n);
    e->buffered += n;
    e->cv.notify_all();
    return true;
  };
  track(ex);
  workers_->submit([ex, up = std::move(up)]() mutable {
    httplib::Response ignored;
    httplib::Error error = httplib::Error::Success;
    bool ok = ex->client->send(up, ignored, error);
    std::lock_guard lock(ex->m);
    ex->finished = true;
    ex->failed = !ok;
    ex->error = error;
    ex->cv.notify_all();
  });
  const std::string origin = route->upstream.origin + "\n" + route->config.upstream_ca_file;  // the pool key
  auto finish = [this, ex, origin] { release(ex, origin); };  // for responses we do not stream

  // Wait for the upstream's headers (or its failure), at most header_timeout.
  const auto deadline =
      started + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(g.header_timeout));
  {
    std::unique_lock lock(ex->m);
    ex->cv.wait_until(lock, deadline, [&] { return ex->headers_ready || ex->finished; });
  }
  if (!ex->headers_ready) {
    const bool timed_out = !ex->finished;
    finish();
    if (events_.upstream_error)
      events_.upstream_error(route->config.prefix, timed_out ? "timeout" : "refused");
    if (timed_out)
      return json_error(res, 504, "upstream_timeout", "The upstream MCP server did not answer in time.");
    return json_error(res, 502, "upstream_unavailable", "The upstream MCP server could not be reached.");
  }
  if (events_.upstream_headers)
    events_.upstream_headers(route->config.prefix,
                             std::chrono::duration<double>(Clock::now() - started).count());

  res.status = ex->status;
  copy_response_headers(ex->headers, res);
  const bool stream = is_event_stream(ex->headers);
  if (stream) res.set_header("X-Accel-Buffering", "no");
  const std::string upstream_session = header_of(ex->headers, "mcp-session-id");
  if (g.session_binding && !upstream_session.empty() && ex->status < 400)
    sessions_->bind(upstream_session, owner);
  if (req.method == "DELETE" && !session_id.empty() && ex->status >= 200 && ex->status < 300)
    sessions_->forget(session_id);

  std::string content_type = header_of(ex->headers, "content-type");
  res.headers.erase("Content-Type");  // set once below, by set_content / set_chunked_content_provider
  if (req.method == "HEAD" || ex->status == 204 || ex->status == 304) {
    {
      std::unique_lock lock(ex->m);  // no body follows: the exchange ends at once (bounded anyway)
      ex->cv.wait_until(lock, deadline + std::chrono::seconds(1), [&] { return ex->finished; });
    }
    finish();
    if (!content_type.empty()) res.set_header("Content-Type", content_type);
    return;
  }
  if (content_type.empty()) content_type = "application/octet-stream";

  // A small body of known length: wait for it and answer with Content-Length (what JSON clients expect).
  const std::string length = header_of(ex->headers, "content-length");
  std::size_t declared = 0;
  const bool known_length =
      !length.empty() &&
      std::from_chars(length.data(), length.data() + length.size(), declared).ec == std::errc();
  if (!stream && known_length && declared <= kMaxBuffered) {
    std::unique_lock lock(ex->m);
    ex->cv.wait_until(lock, deadline + std::chrono::seconds(1), [&] { return ex->finished; });
    if (ex->finished && !ex->failed) {
      std::string body;
      body.reserve(ex->buffered);
      for (auto& c : ex->chunks) body += c;
      ex->chunks.clear();
      ex->buffered = 0;
      lock.unlock();
      finish();
      res.set_content(std::move(body), content_type);
      return;
    }
  }

  ex->long_lived = ex->long_lived && stream;
  if (stream && events_.open_streams) events_.open_streams(+1);
  const Clock::duration keepalive =
      stream && g.sse_keepalive > 0
          ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(g.sse_keepalive))
          : Clock::duration::zero();
  ex->last_write = Clock::now();
  res.set_chunked_content_provider(
      content_type,
      [this, ex, keepalive](std::size_t, httplib::DataSink& sink) {
        std::unique_lock lock(ex->m);
        for (;;) {
          if (!ex->chunks.empty()) {
            std::string chunk = std::move(ex->chunks.front());
            ex->chunks.pop_front();
            ex->buffered -= chunk.size();
            ex->cv.notify_all();
            lock.unlock();
            return write_to_client(*ex, sink, chunk);  // false: the client went away
          }
          if (ex->finished) {
            if (ex->failed) return false;  // broken upstream: no terminating chunk
            lock.unlock();
            sink.done();
            return true;
          }
          if (ex->cancelled) {
            if (!draining_) return false;
            lock.unlock();
            sink.done();  // drain: end the stream cleanly; MCP clients reconnect elsewhere
            return true;
          }
          Clock::duration wait = std::chrono::seconds(1);
          if (keepalive != Clock::duration::zero() && at_event_boundary(ex->written_tail)) {
            const Clock::duration idle = Clock::now() - ex->last_write;
            if (idle >= keepalive) {
              lock.unlock();
              // A write to a client that has gone fails (at the latest on the second one): the exchange ends
              // and its upstream request is cancelled, instead of waiting for the upstream's next event.
              return write_to_client(*ex, sink, kKeepaliveComment);
            }
            wait = std::min(wait, keepalive - idle);
          }
          ex->cv.wait_for(lock, wait);
        }
      },
      [this, ex, origin, stream, in_flight](bool) {
        release(ex, origin);
        if (stream && events_.open_streams) events_.open_streams(-1);
      });
}

}  // namespace mcpgate::gateway
