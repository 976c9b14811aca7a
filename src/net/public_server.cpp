// The public listener on Boost.Asio (see public_server.hpp for who owns what). One of the two translation
// units that include Asio (the other: observe/admin_server.cpp).
#include "net/public_server.hpp"

#include <openssl/ssl.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/asio/ssl.hpp>
#include <cctype>
#include <chrono>
#include <list>
#include <map>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "gateway/headers.hpp"
#include "http/challenge.hpp"
#include "http/forward_auth.hpp"
#include "http/guard.hpp"
#include "http/request_extractor.hpp"
#include "http/request_target.hpp"
#include "net/http1.hpp"
#include "observe/log.hpp"

namespace mcpgate::net {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using boost::system::error_code;
// Every object of a loop runs on that loop's io_context: its concrete executor, not the type-erased
// any_io_executor (which costs an indirection and a work-count update on every operation).
using Executor = asio::io_context::executor_type;
using Socket = asio::basic_stream_socket<tcp, Executor>;
using Acceptor = asio::basic_socket_acceptor<tcp, Executor>;
using Resolver = asio::ip::basic_resolver<tcp, Executor>;
using Timer = asio::basic_waitable_timer<Clock, asio::wait_traits<Clock>, Executor>;
template <class T>
using task = asio::awaitable<T, Executor>;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable_t<Executor>{});

constexpr std::size_t kRelayBuffer = 16 * 1024;        // one read from the upstream or the client
constexpr std::size_t kMaxResponseHead = 64 * 1024;    // an upstream's response head
constexpr std::size_t kMaxIdlePerOrigin = 64;          // kept-alive upstream connections per loop and origin
constexpr auto kPoolIdle = std::chrono::seconds(2);    // an idle upstream connection older than this is closed
constexpr std::size_t kMaxLingerBytes = 64 * 1024;     // read and dropped before closing after an answer
constexpr std::size_t kMaxDiscardBytes = 1 << 20;      // a refused request's body read to keep the connection
constexpr std::string_view kKeepaliveComment = ": keepalive\n\n";

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// A client or upstream connection, plain or TLS, with one deadline: when it passes, the socket's pending
// operations are cancelled and `expired` says why they ended.
class Stream {
 public:
  explicit Stream(Socket s) : plain_(std::move(s)), timer_(plain_->get_executor()) {}
  Stream(Socket s, ssl::context& ctx)
      : tls_(std::make_unique<ssl::stream<Socket>>(std::move(s), ctx)), timer_(tls_->get_executor()) {}

  Socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
  ssl::stream<Socket>* tls() { return tls_.get(); }

  // Reads what is there (at least a byte, at most kRelayBuffer) and appends it to `out`. A plain socket waits
  // for readability and then reads into the event loop's scratch buffer, so an idle connection or a waiting
  // stream holds no read buffer of its own; TLS reads into a buffer that lives only while it waits.
  // Expiry is sticky: once the deadline passed, no operation starts until a new deadline is set (a read
  // whose completion was already queued when the watcher cancelled must not start an unbounded next one).
  task<std::pair<error_code, std::size_t>> read_append(std::string& out) {
    if (expired_) co_return std::pair{error_code(asio::error::timed_out), std::size_t{0}};
    if (tls_) {
      // On the heap, for this read only: a coroutine frame holds every local of every branch, and 16 KiB
      // in this frame would be held by every waiting plain stream too.
      const auto buf = std::make_unique_for_overwrite<char[]>(kRelayBuffer);
      auto [ec, n] = co_await tls_->async_read_some(asio::buffer(buf.get(), kRelayBuffer), kAwait);
      if (!ec) out.append(buf.get(), n);
      co_return std::pair{ec, n};
    }
    static thread_local std::array<char, kRelayBuffer> scratch;  // one per event loop (one thread each)
    // Direct reads must never block the loop (an upstream socket is opened after construction, so here).
    if (!plain_->non_blocking()) {
      error_code ec;
      plain_->non_blocking(true, ec);
      if (ec) co_return std::pair{ec, std::size_t{0}};
    }
    for (;;) {
      error_code ec;
      const std::size_t n = plain_->read_some(asio::buffer(scratch), ec);
      if (!ec) {
        out.append(scratch.data(), n);  // before any suspension: nobody else can have used the scratch
        co_return std::pair{ec, n};
      }
      if (ec != asio::error::would_block && ec != asio::error::try_again) co_return std::pair{ec, std::size_t{0}};
      auto [wec] = co_await plain_->async_wait(Socket::wait_read, kAwait);
      if (wec) co_return std::pair{wec, std::size_t{0}};
      if (expired_) co_return std::pair{error_code(asio::error::timed_out), std::size_t{0}};
    }
  }
  // One gather write of up to four parts (a head and a chunk's size line, data and CRLF go out together).
  task<error_code> write(std::string_view a, std::string_view b = {}, std::string_view c = {},
                         std::string_view d = {}) {
    if (expired_) co_return error_code(asio::error::timed_out);
    const std::array<asio::const_buffer, 4> bufs{asio::buffer(a), asio::buffer(b), asio::buffer(c), asio::buffer(d)};
    if (tls_) {
      auto [ec, n] = co_await asio::async_write(*tls_, bufs, kAwait);
      co_return ec;
    }
    auto [ec, n] = co_await asio::async_write(*plain_, bufs, kAwait);
    co_return ec;
  }

  // The deadline. A watcher coroutine (watch()) sleeps until it and cancels what is pending.
  void expire_after(Clock::duration d) {
    at_ = Clock::now() + d;
    expired_ = false;
    if (at_ < timer_.expiry()) timer_.cancel();  // the watcher re-arms for the earlier time
  }
  void no_deadline() {
    at_ = Clock::time_point::max();
    expired_ = false;
  }
  bool expired() const noexcept { return expired_; }
  void close() {
    stopped_ = true;
    timer_.cancel();
    error_code ignored;
    socket().shutdown(Socket::shutdown_both, ignored);
    socket().close(ignored);
  }
  void interrupt() {  // pending operations end with operation_aborted (drain, stop)
    error_code ignored;
    socket().cancel(ignored);
  }
  // Once expired, it keeps cancelling (every 50 ms) until a new deadline is set: a composed write between
  // two of its steps, or a read that completed just before the first cancel, cannot outlive the deadline.
  static task<void> watch(std::shared_ptr<Stream> self) {
    while (!self->stopped_) {
      self->timer_.expires_at(self->expired_ ? Clock::now() + std::chrono::milliseconds(50) : self->at_);
      co_await self->timer_.async_wait(kAwait);
      if (self->stopped_) break;
      if (self->expired_) {
        self->interrupt();
      } else if (Clock::now() >= self->at_) {
        self->expired_ = true;
        self->at_ = Clock::time_point::max();
        self->interrupt();
      }
    }
  }

 private:
  std::optional<Socket> plain_;
  std::unique_ptr<ssl::stream<Socket>> tls_;
  Timer timer_;
  Clock::time_point at_ = Clock::time_point::max();
  bool expired_ = false, stopped_ = false;
};

std::shared_ptr<Stream> open_stream(Socket s, ssl::context* tls) {
  auto stream = tls ? std::make_shared<Stream>(std::move(s), *tls) : std::make_shared<Stream>(std::move(s));
  asio::co_spawn(stream->socket().get_executor(), Stream::watch(stream), asio::detached);
  return stream;
}

struct UpstreamConnection {
  std::shared_ptr<Stream> stream;
  Clock::time_point idle_since{};
  bool reused = false;
};

struct Connection;

// One event loop: a thread, its io_context, the client connections it accepted and their upstream pool.
struct Loop {
  // Owned through a pointer so that ~PublicServer can destroy it (and the coroutines it still holds) while
  // the lists below, which those coroutines' cleanup touches, are alive.
  std::unique_ptr<asio::io_context> owned_io = std::make_unique<asio::io_context>(1);
  asio::io_context& io = *owned_io;
  struct KeyHash {
    using is_transparent = void;
    std::size_t operator()(std::string_view k) const noexcept { return std::hash<std::string_view>{}(k); }
  };
  std::unordered_map<std::string, std::vector<UpstreamConnection>, KeyHash, std::equal_to<>> idle;  // by value:
  // parking and taking a connection allocates nothing
  std::vector<UpstreamConnection>& idle_for(std::string_view key) {
    auto it = idle.find(key);
    if (it == idle.end()) it = idle.emplace(std::string(key), std::vector<UpstreamConnection>{}).first;
    return it->second;
  }
  std::list<Connection*> connections;
  std::thread thread;
};

std::string_view reason_phrase(int status) {
  switch (status) {
    case 100: return "Continue";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 204: return "No Content";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 304: return "Not Modified";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    default: return "Status";
  }
}

bool known_method(std::string_view m) {
  for (std::string_view k : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
    if (m == k) return true;
  return false;
}

std::string_view field(const HeaderList& fields, std::string_view name) {
  for (const auto& [k, v] : fields)
    if (field_name_equals(k, name)) return v;
  return {};
}

bool is_event_stream(const HeaderList& fields) {
  return field(fields, "content-type").starts_with("text/event-stream");
}

// Between two events (or before the first): only there may a comment go without splitting an event.
bool at_event_boundary(std::string_view tail) {
  return tail.empty() || tail.ends_with("\n\n") || tail.ends_with("\r\r") || tail.ends_with("\r\n\r\n");
}

// Whether the bytes from `from` on may complete a head (a CRLF CRLF, or a bare LF the parser refuses): only
// then is the buffer parsed again, so a head trickled in byte by byte costs linear time, not quadratic.
bool head_may_be_ready(std::string_view in, std::size_t from) {
  for (std::size_t i = from; i < in.size(); ++i) {
    if (in[i] != '\n') continue;
    if (i == 0 || in[i - 1] != '\r') return true;
    if (i >= 3 && in.substr(i - 3, 4) == "\r\n\r\n") return true;
  }
  return false;
}

std::string hex(std::size_t n) {
  char buf[20];
  const int len = std::snprintf(buf, sizeof buf, "%zx", n);
  return std::string(buf, static_cast<std::size_t>(len));
}

// Appends the "Name: value\r\n" lines of `fields` except those named `lower_name` (any case).
void append_without_field(std::string& out, std::string_view fields, std::string_view lower_name) {
  while (!fields.empty()) {
    std::size_t end = fields.find("\r\n");
    end = end == std::string_view::npos ? fields.size() : end + 2;
    const std::string_view line = fields.substr(0, end);
    fields.remove_prefix(end);
    const bool named = line.size() > lower_name.size() && line[lower_name.size()] == ':' &&
                       std::equal(lower_name.begin(), lower_name.end(), line.begin(), [](char a, char b) {
                         return a == static_cast<char>(std::tolower(static_cast<unsigned char>(b)));
                       });
    if (!named) out.append(line);
  }
}

gateway::Answer answer_of(const Decision& d) {
  gateway::Answer a{d.status, {}, d.body, d.reason};
  for (const auto& [k, v] : d.headers)
    if (!http::has_forbidden_octet(v)) a.headers.emplace_back(k, v);  // a claim with CR/LF never becomes a header
  if ((!d.body.empty() || d.status >= 400) && field(a.headers, "content-type").empty())
    a.headers.emplace_back("Content-Type", "application/json");
  return a;
}

// The row of the reason table a request head the parser refused is answered with (by its status: http1.hpp).
Reason head_refusal(const HeadResult& r) {
  switch (r.http_status) {
    case 414: return Reason::UriTooLong;
    case 431: return Reason::HeadersTooLarge;
    case 501: return Reason::MethodNotImplemented;
    case 505: return Reason::HttpVersionUnsupported;
    default: return Reason::RequestMalformed;
  }
}

// A refusal inside an exchange also carries the exchange's own fields (the request id, a sealed session id).
gateway::Answer with_fields(gateway::Answer a, const HeaderList& ours) {
  a.headers.insert(a.headers.end(), ours.begin(), ours.end());
  return a;
}

// The upstream_error metric's kind for an upstream failure.
std::string_view error_kind(Reason failure) {
  switch (failure) {
    case Reason::UpstreamTimeout: return "timeout";
    case Reason::UpstreamBroken: return "broken";
    default: return "refused";
  }
}

// An answer's status line and fields, through the blank line.
std::string answer_head(const gateway::Answer& a, bool keep, int version_minor) {
  std::string out;
  out.reserve(256);
  out.append("HTTP/1.1 ").append(std::to_string(a.status)).append(" ").append(reason_phrase(a.status)).append("\r\n");
  for (const auto& [k, v] : a.headers) out.append(k).append(": ").append(v).append("\r\n");
  if (a.status >= 200 && a.status != 204 && a.status != 304)
    out.append("Content-Length: ").append(std::to_string(a.body.size())).append("\r\n");
  if (!keep) out += "Connection: close\r\n";
  if (keep && version_minor == 0) out += "Connection: keep-alive\r\n";
  out += "\r\n";
  return out;
}

// Over [server] max_connections: the whole response, built once, sent by the accept loop itself.
std::string_view busy_response() {
  static const std::string bytes = [] {
    gateway::Answer a = gateway::json_answer(Reason::ServerBusy);
    a.headers.emplace_back("Retry-After", "1");
    return answer_head(a, false, 1) + a.body;
  }();
  return bytes;
}

struct Connection {
  PublicServer::State& server;
  Loop& loop;
  std::shared_ptr<Stream> client;
  std::string peer;
  std::string in;  // bytes read from the client, not yet consumed
  bool idle = false;            // waiting for the next request
  std::shared_ptr<Stream> upstream;  // the exchange's upstream, while there is one
  bool streaming = false;       // relaying an event stream that drain ends at once
  bool drain_stream = false;    // set by drain: end the stream cleanly now
  std::list<Connection*>::iterator self;
};

}  // namespace

struct PublicServer::State {
  State(const Config& c, Guard& g, gateway::Proxy& p, std::function<void(const Completed&)> done)
      : config(c), guard(g), impl(internal::GuardAccess::impl(g)), proxy(p), completed(std::move(done)) {
    limits.max_header_bytes = c.server.max_header_bytes;
    limits.max_header_count = c.server.max_header_count;
  }

  const Config& config;
  Guard& guard;
  Guard::Impl& impl;
  gateway::Proxy& proxy;
  std::function<void(const Completed&)> completed;
  HeadLimits limits;
  std::vector<std::unique_ptr<Loop>> loops;
  std::unique_ptr<Acceptor> acceptor;
  std::unique_ptr<ssl::context> tls;
  std::mutex client_tls_mutex;
  std::map<std::string, std::unique_ptr<ssl::context>> client_tls;  // by upstream CA file ("" = system)
  std::atomic<bool> draining{false}, stopping{false};
  std::atomic<std::size_t> exchanges{0}, connections{0};
  std::atomic<int> port{0};
  std::mutex streams_mutex;
  std::unordered_map<std::string, std::size_t> streams;  // open event streams by owner

  ssl::context& upstream_tls(const std::string& ca_file);
  task<void> accept_loop();
  task<void> serve(std::shared_ptr<Connection> c);
  task<bool> handle(Connection& c, const RequestHead& head, bool keep);
  task<bool> exchange(Connection& c, const RequestHead& head, gateway::UpstreamRequest up, Completed& rec,
                      HeaderList ours, bool keep, const CallOutcome* call = nullptr, std::string_view path = {});
  task<bool> answer(Connection& c, const RequestHead& head, const gateway::Answer& a, bool keep, Completed& rec,
                    bool body_read = false);
  task<bool> discard_body(Connection& c, const RequestHead& head);
  // An MCP POST's whole body, for inspection (gateway.inspect_max_bytes).
  struct WholeBody {
    Reason refused = Reason::Ok;  // McpBodyTooLarge, or ChunkedBodyMalformed (not valid chunked coding)
    bool gone = false;            // the client left or timed out
    std::string decoded;          // a chunked body, decoded (a Content-Length one stays in c.in)
  };
  task<WholeBody> read_whole_body(Connection& c, const RequestHead& head);
  task<void> linger_close(Connection& c);
  task<std::shared_ptr<Stream>> connect_upstream(Loop& loop, const gateway::UpstreamRequest& up, bool& reused,
                                                 Reason& failure);
  void park(Loop& loop, std::string_view key, std::shared_ptr<Stream> stream);
  bool take_stream_slot(const std::string& owner);
  void release_stream_slot(const std::string& owner);
};

ssl::context& PublicServer::State::upstream_tls(const std::string& ca_file) {
  std::lock_guard lock(client_tls_mutex);
  auto& ctx = client_tls[ca_file];
  if (!ctx) {
    ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
    ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                     ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    ctx->set_verify_mode(ssl::verify_peer);
    error_code ec;
    if (ca_file.empty())
      ctx->set_default_verify_paths(ec);
    else
      ctx->load_verify_file(ca_file, ec);
  }
  return *ctx;
}

// ---- accepting ----

task<void> PublicServer::State::accept_loop() {
  std::size_t next = 0;
  while (!draining && !stopping) {
    Loop& loop = *loops[next++ % loops.size()];
    auto [ec, socket] = co_await acceptor->async_accept(loop.io, kAwait);
    if (ec) {
      if (ec == asio::error::operation_aborted || draining || stopping) break;
      // EMFILE and friends: back off briefly instead of spinning.
      Timer pause(co_await asio::this_coro::executor, std::chrono::milliseconds(50));
      co_await pause.async_wait(kAwait);
      continue;
    }
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    if (connections.load() >= config.server.max_connections) {
      // Over [server] max_connections: a cheap, honest answer instead of a silent queue.
      const std::string_view busy = busy_response();
      socket.non_blocking(true, ignored);
      ::send(socket.native_handle(), busy.data(), busy.size(), MSG_NOSIGNAL);
      socket.shutdown(Socket::shutdown_send, ignored);
      socket.close(ignored);
      continue;
    }
    auto c = std::make_shared<Connection>(Connection{*this, loop, nullptr, {}, {}, false, nullptr, false, false, {}});
    const tcp::endpoint remote = socket.remote_endpoint(ignored);
    c->peer = remote.address().to_string();
    c->client = open_stream(std::move(socket), tls.get());
    connections.fetch_add(1);
    asio::co_spawn(loop.io, serve(c), asio::detached);
  }
}

// ---- one client connection ----

task<void> PublicServer::State::serve(std::shared_ptr<Connection> c) {
  c->self = c->loop.connections.insert(c->loop.connections.end(), c.get());
  struct Leave {  // however serve() ends (an exception too): out of the loop's list, counted, closed
    State& s;
    Connection& c;
    ~Leave() {
      c.client->close();
      if (c.upstream) c.upstream->close();
      c.loop.connections.erase(c.self);
      s.connections.fetch_sub(1);
    }
  } leave{*this, *c};
  const ServerConfig& sc = config.server;
  Stream& client = *c->client;
  bool ok = true;
  if (client.tls()) {
    client.expire_after(seconds(sc.read_timeout));
    auto [ec] = co_await client.tls()->async_handshake(ssl::stream_base::server, kAwait);
    ok = !ec;
  }
  std::size_t served = 0;
  while (ok && !stopping) {
    // Waiting for a request: the keep-alive idle time, or the read timeout before the first one. Once its
    // first byte is there, the whole head must arrive within read_timeout (not per line).
    RequestHead head;
    HeadResult r = parse_request_head(c->in, limits, head);
    if (r.status == HeadStatus::Incomplete) {
      const bool fresh = c->in.empty();
      client.expire_after(seconds(fresh && served ? sc.keep_alive_timeout : sc.read_timeout));
      c->idle = fresh;
      while (r.status == HeadStatus::Incomplete) {
        if (draining && c->in.empty()) {
          ok = false;
          break;
        }
        const std::size_t from = c->in.size() >= 3 ? c->in.size() - 3 : 0;
        auto [ec, n] = co_await client.read_append(c->in);
        if (ec || n == 0) {
          ok = false;
          break;
        }
        if (c->idle) {
          c->idle = false;
          client.expire_after(seconds(sc.read_timeout));
        }
        if (head_may_be_ready(c->in, from) || c->in.size() >= limits.max_head())
          r = parse_request_head(c->in, limits, head);
      }
      c->idle = false;
      if (!ok) break;
    }
    if (r.status == HeadStatus::Refused) {
      Completed rec;
      rec.method = head.method;
      rec.target = head.target;
      rec.remote_addr = c->peer;
      const gateway::Answer a = gateway::json_answer(head_refusal(r));
      RequestHead any;  // the answer has a body whatever the line said
      any.method = "GET";
      co_await answer(*c, any, a, false, rec, true);
      co_await linger_close(*c);
      break;
    }
    c->in.erase(0, r.consumed);
    ++served;
    const bool keep = head.keep_alive && served < sc.keep_alive_max_count && !draining;
    client.no_deadline();
    if (!co_await handle(*c, head, keep)) break;
  }
}

// Reads and drops the request's body, so that the connection can take the next request; false when it is
// too large to be worth reading or malformed (then the connection closes).
task<bool> PublicServer::State::discard_body(Connection& c, const RequestHead& head) {
  if (head.framing == Framing::None) co_return true;
  if (head.expect_continue) co_return false;  // the client waits for a 100 that will not come
  const std::size_t cap = std::min<std::size_t>(config.server.max_body_bytes, kMaxDiscardBytes);
  Stream& client = *c.client;
  client.expire_after(seconds(config.server.read_timeout));
  if (head.framing == Framing::Length) {
    if (head.content_length > cap) co_return false;
    std::uint64_t left = head.content_length;
    for (;;) {
      const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, c.in.size()));
      c.in.erase(0, take);
      left -= take;
      if (!left) co_return true;
      auto [ec, n] = co_await client.read_append(c.in);
      if (ec || !n) co_return false;
    }
  }
  ChunkedDecoder decoder;
  std::string ignored;
  for (;;) {
    std::size_t used = 0;
    const auto status = decoder.feed(c.in, used, ignored);
    c.in.erase(0, used);
    ignored.clear();
    if (status == ChunkedDecoder::Status::Done) co_return true;
    if (status == ChunkedDecoder::Status::Malformed || decoder.data_bytes() > cap) co_return false;
    auto [ec, n] = co_await client.read_append(c.in);
    if (ec || !n) co_return false;
  }
}

// Reads an MCP POST's body whole: a Content-Length body into c.in (left there, at its front), a chunked one
// decoded into `decoded` (its coding consumed from c.in). Within header_timeout overall, read_timeout per read.
task<PublicServer::State::WholeBody> PublicServer::State::read_whole_body(Connection& c, const RequestHead& head) {
  WholeBody out;
  const std::size_t cap = config.gateway.inspect_max_bytes;
  if (head.framing == Framing::Length && head.content_length > cap) {
    out.refused = Reason::McpBodyTooLarge;
    co_return out;
  }
  Stream& client = *c.client;
  const ServerConfig& sc = config.server;
  const Clock::time_point deadline = Clock::now() + seconds(config.gateway.header_timeout);
  auto read_more = [&]() -> task<bool> {
    const Clock::duration left = deadline - Clock::now();
    if (left <= Clock::duration::zero()) co_return false;
    client.expire_after(std::min(seconds(sc.read_timeout), left));
    auto [ec, n] = co_await client.read_append(c.in);
    co_return !ec && n > 0;
  };
  if (head.expect_continue && head.framing != Framing::None) {
    client.expire_after(seconds(sc.write_timeout));
    if (co_await client.write("HTTP/1.1 100 Continue\r\n\r\n")) {
      out.gone = true;
      co_return out;
    }
  }
  if (head.framing == Framing::Length) {
    while (c.in.size() < head.content_length)
      if (!co_await read_more()) {
        out.gone = true;
        break;
      }
  } else if (head.framing == Framing::Chunked) {
    ChunkedDecoder decoder;
    for (;;) {
      std::size_t used = 0;
      const auto status = decoder.feed(c.in, used, out.decoded);
      c.in.erase(0, used);
      if (status == ChunkedDecoder::Status::Malformed) {
        out.refused = Reason::ChunkedBodyMalformed;
        break;
      }
      if (decoder.data_bytes() > cap) {
        out.refused = Reason::McpBodyTooLarge;
        break;
      }
      if (status == ChunkedDecoder::Status::Done) break;
      if (!co_await read_more()) {
        out.gone = true;
        break;
      }
    }
  }
  client.no_deadline();
  co_return out;
}

// After an answer to a request whose body was not read: stop sending, read (and drop) what the client is
// still sending for a moment, so that closing does not reset the connection before it has read the answer.
task<void> PublicServer::State::linger_close(Connection& c) {
  Stream& client = *c.client;
  error_code ignored;
  if (!client.tls()) client.socket().shutdown(Socket::shutdown_send, ignored);
  client.expire_after(std::chrono::seconds(2));
  std::string dropped_bytes;
  std::size_t dropped = 0;
  while (dropped < kMaxLingerBytes) {
    auto [ec, n] = co_await client.read_append(dropped_bytes);
    if (ec || !n) break;
    dropped += n;
    dropped_bytes.clear();
  }
}

// Writes a response the gateway gives itself; false when the connection must close.
task<bool> PublicServer::State::answer(Connection& c, const RequestHead& head, const gateway::Answer& a, bool keep,
                                       Completed& rec, bool body_read) {
  if (!body_read && keep) keep = co_await discard_body(c, head);
  else if (!body_read) keep = head.framing == Framing::None && keep;
  const std::string out = answer_head(a, keep, head.version_minor);
  const bool with_body = head.method != "HEAD" && a.status != 204 && a.status != 304;
  // Recorded before the write: a client that has its answer may stop the process (SIGTERM) before this
  // coroutine resumes, and the answer it got must be in the log.
  rec.status = a.status;
  rec.reason = a.reason;  // every answer the gateway gives itself is logged with its row of the reason table
  rec.bytes_out = with_body ? a.body.size() : 0;
  if (completed) completed(rec);
  c.client->expire_after(seconds(config.server.write_timeout));
  const std::string_view body = with_body ? std::string_view(a.body) : std::string_view();
  const error_code ec = co_await c.client->write(out, body);
  c.client->no_deadline();
  if (ec) co_return false;
  if (!keep && head.framing != Framing::None && !body_read) co_await linger_close(c);
  co_return keep;
}

// ---- one request ----

task<bool> PublicServer::State::handle(Connection& c, const RequestHead& head, bool keep) {
  const auto started = Clock::now();
  const GatewayConfig& g = config.gateway;
  std::string request_id(field(head.fields, g.request_id_header));
  if (!observe::acceptable_request_id(request_id)) request_id = observe::new_request_id();
  Completed rec;
  rec.method = head.method;
  rec.target = head.target;
  rec.request_id = request_id;
  rec.remote_addr = c.peer;
  std::shared_ptr<const Principal> who;
  auto finish_rec = [&] {
    rec.principal = who.get();
    rec.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  };
  std::vector<HeaderField> fields;
  fields.reserve(head.fields.size());
  for (const auto& [k, v] : head.fields) fields.push_back({k, v});

  if (!known_method(head.method)) {
    finish_rec();
    const gateway::Answer a = gateway::json_answer(Reason::MethodNotImplemented);
    co_return co_await answer(c, head, a, false, rec);
  }
  const http::ForwardAuth& forward_auth = impl.forward_auth();
  if (forward_auth.handles(head.target)) {
    CallOutcome call;
    Decision d = forward_auth.decide({.remote_addr = c.peer,
                                      .method = head.method,
                                      .target = head.target,
                                      .headers = fields,
                                      .header_values = http::TargetEncoding::Raw},
                                     &call);
    rec.mcp_method = call.mcp_method;
    rec.mcp_target = call.mcp_target;
    rec.rule = call.rule;
    if (d.allow) who = d.principal;
    d.allow = false;  // the forward-auth answer is the response
    finish_rec();
    const gateway::Answer a = answer_of(d);
    co_return co_await answer(c, head, a, keep, rec);
  }
  const http::RequestTarget target = http::parse_request_target(head.target);
  if (!target.ok) {
    finish_rec();
    const gateway::Answer a = answer_of(impl.refusal(Reason::RequestTargetRefused, "/"));
    co_return co_await answer(c, head, a, keep, rec);
  }
  Decision d = impl.decide({.method = head.method,
                            .path = target.path,
                            .query_has_access_token = target.query_has_access_token,
                            .headers = fields});
  if (!d.allow) {
    finish_rec();
    const gateway::Answer a = answer_of(d);
    co_return co_await answer(c, head, a, keep, rec);
  }
  who = std::move(d.principal);
  const std::string route = proxy.route_of(head.method, target.path);
  rec.route = route;
  rec.routed_public = !route.empty();
  if (head.framing != Framing::None &&
      (head.method == "GET" || head.method == "HEAD" || head.method == "OPTIONS")) {
    // A body these methods do not have: read as the next request by some servers, so never forwarded.
    finish_rec();
    const gateway::Answer a = answer_of(impl.refusal(Reason::BodyNotAllowed, target.path));
    co_return co_await answer(c, head, a, false, rec);
  }
  // An MCP POST: the body is read whole, inspected and judged before anything reaches the upstream.
  CallOutcome call;
  std::optional<RequestHead> buffered;  // a chunked body, decoded: forwarded with a Content-Length
  const RequestHead* sent = &head;
  if (head.method == "POST" && impl.inspects(head.method, target.path)) {
    WholeBody body = co_await read_whole_body(c, head);
    if (body.gone) co_return false;
    if (body.refused != Reason::Ok) {
      finish_rec();
      const gateway::Answer a = gateway::json_answer(body.refused);
      co_return co_await answer(c, head, a, false, rec);  // the rest is not read: the connection closes
    }
    if (head.framing == Framing::Chunked) {
      buffered = head;
      buffered->framing = Framing::Length;
      buffered->content_length = body.decoded.size();
      buffered->expect_continue = false;
      c.in.insert(0, body.decoded);
      sent = &*buffered;
    }
    const std::size_t length = sent->framing == Framing::Length ? static_cast<std::size_t>(sent->content_length) : 0;
    call = impl.decide_call({.path = target.path,
                             .headers = fields,
                             .body = std::string_view(c.in).substr(0, length),
                             .principal = who.get()});
    rec.mcp_method = call.mcp_method;
    rec.mcp_target = call.mcp_target;
    rec.rule = call.rule;
    if (!call.decision.allow) {
      finish_rec();
      c.in.erase(0, length);
      gateway::Answer a = answer_of(call.decision);
      a.headers.emplace_back(g.request_id_header, request_id);
      co_return co_await answer(c, *sent, a, keep, rec, true);
    }
  }
  HeaderList ours = {{g.request_id_header, request_id}};
  for (const auto& [k, v] : d.headers)
    if (!http::has_forbidden_octet(v)) ours.emplace_back(k, v);
  gateway::Prepared p = proxy.prepare({.method = head.method,
                                       .target = head.target,
                                       .path = target.path,
                                       .headers = head.fields,
                                       .principal = who.get(),
                                       .remote_addr = c.peer,
                                       .remote_trusted = guard.is_trusted_proxy(c.peer),
                                       .request_id = request_id,
                                       .tls = static_cast<bool>(tls)});
  finish_rec();
  if (p.answer) {
    const gateway::Answer a = with_fields(std::move(*p.answer), ours);
    co_return co_await answer(c, *sent, a, keep, rec);
  }
  const bool result = co_await exchange(c, *sent, std::move(*p.upstream), rec, std::move(ours), keep,
                                        call.lists.empty() ? nullptr : &call, target.path);
  co_return result;
}

// ---- upstream connections ----

void PublicServer::State::park(Loop& loop, std::string_view key, std::shared_ptr<Stream> stream) {
  if (draining || stopping) return stream->close();
  auto& idle = loop.idle_for(key);
  if (idle.size() >= kMaxIdlePerOrigin) return stream->close();
  stream->no_deadline();
  idle.push_back(UpstreamConnection{std::move(stream), Clock::now(), true});
}

task<std::shared_ptr<Stream>> PublicServer::State::connect_upstream(Loop& loop, const gateway::UpstreamRequest& up,
                                                                    bool& reused, Reason& failure) {
  auto& idle = loop.idle_for(up.pool_key);
  while (!idle.empty()) {
    UpstreamConnection conn = std::move(idle.back());
    idle.pop_back();
    // Closed by the upstream while idle, idle too long (an upstream's own keep-alive timeout is near), or
    // holding bytes nobody asked for: probed at every age. Bytes an upstream sent after a response that was
    // complete would otherwise be read as the answer to the next request on this connection, which may be
    // another principal's.
    char probe;
    const ssize_t n = ::recv(conn.stream->socket().native_handle(), &probe, 1, MSG_PEEK | MSG_DONTWAIT);
    const bool alive = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
    if (alive && Clock::now() - conn.idle_since < kPoolIdle) {
      reused = true;
      co_return conn.stream;
    }
    conn.stream->close();
  }
  reused = false;
  const gateway::Upstream& u = *up.upstream;
  auto executor = co_await asio::this_coro::executor;
  Resolver resolver(executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(u.host, u.port, kAwait);
  if (rec) {
    failure = Reason::UpstreamUnavailable;
    co_return nullptr;
  }
  ssl::context* ctx = u.tls ? &upstream_tls(up.route->upstream_ca_file) : nullptr;
  auto stream = open_stream(Socket(executor), ctx);
  stream->expire_after(seconds(config.gateway.connect_timeout));
  auto [cec, endpoint] = co_await asio::async_connect(stream->socket(), endpoints, kAwait);
  if (cec) {
    failure = stream->expired() ? Reason::UpstreamTimeout : Reason::UpstreamUnavailable;
    stream->close();
    co_return nullptr;
  }
  error_code ignored;
  stream->socket().set_option(tcp::no_delay(true), ignored);
  if (auto* tls_stream = stream->tls()) {
    SSL_set_tlsext_host_name(tls_stream->native_handle(), u.host.c_str());
    tls_stream->set_verify_callback(ssl::host_name_verification(u.host));
    auto [hec] = co_await tls_stream->async_handshake(ssl::stream_base::client, kAwait);
    if (hec) {
      failure = stream->expired() ? Reason::UpstreamTimeout : Reason::UpstreamUnavailable;
      stream->close();
      co_return nullptr;
    }
  }
  stream->no_deadline();
  co_return stream;
}

bool PublicServer::State::take_stream_slot(const std::string& owner) {
  const std::size_t cap = config.gateway.max_streams_per_principal;
  std::lock_guard lock(streams_mutex);
  std::size_t& n = streams[owner];
  if (cap && n >= cap) return false;
  ++n;
  return true;
}

void PublicServer::State::release_stream_slot(const std::string& owner) {
  std::lock_guard lock(streams_mutex);
  auto it = streams.find(owner);
  if (it != streams.end() && --it->second == 0) streams.erase(it);
}

// ---- one upstream exchange ----

task<bool> PublicServer::State::exchange(Connection& c, const RequestHead& head, gateway::UpstreamRequest up,
                                         Completed& rec, HeaderList ours, bool keep, const CallOutcome* call,
                                         std::string_view path) {
  const ServerConfig& sc = config.server;
  const GatewayConfig& g = config.gateway;
  const gateway::ProxyEvents& events = proxy.events();
  const std::string& route = up.route->prefix;
  Stream& client = *c.client;
  if (head.framing == Framing::Length && head.content_length > sc.max_body_bytes) {
    const gateway::Answer a = gateway::json_answer(Reason::RequestTooLarge);
    co_return co_await answer(c, head, a, false, rec, true);
  }
  exchanges.fetch_add(1);
  if (events.in_flight) events.in_flight(+1);
  struct Done {
    State& s;
    const gateway::ProxyEvents& e;
    ~Done() {
      s.exchanges.fetch_sub(1);
      if (e.in_flight) e.in_flight(-1);
    }
  } done{*this, events};
  const auto started = Clock::now();

  // The request head for the upstream; the body keeps its bytes, with our own framing.
  std::string out;
  out.reserve(512);
  out.append(up.method).append(" ").append(up.target).append(" HTTP/1.1\r\nHost: ").append(up.upstream->authority);
  out.append("\r\n");
  if (call) {
    // A list answer is read to be filtered: it must come as plain bytes, so the client's Accept-Encoding
    // (Node's fetch always sends gzip, deflate) is replaced by identity; one that still arrives coded is 502.
    append_without_field(out, up.fields, "accept-encoding");
    out += "Accept-Encoding: identity\r\n";
  } else {
    out.append(up.fields);
  }
  if (head.framing == Framing::Length) out.append("Content-Length: ").append(std::to_string(head.content_length)).append("\r\n");
  if (head.framing == Framing::Chunked) out += "Transfer-Encoding: chunked\r\n";
  // No body: said so for the methods that usually have one (RFC 9110 §8.6), or the upstream waits for it.
  if (head.framing == Framing::None && (up.method == "POST" || up.method == "PUT" || up.method == "PATCH"))
    out += "Content-Length: 0\r\n";
  out += "\r\n";
  // A body that is already here in full can be sent again on a fresh connection when a kept-alive one
  // turns out to be closed; a streamed body cannot.
  const bool whole_body_here = head.framing == Framing::None ||
                               (head.framing == Framing::Length && c.in.size() >= head.content_length);
  // Retried only when the upstream cannot have acted on it: the method is idempotent (RFC 9110 §9.2.2), or
  // the write itself failed on a connection the upstream had already closed.
  const bool idempotent = up.method == "GET" || up.method == "HEAD" || up.method == "OPTIONS" ||
                          up.method == "PUT" || up.method == "DELETE";
  // The whole body must arrive within header_timeout (each read within read_timeout): a client trickling
  // a body cannot hold an upstream connection indefinitely.
  const Clock::time_point body_deadline = started + seconds(g.header_timeout);
  auto read_deadline = [&] {
    const Clock::duration left = body_deadline - Clock::now();
    return std::max(Clock::duration::zero(), std::min(seconds(sc.read_timeout), left));
  };

  std::shared_ptr<Stream> stream;
  struct CloseUnlessParked {  // every way out of this exchange closes the upstream connection, but a park
    std::shared_ptr<Stream>& stream;
    bool parked = false;
    ~CloseUnlessParked() {
      if (!parked && stream) stream->close();
    }
  } guard{stream};
  bool reused = false, body_complete = whole_body_here, write_failed = false;
  Reason failure = Reason::Ok;
  bool continue_sent = false;
  std::string response_bytes;
  ResponseHead rh;
  HeadResult hr;
  for (int attempt = 0; attempt < 2; ++attempt) {
    stream = co_await connect_upstream(c.loop, up, reused, failure);
    if (!stream) {
      if (events.upstream_error) events.upstream_error(route, error_kind(failure));
      const gateway::Answer a = with_fields(gateway::json_answer(failure), ours);
      co_return co_await answer(c, head, a, keep, rec);  // answer() reads the unread body, or closes
    }
    c.upstream = stream;
    stream->expire_after(seconds(sc.write_timeout));
    error_code ec;
    if (head.framing == Framing::Length && whole_body_here) {
      ec = co_await stream->write(out, std::string_view(c.in).substr(0, head.content_length));
    } else {
      ec = co_await stream->write(out);
      if (!ec && head.framing != Framing::None && head.expect_continue && !continue_sent) {
        continue_sent = true;
        client.expire_after(seconds(sc.write_timeout));
        ec = co_await client.write("HTTP/1.1 100 Continue\r\n\r\n");
        if (ec) co_return false;
      }
      // Streamed: every byte as it arrives, never decoded or decompressed; the cap holds for both framings.
      if (!ec && head.framing == Framing::Length) {
        std::uint64_t left = head.content_length;
        while (left && !ec) {
          if (c.in.empty()) {
            client.expire_after(read_deadline());
            auto [rec_ec, n] = co_await client.read_append(c.in);
            if (rec_ec || !n) co_return false;
          }
          const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, c.in.size()));
          stream->expire_after(seconds(sc.write_timeout));
          ec = co_await stream->write(std::string_view(c.in).substr(0, take));
          c.in.erase(0, take);
          left -= take;
        }
        body_complete = left == 0 && !ec;
      } else if (!ec && head.framing == Framing::Chunked) {
        ChunkedDecoder decoder;
        std::string data;
        for (;;) {
          std::size_t used = 0;
          const auto status = decoder.feed(c.in, used, data);
          c.in.erase(0, used);
          if (status == ChunkedDecoder::Status::Malformed || decoder.data_bytes() > sc.max_body_bytes) {
            // The upstream never gets the last chunk: no complete request reaches it.
            const gateway::Answer a = gateway::json_answer(status == ChunkedDecoder::Status::Malformed
                                                               ? Reason::ChunkedBodyMalformed
                                                               : Reason::RequestTooLarge);
            co_return co_await answer(c, head, a, false, rec, true);
          }
          if (!data.empty()) {
            stream->expire_after(seconds(sc.write_timeout));
            const std::string size_line = hex(data.size()) + "\r\n";
            ec = co_await stream->write(size_line, data, "\r\n");
            data.clear();
            if (ec) break;
          }
          if (status == ChunkedDecoder::Status::Done) {
            stream->expire_after(seconds(sc.write_timeout));
            ec = co_await stream->write("0\r\n\r\n");
            body_complete = !ec;
            break;
          }
          client.expire_after(read_deadline());
          auto [rec_ec, n] = co_await client.read_append(c.in);
          if (rec_ec || !n) co_return false;
        }
      }
      client.no_deadline();
    }
    write_failed = static_cast<bool>(ec);
    // The response head, within header_timeout of the end of the request.
    response_bytes.clear();
    hr = {};
    if (!ec) {
      stream->expire_after(seconds(g.header_timeout));
      for (;;) {
        hr = parse_response_head(response_bytes, kMaxResponseHead, head.method == "HEAD", rh);
        if (hr.status == HeadStatus::Complete && rh.status >= 100 && rh.status < 200) {
          response_bytes.erase(0, hr.consumed);  // 100 Continue and other interim answers: not relayed
          continue;
        }
        if (hr.status != HeadStatus::Incomplete) break;
        auto [rec_ec, n] = co_await stream->read_append(response_bytes);
        if (rec_ec || !n) {
          ec = rec_ec ? rec_ec : asio::error::eof;
          break;
        }
      }
    }
    if (!ec && hr.status == HeadStatus::Complete) break;
    const bool timed_out = stream->expired();
    stream->close();
    c.upstream.reset();
    // A kept-alive connection the upstream had closed, nothing answered: once more on a new connection,
    // when the upstream cannot have acted on the request.
    if (reused && !timed_out && response_bytes.empty() && whole_body_here && attempt == 0 &&
        (idempotent || write_failed))
      continue;
    failure = timed_out                          ? Reason::UpstreamTimeout
              : hr.status == HeadStatus::Refused ? Reason::UpstreamBroken  // a head that is not HTTP/1.x
                                                 : Reason::UpstreamUnavailable;
    if (events.upstream_error) events.upstream_error(route, error_kind(failure));
    const gateway::Answer a = with_fields(gateway::json_answer(failure), ours);
    if (head.framing == Framing::Length && whole_body_here) c.in.erase(0, head.content_length);
    // A body not read to its end leaves the connection's framing unknown: answer and close.
    co_return co_await answer(c, head, a, keep && body_complete, rec, true);
  }
  if (head.framing == Framing::Length && whole_body_here) c.in.erase(0, head.content_length);
  response_bytes.erase(0, hr.consumed);
  // A stream may now live for hours: what only the request needed goes (memory per open stream).
  std::string().swap(out);
  std::string().swap(up.fields);
  const bool event_stream = is_event_stream(rh.fields);
  if (event_stream) c.in.shrink_to_fit();  // (a plain answer keeps the buffer for the next request)
  if (events.upstream_headers)
    events.upstream_headers(route, std::chrono::duration<double>(Clock::now() - started).count());

  if (auto sealed = proxy.upstream_answered(up, rh.status, rh.fields)) ours.emplace_back("Mcp-Session-Id", std::move(*sealed));
  std::string slot_owner;
  if (event_stream) {
    slot_owner = rec.principal ? gateway::session_owner(*rec.principal) : "addr\n" + c.peer;
    if (!take_stream_slot(slot_owner)) {
      c.upstream.reset();
      // The one refusal with no row of the reason table yet (429 too_many_streams): logged without a reason.
      gateway::Answer a{
          429,
          {{"Cache-Control", "no-store"}, {"Content-Type", "application/json"}, {"Retry-After", "5"}},
          R"({"error":"too_many_streams","error_description":"This principal already holds as many open event )"
          R"(streams as allowed."})"};
      a = with_fields(std::move(a), ours);
      co_return co_await answer(c, head, a, keep, rec, true);
    }
  }
  struct Slot {
    State& s;
    std::string owner;
    const gateway::ProxyEvents& e;
    ~Slot() {
      if (owner.empty()) return;
      s.release_stream_slot(owner);
      if (e.open_streams) e.open_streams(-1);
    }
  } slot{*this, slot_owner, events};
  if (event_stream && events.open_streams) events.open_streams(+1);

  // The response head for the client.
  const bool client_chunked = head.version_minor == 1;
  const bool relayed_length = rh.framing == BodyFraming::Length;
  bool keep_client = keep;
  std::string rhead;
  rhead.reserve(512);
  rhead.append("HTTP/1.1 ").append(std::to_string(rh.status)).append(" ").append(reason_phrase(rh.status)).append("\r\n");
  gateway::HeadWriter writer(rhead);
  gateway::write_response_headers(rh.fields, ours, writer);
  if (event_stream && field(rh.fields, "x-accel-buffering").empty()) writer.field("X-Accel-Buffering", "no");
  // A list answer on a route with rules: read whole, filtered, then sent with its new length (below).
  const std::string_view response_type = field(rh.fields, "content-type");
  const bool collect = call && rh.status == 200 && head.method != "HEAD" && rh.framing != BodyFraming::None &&
                       (event_stream || response_type.find("json") != std::string_view::npos);
  // Coded anyway (the upstream ignored identity): the filter cannot read it, and it is never relayed unread.
  const bool coded_list = collect && !field(rh.fields, "content-encoding").empty() &&
                          field(rh.fields, "content-encoding") != "identity";
  std::string collected;
  bool collect_overflow = false;
  if (collect) {
  } else if (head.method == "HEAD" || rh.framing == BodyFraming::None) {
    if (const std::string_view cl = field(rh.fields, "content-length"); !cl.empty() && head.method == "HEAD")
      writer.field("Content-Length", cl);
    else if (rh.status != 204 && rh.status != 304)
      writer.field("Content-Length", "0");
  } else if (relayed_length) {
    writer.field("Content-Length", std::to_string(rh.content_length));
  } else if (client_chunked) {
    writer.field("Transfer-Encoding", "chunked");
  } else {
    keep_client = false;  // HTTP/1.0: the body ends with the connection
  }
  if (!collect) {
    if (!keep_client) writer.field("Connection", "close");
    if (keep_client && head.version_minor == 0) writer.field("Connection", "keep-alive");
    rhead += "\r\n";
  }
  rec.status = rh.status;
  c.streaming = !collect && event_stream &&
                (head.method == "GET" || field(head.fields, "mcp-method") == "subscriptions/listen");
  c.drain_stream = false;

  // The body: one buffer read from the upstream, written to the client, then the next (backpressure).
  const Clock::duration tick = event_stream && g.sse_keepalive > 0 ? seconds(g.sse_keepalive) : seconds(g.header_timeout);
  std::uint64_t left = rh.content_length;
  ChunkedDecoder decoder;
  std::string tail;  // the last bytes the client got: at an event boundary?
  bool upstream_done = rh.framing == BodyFraming::None, upstream_broken = false, client_gone = false;
  // Bytes past the framed end of the response: the connection's framing is off, it is never reused (the next
  // request's answer must not start with them).
  bool extra = rh.framing == BodyFraming::None && !response_bytes.empty();
  std::string data;
  // Re-chunked for the client: the upstream's own chunking is never relayed.
  const bool chunk_to_client =
      !collect && client_chunked && !relayed_length && rh.framing != BodyFraming::None && head.method != "HEAD";
  // The head goes out with the first body bytes when they came with it, and the last chunk with the last
  // bytes (one write, one packet for a whole small answer); the head goes alone when the body is still to
  // come (a stream's client sees the head at once).
  bool head_sent = false, terminated = false;
  error_code wec;
  auto deliver = [&](std::string_view bytes, bool last) -> task<bool> {
    if (collect) {
      if (collected.size() + bytes.size() > g.list_max_bytes) {
        collect_overflow = true;
        co_return false;
      }
      collected.append(bytes);
      co_return true;
    }
    const bool terminate = last && chunk_to_client;
    if (bytes.empty() && head_sent && !terminate) co_return true;
    const std::string_view h = head_sent ? std::string_view() : std::string_view(rhead);
    client.expire_after(seconds(sc.write_timeout));
    if (chunk_to_client && !bytes.empty()) {
      const std::string size_line = hex(bytes.size()) + "\r\n";
      wec = co_await client.write(h, size_line, bytes, terminate ? "\r\n0\r\n\r\n" : "\r\n");
    } else {
      wec = co_await client.write(h, bytes, terminate ? "0\r\n\r\n" : "");
    }
    client.no_deadline();
    if (!head_sent) {
      head_sent = true;
      std::string().swap(rhead);
      decltype(rh.fields)().swap(rh.fields);
      HeaderList().swap(ours);
    }
    terminated = terminated || terminate;
    rec.bytes_out += bytes.size();
    tail.append(bytes.substr(bytes.size() > 4 ? bytes.size() - 4 : 0));
    if (tail.size() > 4) tail.erase(0, tail.size() - 4);
    co_return !wec;
  };
  if ((response_bytes.empty() || upstream_done) && !co_await deliver({}, false)) client_gone = true;
  while (!upstream_done && !client_gone && !collect_overflow && !stopping) {
    // What is already buffered first (bytes that came with the head).
    if (!response_bytes.empty()) {
      if (rh.framing == BodyFraming::Chunked) {
        std::size_t used = 0;
        const auto st = decoder.feed(response_bytes, used, data);
        response_bytes.erase(0, used);
        if (st == ChunkedDecoder::Status::Malformed) {
          upstream_broken = true;
          break;
        }
        if (!co_await deliver(data, st == ChunkedDecoder::Status::Done)) client_gone = true;
        data.clear();
        if (st == ChunkedDecoder::Status::Done) {
          upstream_done = true;
          extra = !response_bytes.empty();
        }
      } else if (rh.framing == BodyFraming::Length) {
        const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, response_bytes.size()));
        if (!co_await deliver(std::string_view(response_bytes).substr(0, take), take == left)) client_gone = true;
        response_bytes.erase(0, take);
        left -= take;
        if (!left) upstream_done = true;
        extra = !response_bytes.empty();
        response_bytes.clear();  // anything past the length is not ours to relay
      } else {
        if (!co_await deliver(response_bytes, false)) client_gone = true;
        response_bytes.clear();
      }
      continue;
    }
    if (c.drain_stream) break;
    stream->expire_after(tick);
    auto [rec_ec, n] = co_await stream->read_append(response_bytes);
    if (c.drain_stream || stopping) break;
    if (rec_ec) {
      if (stream->expired()) {
        if (event_stream && g.sse_keepalive > 0) {
          // Idle: a comment between events keeps idle-timeout proxies open and finds a client that left.
          if (at_event_boundary(tail) && !co_await deliver(kKeepaliveComment, false)) client_gone = true;
          continue;
        }
        if (events.upstream_error) events.upstream_error(route, "timeout");
        upstream_broken = true;
        break;
      }
      if ((rec_ec == asio::error::eof || rec_ec == ssl::error::stream_truncated) &&
          rh.framing == BodyFraming::UntilClose) {
        upstream_done = true;
        break;
      }
      if (events.upstream_error) events.upstream_error(route, "broken");
      upstream_broken = true;
      break;
    }
    if (n == 0) continue;
  }
  c.upstream.reset();
  c.streaming = false;
  const bool drained = c.drain_stream || (draining && event_stream);
  if (upstream_done && !extra && !client_gone && rh.keep_alive && rh.framing != BodyFraming::UntilClose) {
    park(c.loop, up.pool_key, stream);
    guard.parked = true;
  }
  if (collect && collect_overflow) {
    client_gone = false;
    upstream_broken = true;
  }
  if (collect && upstream_done && !upstream_broken && !stopping) {
    mcp::Filtered f = coded_list ? mcp::Filtered{} : impl.filter_list(path, rec.principal, *call, collected, event_stream);
    std::string().swap(collected);
    if (!f.ok) {
      if (events.upstream_error) events.upstream_error(route, "unreadable_list");
      const gateway::Answer a = with_fields(
          gateway::json_answer(Reason::UpstreamBroken,
                               "The upstream MCP server sent a list answer that cannot be filtered."),
          ours);
      co_return co_await answer(c, head, a, keep, rec, true);
    }
    writer.field("Content-Length", std::to_string(f.body.size()));
    if (!keep_client) writer.field("Connection", "close");
    if (keep_client && head.version_minor == 0) writer.field("Connection", "keep-alive");
    rhead += "\r\n";
    client.expire_after(seconds(sc.write_timeout));
    wec = co_await client.write(rhead, f.body);
    client.no_deadline();
    rec.bytes_out = f.body.size();
    if (completed) completed(rec);
    co_return !wec && keep_client;
  }
  if (upstream_broken && !head_sent && !client_gone && !stopping) {
    // Broken before the client got a byte: it can still be told so.
    const gateway::Answer a = with_fields(gateway::json_answer(Reason::UpstreamBroken), ours);
    co_return co_await answer(c, head, a, false, rec, true);
  }
  if (client_gone || upstream_broken || stopping) {
    // A broken upstream breaks the client's response: no terminating chunk, so it sees a truncated stream.
    if (upstream_broken) rec.reason = Reason::UpstreamBroken;  // logged with the status the client got
    if (completed) completed(rec);
    co_return false;
  }
  if (chunk_to_client && !terminated) {
    client.expire_after(seconds(sc.write_timeout));
    wec = co_await client.write("0\r\n\r\n");  // complete, or ended cleanly by drain
    client.no_deadline();
  }
  if (completed) completed(rec);
  co_return !wec && keep_client && !drained;
}

// ---- lifecycle ----

PublicServer::PublicServer(const Config& config, Guard& guard, gateway::Proxy& proxy,
                           std::function<void(const Completed&)> completed)
    : state_(std::make_unique<State>(config, guard, proxy, std::move(completed))) {}

PublicServer::~PublicServer() {
  stop();
  State& s = *state_;
  for (auto& loop : s.loops)
    if (loop->thread.joinable()) loop->thread.join();
  // The loops (and the coroutines they still hold) go while everything they refer to is alive.
  s.acceptor.reset();
  for (auto& loop : s.loops) {
    loop->idle.clear();
    loop->owned_io.reset();
  }
  s.loops.clear();
}

Status PublicServer::open() {
  State& s = *state_;
  const ServerConfig& sc = s.config.server;
  std::size_t threads = sc.threads ? sc.threads : std::max(1u, std::thread::hardware_concurrency());
  for (std::size_t i = 0; i < threads; ++i) s.loops.push_back(std::make_unique<Loop>());
  try {
    if (!sc.tls_cert_file.empty()) {
      s.tls = std::make_unique<ssl::context>(ssl::context::tls_server);
      s.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
      s.tls->use_certificate_chain_file(sc.tls_cert_file);
      s.tls->use_private_key_file(sc.tls_key_file, ssl::context::pem);
    }
  } catch (const std::exception&) {
    return {Reason::TlsUnusable, "server.tls_cert_file/tls_key_file: cannot load the certificate or key"};
  }
  error_code ec;
  const auto address = asio::ip::make_address(sc.listen_address, ec);
  if (ec) return {Reason::ConfigInvalid, "server.listen_address: not an IP address: " + sc.listen_address};
  s.acceptor = std::make_unique<Acceptor>(s.loops[0]->io);
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(sc.port));
  s.acceptor->open(endpoint.protocol(), ec);
  if (!ec) s.acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor->bind(endpoint, ec);
  if (!ec) s.acceptor->listen(SOMAXCONN, ec);
  if (ec) {
    return {Reason::ListenFailed, "server.listen_address/port: cannot listen on " + sc.listen_address + ":" +
                                      std::to_string(sc.port) + " (" + ec.message() + ")"};
  }
  s.port = s.acceptor->local_endpoint().port();
  return {};
}

int PublicServer::port() const noexcept { return state_->port; }

void PublicServer::run() {
  State& s = *state_;
  asio::co_spawn(s.loops[0]->io, s.accept_loop(), asio::detached);
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  for (auto& loop : s.loops) work.push_back(asio::make_work_guard(loop->io));
  for (std::size_t i = 1; i < s.loops.size(); ++i) s.loops[i]->thread = std::thread([&io = s.loops[i]->io] { io.run(); });
  s.loops[0]->io.run();
  for (std::size_t i = 1; i < s.loops.size(); ++i) s.loops[i]->thread.join();
}

void PublicServer::begin_drain() {
  State& s = *state_;
  s.draining = true;
  asio::post(s.loops[0]->io, [&s] {
    error_code ignored;
    if (s.acceptor) s.acceptor->close(ignored);
  });
  for (auto& loop : s.loops) {
    asio::post(loop->io, [l = loop.get()] {
      for (Connection* c : l->connections) {
        if (c->idle) c->client->interrupt();  // waiting for a next request that will not be served
        if (c->streaming && c->upstream) {
          c->drain_stream = true;
          c->upstream->interrupt();
        }
      }
      for (auto& [key, idle] : l->idle)
        for (auto& conn : idle) conn.stream->close();
      l->idle.clear();
    });
  }
}

std::size_t PublicServer::active_exchanges() const noexcept { return state_->exchanges; }

void PublicServer::stop() {
  State& s = *state_;
  if (s.loops.empty() || s.stopping.exchange(true)) return;
  s.draining = true;
  for (auto& loop : s.loops) {
    asio::post(loop->io, [l = loop.get(), &s] {
      error_code ignored;
      if (l == s.loops[0].get() && s.acceptor) s.acceptor->close(ignored);
      for (Connection* c : l->connections) {
        c->client->close();
        if (c->upstream) c->upstream->close();
      }
      for (auto& [key, idle] : l->idle)
        for (auto& conn : idle) conn.stream->close();
      l->idle.clear();
      l->io.stop();
    });
  }
}

}  // namespace mcpgate::net
