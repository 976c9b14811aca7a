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

constexpr std::size_t kRelayBuffer = 16 * 1024;      // one read from the upstream or the client
constexpr std::size_t kMaxResponseHead = 64 * 1024;  // an upstream's response head
constexpr std::size_t kMaxIdlePerOrigin = 64;        // kept-alive upstream connections per loop and origin
constexpr auto kPoolIdle = std::chrono::seconds(2);  // an idle upstream connection older than this is closed
constexpr std::size_t kMaxLingerBytes = 64 * 1024;   // read and dropped before closing after an answer
constexpr std::size_t kMaxDiscardBytes = 1 << 20;    // a refused request's body read to keep the connection
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
      if (ec != asio::error::would_block && ec != asio::error::try_again)
        co_return std::pair{ec, std::size_t{0}};
      auto [wec] = co_await plain_->async_wait(Socket::wait_read, kAwait);
      if (wec) co_return std::pair{wec, std::size_t{0}};
      if (expired_) co_return std::pair{error_code(asio::error::timed_out), std::size_t{0}};
    }
  }
  // One gather write of up to four parts (a head and a chunk's size line, data and CRLF go out together).
  task<error_code> write(std::string_view a, std::string_view b = {}, std::string_view c = {},
                         std::string_view d = {}) {
    if (expired_) co_return error_code(asio::error::timed_out);
    const std::array<asio::const_buffer, 4> bufs{asio::buffer(a), asio::buffer(b), asio::buffer(c),
                                                 asio::buffer(d)};
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
  std::unordered_map<std::string, std::vector<UpstreamConnection>, KeyHash, std::equal_to<>>
      idle;  // by value:
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
    case 100:
      return "Continue";
    case 200:
      return "OK";
    case 201:
      return "Created";
    case 202:
      return "Accepted";
    case 204:
      return "No Content";
    case 301:
      return "Moved Permanently";
    case 302:
      return "Found";
    case 304:
      return "Not Modified";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 413:
      return "Content Too Large";
    case 414:
      return "URI Too Long";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 500:
      return "Internal Server Error";
    case 501:
      return "Not Implemented";
    case 502:
      return "Bad Gateway";
    case 503:
      return "Service Unavailable";
    case 504:
      return "Gateway Timeout";
    case 505:
      return "HTTP Version Not Supported";
    default:
      return "Status";
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
    if (!http::has_forbidden_octet(v))
      a.headers.emplace_back(k, v);  // a claim with CR/LF never becomes a header
  if ((!d.body.empty() || d.status >= 400) && field(a.headers, "content-type").empty())
    a.headers.emplace_back("Content-Type", "application/json");
  return a;
}

// The row of the reason table a request head the parser refused is answered with (by its status: http1.hpp).
Reason head_refusal(const HeadResult& r) {
  switch (r.http_status) {
    case 414:
      return Reason::UriTooLong;
    case 431:
      return Reason::HeadersTooLarge;
    case 501:
      return Reason::MethodNotImplemented;
    case 505:
      return Reason::HttpVersionUnsupported;
    default:
      return Reason::RequestMalformed;
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
    case Reason::UpstreamTimeout:
      return "timeout";
    case Reason::UpstreamBroken:
      return "broken";
    default:
      return "refused";
  }
}

// An answer's status line and fields, through the blank line.
std::string answer_head(const gateway::Answer& a, bool keep, int version_minor) {
  std::string out;
  out.reserve(256);
  out.append("HTTP/1.1 ")
      .append(std::to_string(a.status))
      .append(" ")
      .append(reason_phrase(a.status))
      .append("\r\n");
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
  std::string in;                    // bytes read from the client, not yet consumed
  bool idle = false;                 // waiting for the next request
  std::shared_ptr<Stream> upstream;  // the exchange's upstream, while there is one
  bool streaming = false;            // relaying an event stream that drain ends at once
  bool drain_stream = false;         // set by drain: end the stream cleanly now
  std::list<Connection*>::iterator self;
};

// A step of handle() or exchange() that may answer the request itself: the outcome of that answer (whether
// the connection takes another request), or nullopt when the next step goes on with the request.
using Answered = std::optional<bool>;

// One request while handle()'s steps judge it. Its record's views point into it and into the head, so it
// stays where it was made.
struct Request {
  Request(Connection& connection, const RequestHead& request_head, bool keep_alive,
          std::string_view id_header)
      : c(connection),
        head(request_head),
        keep(keep_alive),
        request_id(field(request_head.fields, id_header)) {
    if (!observe::acceptable_request_id(request_id)) request_id = observe::new_request_id();
    rec.method = head.method;
    rec.target = head.target;
    rec.request_id = request_id;
    rec.remote_addr = c.peer;
    fields.reserve(head.fields.size());
    for (const auto& [k, v] : head.fields) fields.push_back({k, v});
  }
  Request(const Request&) = delete;
  Request& operator=(const Request&) = delete;

  // Before the record is handed on (to an answer, or to the exchange): who asked, and the time so far.
  void finish_rec() {
    rec.principal = who.get();
    rec.elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - started).count();
  }
  // What an MCP request asked and which rule decided (views into `call`, which outlives the record's use).
  void record_call(const CallOutcome& call) {
    rec.mcp_method = call.mcp_method;
    rec.mcp_target = call.mcp_target;
    rec.rule = call.rule;
  }

  Connection& c;
  const RequestHead& head;
  const bool keep;
  const Clock::time_point started = Clock::now();
  std::string request_id;
  Completed rec;
  std::shared_ptr<const Principal> who;
  std::vector<HeaderField> fields;  // head.fields as the Guard reads them
};

// One upstream exchange: the state exchange()'s steps share. Every way out closes the upstream connection,
// unless it was parked for a next request.
struct Exchange {
  Connection& c;
  const RequestHead& head;  // the request as forwarded (a decoded chunked body has a Content-Length)
  gateway::UpstreamRequest up;
  Completed& rec;
  HeaderList ours;  // the gateway's own response fields: request id, the Guard's, a sealed session id
  const bool keep;
  const CallOutcome* call;  // an inspected list request on a route with rules: its answer is filtered
  std::string_view path;    // decoded, as judged
  const Clock::time_point started = Clock::now();
  std::string request_head{};        // for the upstream: the body keeps its bytes, with our own framing
  bool whole_body_here = false;      // the body is all in c.in: sent with the head, and again on a retry
  bool body_complete = false;        // the client's body was read to its end
  std::shared_ptr<Stream> stream{};  // to the upstream
  bool parked = false;
  ResponseHead rh{};
  std::string response_bytes{};  // from the upstream, not relayed yet

  ~Exchange() {
    if (!parked && stream) stream->close();
  }
  const std::string& route() const { return up.route->prefix; }
};

// How writing a request to the upstream went: `answered` when the exchange is over (the client was answered
// or left); else `ec`, the write's error (none: the whole request is out).
struct Sent {
  Answered answered;
  error_code ec;
};

// Relaying one response body to the client: one buffer read from the upstream, written to the client, then
// the next (backpressure: at most one buffer per stream in memory).
struct Relay {
  bool event_stream = false;
  bool collect = false;     // a list answer on a route with rules: read whole, filtered, sent with its length
  bool coded_list = false;  // collected, but coded anyway (the upstream ignored identity): never relayed
  bool chunk_to_client = false;  // re-chunked for the client: the upstream's own chunking is never relayed
  bool keep_client = false;
  // The response head for the client. It goes out with the first body bytes when they came with it, and the
  // last chunk with the last bytes (one write, one packet for a whole small answer); alone when the body is
  // still to come (a stream's client sees the head at once).
  std::string head;
  bool head_sent = false, terminated = false;
  std::string collected;
  bool collect_overflow = false;
  std::uint64_t left = 0;  // of a Content-Length body
  ChunkedDecoder decoder;
  std::string data;  // decoded chunk data, on its way to the client
  std::string tail;  // the last bytes the client got: at an event boundary?
  bool upstream_done = false, upstream_broken = false, client_gone = false;
  // Bytes past the framed end of the response: the connection's framing is off, it is never reused (the next
  // request's answer must not start with them).
  bool extra = false;
  error_code wec;
};

// The request head for the upstream: the proxy's fields, and our own framing of the body. `plain_answer`: a
// list answer is read to be filtered, so it must come as plain bytes.
std::string upstream_request_head(const gateway::UpstreamRequest& up, const RequestHead& head,
                                  bool plain_answer) {
  std::string out;
  out.reserve(512);
  out.append(up.method)
      .append(" ")
      .append(up.target)
      .append(" HTTP/1.1\r\nHost: ")
      .append(up.upstream->authority);
  out.append("\r\n");
  if (plain_answer) {
    // The client's Accept-Encoding (Node's fetch always sends gzip, deflate) is replaced by identity; a list
    // answer that still arrives coded is 502.
    append_without_field(out, up.fields, "accept-encoding");
    out += "Accept-Encoding: identity\r\n";
  } else {
    out.append(up.fields);
  }
  if (head.framing == Framing::Length)
    out.append("Content-Length: ").append(std::to_string(head.content_length)).append("\r\n");
  if (head.framing == Framing::Chunked) out += "Transfer-Encoding: chunked\r\n";
  // No body: said so for the methods that usually have one (RFC 9110 §8.6), or the upstream waits for it.
  if (head.framing == Framing::None && (up.method == "POST" || up.method == "PUT" || up.method == "PATCH"))
    out += "Content-Length: 0\r\n";
  out += "\r\n";
  return out;
}

// The last fields of a response head for the client (its Connection), then the blank line.
void end_response_head(std::string& head, bool keep, int version_minor) {
  gateway::HeadWriter writer(head);
  if (!keep) writer.field("Connection", "close");
  if (keep && version_minor == 0) writer.field("Connection", "keep-alive");
  head += "\r\n";
}

// The response head for the client, and how the body is relayed (after x.rh, the upstream's head).
void plan_relay(const Exchange& x, Relay& r) {
  const RequestHead& head = x.head;
  const ResponseHead& rh = x.rh;
  const bool client_chunked = head.version_minor == 1;
  const bool relayed_length = rh.framing == BodyFraming::Length;
  r.keep_client = x.keep;
  r.head.reserve(512);
  r.head.append("HTTP/1.1 ")
      .append(std::to_string(rh.status))
      .append(" ")
      .append(reason_phrase(rh.status))
      .append("\r\n");
  gateway::HeadWriter writer(r.head);
  gateway::write_response_headers(rh.fields, x.ours, writer);
  if (r.event_stream && field(rh.fields, "x-accel-buffering").empty())
    writer.field("X-Accel-Buffering", "no");
  const std::string_view response_type = field(rh.fields, "content-type");
  r.collect = x.call && rh.status == 200 && head.method != "HEAD" && rh.framing != BodyFraming::None &&
              (r.event_stream || response_type.find("json") != std::string_view::npos);
  // Coded anyway (the upstream ignored identity): the filter cannot read it, and it is never relayed unread.
  r.coded_list = r.collect && !field(rh.fields, "content-encoding").empty() &&
                 field(rh.fields, "content-encoding") != "identity";
  if (!r.collect) {  // (a collected list gets its Content-Length once filtered)
    if (head.method == "HEAD" || rh.framing == BodyFraming::None) {
      if (const std::string_view cl = field(rh.fields, "content-length");
          !cl.empty() && head.method == "HEAD")
        writer.field("Content-Length", cl);
      else if (rh.status != 204 && rh.status != 304)
        writer.field("Content-Length", "0");
    } else if (relayed_length) {
      writer.field("Content-Length", std::to_string(rh.content_length));
    } else if (client_chunked) {
      writer.field("Transfer-Encoding", "chunked");
    } else {
      r.keep_client = false;  // HTTP/1.0: the body ends with the connection
    }
    end_response_head(r.head, r.keep_client, head.version_minor);
  }
  r.chunk_to_client = !r.collect && client_chunked && !relayed_length && rh.framing != BodyFraming::None &&
                      head.method != "HEAD";
  r.left = rh.content_length;
  r.upstream_done = rh.framing == BodyFraming::None;
  r.extra = rh.framing == BodyFraming::None && !x.response_bytes.empty();
}

// 429 too_many_streams, with when to try again.
gateway::Answer too_many_streams() {
  gateway::Answer a = gateway::json_answer(Reason::TooManyStreams);
  a.headers.emplace_back("Retry-After", "5");
  return a;
}

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
                      HeaderList ours, bool keep, const CallOutcome* call = nullptr,
                      std::string_view path = {});
  task<bool> answer(Connection& c, const RequestHead& head, const gateway::Answer& a, bool keep,
                    Completed& rec, bool body_read = false);
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
  // One request's steps (handle()).
  task<bool> answer_request(Request& r, gateway::Answer a, bool keep);
  task<bool> answer_forward_auth(Request& r);
  task<Answered> judge_mcp_body(Request& r, std::string_view path, CallOutcome& call,
                                std::optional<RequestHead>& decoded);
  task<bool> forward(Request& r, const RequestHead& sent, std::string_view path,
                     const HeaderList& guard_fields, const CallOutcome& call);
  // One upstream exchange's steps (exchange()).
  struct InFlight {  // an exchange while it runs: counted in active_exchanges() and the in-flight gauge
    State& s;
    explicit InFlight(State& state) : s(state) {
      s.exchanges.fetch_add(1);
      if (s.proxy.events().in_flight) s.proxy.events().in_flight(+1);
    }
    ~InFlight() {
      s.exchanges.fetch_sub(1);
      if (s.proxy.events().in_flight) s.proxy.events().in_flight(-1);
    }
  };
  // An event stream's place under gateway.max_streams_per_principal (and in the open-streams gauge) while it
  // is relayed.
  struct StreamSlot {
    State& s;
    std::string owner;  // "" until taken
    bool take(std::string who) {
      if (!s.take_stream_slot(who)) return false;
      owner = std::move(who);
      if (s.proxy.events().open_streams) s.proxy.events().open_streams(+1);
      return true;
    }
    ~StreamSlot() {
      if (owner.empty()) return;
      s.release_stream_slot(owner);
      if (s.proxy.events().open_streams) s.proxy.events().open_streams(-1);
    }
  };
  task<Answered> send_request(Exchange& x);
  task<Sent> write_request(Exchange& x, bool& continue_sent);
  task<Sent> stream_length_body(Exchange& x);
  task<Sent> stream_chunked_body(Exchange& x);
  Clock::duration body_read_time(const Exchange& x) const;
  task<error_code> read_response_head(Exchange& x, HeadResult& hr);
  task<bool> upstream_failed(Exchange& x, Reason failure, bool keep, bool body_read);
  task<bool> respond(Exchange& x);
  task<void> relay_body(Exchange& x, Relay& r);
  task<void> relay_buffered(Exchange& x, Relay& r);
  task<bool> relay_read_failed(Exchange& x, Relay& r, error_code ec);
  task<bool> deliver(Exchange& x, Relay& r, std::string_view bytes, bool last);
  task<bool> send_filtered_list(Exchange& x, Relay& r);
  task<bool> finish_relay(Exchange& x, Relay& r);
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
    auto c = std::make_shared<Connection>(
        Connection{*this, loop, nullptr, {}, {}, false, nullptr, false, false, {}});
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
task<PublicServer::State::WholeBody> PublicServer::State::read_whole_body(Connection& c,
                                                                          const RequestHead& head) {
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
task<bool> PublicServer::State::answer(Connection& c, const RequestHead& head, const gateway::Answer& a,
                                       bool keep, Completed& rec, bool body_read) {
  if (!body_read && keep)
    keep = co_await discard_body(c, head);
  else if (!body_read)
    keep = head.framing == Framing::None && keep;
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
  Request r(c, head, keep, config.gateway.request_id_header);
  if (!known_method(head.method))
    co_return co_await answer_request(r, gateway::json_answer(Reason::MethodNotImplemented), false);
  if (impl.forward_auth().handles(head.target)) co_return co_await answer_forward_auth(r);
  const http::RequestTarget target = http::parse_request_target(head.target);
  if (!target.ok)
    co_return co_await answer_request(r, answer_of(impl.refusal(Reason::RequestTargetRefused, "/")), keep);
  Decision d = impl.decide({.method = head.method,
                            .path = target.path,
                            .query_has_access_token = target.query_has_access_token,
                            .headers = r.fields});
  if (!d.allow) co_return co_await answer_request(r, answer_of(d), keep);
  r.who = std::move(d.principal);
  const std::string route = proxy.route_of(head.method, target.path);
  r.rec.route = route;
  r.rec.routed_public = !route.empty();
  if (head.framing != Framing::None &&
      (head.method == "GET" || head.method == "HEAD" || head.method == "OPTIONS")) {
    // A body these methods do not have: read as the next request by some servers, so never forwarded.
    co_return co_await answer_request(r, answer_of(impl.refusal(Reason::BodyNotAllowed, target.path)), false);
  }
  CallOutcome call;
  std::optional<RequestHead> decoded;  // a chunked body, decoded: forwarded with a Content-Length
  if (head.method == "POST" && impl.inspects(head.method, target.path))
    if (const Answered a = co_await judge_mcp_body(r, target.path, call, decoded)) co_return *a;
  co_return co_await forward(r, decoded ? *decoded : head, target.path, d.headers, call);
}

// Answers the request with the gateway's own answer (the record finished first).
task<bool> PublicServer::State::answer_request(Request& r, gateway::Answer a, bool keep) {
  r.finish_rec();
  co_return co_await answer(r.c, r.head, a, keep, r.rec);
}

// A forward-auth request (nginx auth_request, Traefik, Caddy): the Guard's decision is the whole answer.
task<bool> PublicServer::State::answer_forward_auth(Request& r) {
  CallOutcome call;
  const Decision d = impl.forward_auth().decide({.remote_addr = r.c.peer,
                                                 .method = r.head.method,
                                                 .target = r.head.target,
                                                 .headers = r.fields,
                                                 .header_values = http::TargetEncoding::Raw},
                                                &call);
  r.record_call(call);
  if (d.allow) r.who = d.principal;
  co_return co_await answer_request(r, answer_of(d), r.keep);
}

// An MCP POST: the body is read whole, inspected and judged before anything reaches the upstream. A chunked
// one goes on decoded, put back in c.in with `decoded` as its head.
task<Answered> PublicServer::State::judge_mcp_body(Request& r, std::string_view path, CallOutcome& call,
                                                   std::optional<RequestHead>& decoded) {
  Connection& c = r.c;
  WholeBody body = co_await read_whole_body(c, r.head);
  if (body.gone) co_return false;
  // The rest is not read: the connection closes.
  if (body.refused != Reason::Ok)
    co_return co_await answer_request(r, gateway::json_answer(body.refused), false);
  if (r.head.framing == Framing::Chunked) {
    decoded = r.head;
    decoded->framing = Framing::Length;
    decoded->content_length = body.decoded.size();
    decoded->expect_continue = false;
    c.in.insert(0, body.decoded);
  }
  const RequestHead& sent = decoded ? *decoded : r.head;
  const std::size_t length =
      sent.framing == Framing::Length ? static_cast<std::size_t>(sent.content_length) : 0;
  call = impl.decide_call({.path = path,
                           .headers = r.fields,
                           .body = std::string_view(c.in).substr(0, length),
                           .principal = r.who.get()});
  r.record_call(call);
  if (call.decision.allow) co_return std::nullopt;
  r.finish_rec();
  c.in.erase(0, length);
  gateway::Answer a = answer_of(call.decision);
  a.headers.emplace_back(config.gateway.request_id_header, r.request_id);
  co_return co_await answer(c, sent, a, r.keep, r.rec, true);
}

// The judged request on to its route's upstream, unless the proxy answers it itself (no upstream for the
// path, a session id that does not open, a service token missing, ...).
task<bool> PublicServer::State::forward(Request& r, const RequestHead& sent, std::string_view path,
                                        const HeaderList& guard_fields, const CallOutcome& call) {
  HeaderList ours = {{config.gateway.request_id_header, r.request_id}};
  for (const auto& [k, v] : guard_fields)
    if (!http::has_forbidden_octet(v)) ours.emplace_back(k, v);
  gateway::Prepared p = proxy.prepare({.method = r.head.method,
                                       .target = r.head.target,
                                       .path = path,
                                       .headers = r.head.fields,
                                       .principal = r.who.get(),
                                       .remote_addr = r.c.peer,
                                       .remote_trusted = guard.is_trusted_proxy(r.c.peer),
                                       .request_id = r.request_id,
                                       .tls = static_cast<bool>(tls)});
  r.finish_rec();
  if (p.answer) {
    const gateway::Answer a = with_fields(std::move(*p.answer), ours);
    co_return co_await answer(r.c, sent, a, r.keep, r.rec);
  }
  co_return co_await exchange(r.c, sent, std::move(*p.upstream), r.rec, std::move(ours), r.keep,
                              call.lists.empty() ? nullptr : &call, path);
}

// ---- upstream connections ----

void PublicServer::State::park(Loop& loop, std::string_view key, std::shared_ptr<Stream> stream) {
  if (draining || stopping) return stream->close();
  auto& idle = loop.idle_for(key);
  if (idle.size() >= kMaxIdlePerOrigin) return stream->close();
  stream->no_deadline();
  idle.push_back(UpstreamConnection{std::move(stream), Clock::now(), true});
}

task<std::shared_ptr<Stream>> PublicServer::State::connect_upstream(Loop& loop,
                                                                    const gateway::UpstreamRequest& up,
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
  if (head.framing == Framing::Length && head.content_length > config.server.max_body_bytes) {
    const gateway::Answer a = gateway::json_answer(Reason::RequestTooLarge);
    co_return co_await answer(c, head, a, false, rec, true);
  }
  const InFlight counted(*this);
  Exchange x{c, head, std::move(up), rec, std::move(ours), keep, call, path};
  x.request_head = upstream_request_head(x.up, head, call != nullptr);
  x.whole_body_here = head.framing == Framing::None ||
                      (head.framing == Framing::Length && c.in.size() >= head.content_length);
  x.body_complete = x.whole_body_here;
  if (const Answered a = co_await send_request(x)) co_return *a;
  co_return co_await respond(x);
}

// Sends the request and reads the response head into x.rh (the body's first bytes stay in x.response_bytes),
// once more on a fresh connection when a kept-alive one turns out to have been closed. Answered: the client
// got the gateway's own answer instead (502, 504, 400, 413), or left.
task<Answered> PublicServer::State::send_request(Exchange& x) {
  // Retried only when the upstream cannot have acted on it: the method is idempotent (RFC 9110 §9.2.2), or
  // the write itself failed on a connection the upstream had already closed.
  const bool idempotent = x.up.method == "GET" || x.up.method == "HEAD" || x.up.method == "OPTIONS" ||
                          x.up.method == "PUT" || x.up.method == "DELETE";
  bool continue_sent = false;
  for (int attempt = 0;; ++attempt) {
    bool reused = false;
    Reason failure = Reason::Ok;
    x.stream = co_await connect_upstream(x.c.loop, x.up, reused, failure);
    if (!x.stream)
      co_return co_await upstream_failed(x, failure, x.keep, false);  // reads the body, or closes
    x.c.upstream = x.stream;
    const Sent sent = co_await write_request(x, continue_sent);
    if (sent.answered) co_return sent.answered;
    x.response_bytes.clear();
    HeadResult hr;
    const error_code ec = sent.ec ? sent.ec : co_await read_response_head(x, hr);
    if (!ec && hr.status == HeadStatus::Complete) {
      if (x.head.framing == Framing::Length && x.whole_body_here) x.c.in.erase(0, x.head.content_length);
      x.response_bytes.erase(0, hr.consumed);
      co_return std::nullopt;
    }
    const bool timed_out = x.stream->expired();
    x.stream->close();
    x.c.upstream.reset();
    // A kept-alive connection the upstream had closed, nothing answered: once more on a new connection,
    // when the upstream cannot have acted on the request.
    if (reused && !timed_out && x.response_bytes.empty() && x.whole_body_here && attempt == 0 &&
        (idempotent || sent.ec))
      continue;
    failure = timed_out                          ? Reason::UpstreamTimeout
              : hr.status == HeadStatus::Refused ? Reason::UpstreamBroken  // a head that is not HTTP/1.x
                                                 : Reason::UpstreamUnavailable;
    if (x.head.framing == Framing::Length && x.whole_body_here) x.c.in.erase(0, x.head.content_length);
    // A body not read to its end leaves the connection's framing unknown: answer and close.
    co_return co_await upstream_failed(x, failure, x.keep && x.body_complete, true);
  }
}

// Writes the request: head and body at once when the body is all here; else the head, the 100 Continue a
// waiting client needs, then the body as it arrives (never decoded or decompressed; the cap holds for both
// framings).
task<Sent> PublicServer::State::write_request(Exchange& x, bool& continue_sent) {
  const RequestHead& head = x.head;
  const Clock::duration write_timeout = seconds(config.server.write_timeout);
  x.stream->expire_after(write_timeout);
  if (head.framing == Framing::Length && x.whole_body_here) {
    const std::string_view body = std::string_view(x.c.in).substr(0, head.content_length);
    co_return Sent{std::nullopt, co_await x.stream->write(x.request_head, body)};
  }
  Sent sent{std::nullopt, co_await x.stream->write(x.request_head)};
  if (!sent.ec && head.framing != Framing::None && head.expect_continue && !continue_sent) {
    continue_sent = true;
    x.c.client->expire_after(write_timeout);
    if (co_await x.c.client->write("HTTP/1.1 100 Continue\r\n\r\n")) co_return Sent{false, {}};
  }
  if (!sent.ec && head.framing == Framing::Length)
    sent = co_await stream_length_body(x);
  else if (!sent.ec && head.framing == Framing::Chunked)
    sent = co_await stream_chunked_body(x);
  if (!sent.answered) x.c.client->no_deadline();  // the body is through
  co_return sent;
}

// The next read of a streamed body: within read_timeout, and the whole body within header_timeout of the
// exchange's start (a client trickling a body cannot hold an upstream connection indefinitely).
Clock::duration PublicServer::State::body_read_time(const Exchange& x) const {
  const Clock::duration left = x.started + seconds(config.gateway.header_timeout) - Clock::now();
  return std::max(Clock::duration::zero(), std::min(seconds(config.server.read_timeout), left));
}

// A Content-Length body, written to the upstream as it arrives from the client.
task<Sent> PublicServer::State::stream_length_body(Exchange& x) {
  Connection& c = x.c;
  error_code ec;
  std::uint64_t left = x.head.content_length;
  while (left && !ec) {
    if (c.in.empty()) {
      c.client->expire_after(body_read_time(x));
      auto [read_ec, n] = co_await c.client->read_append(c.in);
      if (read_ec || !n) co_return Sent{false, {}};
    }
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(left, c.in.size()));
    x.stream->expire_after(seconds(config.server.write_timeout));
    ec = co_await x.stream->write(std::string_view(c.in).substr(0, take));
    c.in.erase(0, take);
    left -= take;
  }
  x.body_complete = left == 0 && !ec;
  co_return Sent{std::nullopt, ec};
}

// A chunked body, decoded as it arrives and chunked again for the upstream. A malformed or too large one is
// refused, and the upstream never gets its last chunk: no complete request reaches it.
task<Sent> PublicServer::State::stream_chunked_body(Exchange& x) {
  Connection& c = x.c;
  const Clock::duration write_timeout = seconds(config.server.write_timeout);
  ChunkedDecoder decoder;
  std::string data;
  for (;;) {
    std::size_t used = 0;
    const auto status = decoder.feed(c.in, used, data);
    c.in.erase(0, used);
    if (status == ChunkedDecoder::Status::Malformed || decoder.data_bytes() > config.server.max_body_bytes) {
      const gateway::Answer a =
          gateway::json_answer(status == ChunkedDecoder::Status::Malformed ? Reason::ChunkedBodyMalformed
                                                                           : Reason::RequestTooLarge);
      co_return Sent{co_await answer(c, x.head, a, false, x.rec, true), {}};
    }
    if (!data.empty()) {
      x.stream->expire_after(write_timeout);
      const std::string size_line = hex(data.size()) + "\r\n";
      const error_code ec = co_await x.stream->write(size_line, data, "\r\n");
      data.clear();
      if (ec) co_return Sent{std::nullopt, ec};
    }
    if (status == ChunkedDecoder::Status::Done) {
      x.stream->expire_after(write_timeout);
      const error_code ec = co_await x.stream->write("0\r\n\r\n");
      x.body_complete = !ec;
      co_return Sent{std::nullopt, ec};
    }
    c.client->expire_after(body_read_time(x));
    auto [read_ec, n] = co_await c.client->read_append(c.in);
    if (read_ec || !n) co_return Sent{false, {}};
  }
}

// The response head into x.rh, within header_timeout of the end of the request; interim answers (100
// Continue, ...) are dropped, not relayed.
task<error_code> PublicServer::State::read_response_head(Exchange& x, HeadResult& hr) {
  x.stream->expire_after(seconds(config.gateway.header_timeout));
  for (;;) {
    hr = parse_response_head(x.response_bytes, kMaxResponseHead, x.head.method == "HEAD", x.rh);
    if (hr.status == HeadStatus::Complete && x.rh.status >= 100 && x.rh.status < 200) {
      x.response_bytes.erase(0, hr.consumed);
      continue;
    }
    if (hr.status != HeadStatus::Incomplete) co_return error_code();
    auto [ec, n] = co_await x.stream->read_append(x.response_bytes);
    if (ec || !n) co_return ec ? ec : error_code(asio::error::eof);
  }
}

// The upstream could not be reached, or gave no usable response head: counted, and the client told so.
task<bool> PublicServer::State::upstream_failed(Exchange& x, Reason failure, bool keep, bool body_read) {
  const gateway::ProxyEvents& events = proxy.events();
  if (events.upstream_error) events.upstream_error(x.route(), error_kind(failure));
  const gateway::Answer a = with_fields(gateway::json_answer(failure), x.ours);
  co_return co_await answer(x.c, x.head, a, keep, x.rec, body_read);
}

// The upstream answered: its response goes to the client, relayed as it comes (or, a list on a route with
// rules, read whole and filtered first).
task<bool> PublicServer::State::respond(Exchange& x) {
  const gateway::ProxyEvents& events = proxy.events();
  // A stream may now live for hours: what only the request needed goes (memory per open stream).
  std::string().swap(x.request_head);
  std::string().swap(x.up.fields);
  Relay r;
  r.event_stream = is_event_stream(x.rh.fields);
  if (r.event_stream) x.c.in.shrink_to_fit();  // (a plain answer keeps the buffer for the next request)
  if (events.upstream_headers)
    events.upstream_headers(x.route(), std::chrono::duration<double>(Clock::now() - x.started).count());
  if (auto sealed = proxy.upstream_answered(x.up, x.rh.status, x.rh.fields))
    x.ours.emplace_back("Mcp-Session-Id", std::move(*sealed));
  StreamSlot slot{*this, {}};
  if (r.event_stream &&
      !slot.take(x.rec.principal ? gateway::session_owner(*x.rec.principal) : "addr\n" + x.c.peer)) {
    x.c.upstream.reset();
    const gateway::Answer a = with_fields(too_many_streams(), x.ours);
    co_return co_await answer(x.c, x.head, a, x.keep, x.rec, true);
  }
  plan_relay(x, r);
  x.rec.status = x.rh.status;
  x.c.streaming = !r.collect && r.event_stream &&
                  (x.head.method == "GET" || field(x.head.fields, "mcp-method") == "subscriptions/listen");
  // A drain that began before this stream did (its sweep of the loop's connections ran already) ends it now.
  x.c.drain_stream = x.c.streaming && draining;
  co_await relay_body(x, r);
  co_return co_await finish_relay(x, r);
}

// The body, until the upstream ends it, breaks it, the client leaves, a drain ends the stream or the server
// stops.
task<void> PublicServer::State::relay_body(Exchange& x, Relay& r) {
  const GatewayConfig& g = config.gateway;
  const Clock::duration tick =
      r.event_stream && g.sse_keepalive > 0 ? seconds(g.sse_keepalive) : seconds(g.header_timeout);
  if ((x.response_bytes.empty() || r.upstream_done) && !co_await deliver(x, r, {}, false))
    r.client_gone = true;
  while (!r.upstream_done && !r.upstream_broken && !r.client_gone && !r.collect_overflow && !stopping) {
    if (!x.response_bytes.empty()) {  // what is already buffered first (bytes that came with the head)
      co_await relay_buffered(x, r);
      continue;
    }
    if (x.c.drain_stream) break;
    x.stream->expire_after(tick);
    auto [ec, n] = co_await x.stream->read_append(x.response_bytes);
    if (x.c.drain_stream || stopping) break;
    if (ec && !co_await relay_read_failed(x, r, ec)) break;
  }
}

// Relays the bytes buffered from the upstream, as its framing says.
task<void> PublicServer::State::relay_buffered(Exchange& x, Relay& r) {
  std::string& bytes = x.response_bytes;
  if (x.rh.framing == BodyFraming::Chunked) {
    std::size_t used = 0;
    const auto status = r.decoder.feed(bytes, used, r.data);
    bytes.erase(0, used);
    if (status == ChunkedDecoder::Status::Malformed) {
      r.upstream_broken = true;
      co_return;
    }
    if (!co_await deliver(x, r, r.data, status == ChunkedDecoder::Status::Done)) r.client_gone = true;
    r.data.clear();
    if (status == ChunkedDecoder::Status::Done) {
      r.upstream_done = true;
      r.extra = !bytes.empty();
    }
  } else if (x.rh.framing == BodyFraming::Length) {
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(r.left, bytes.size()));
    if (!co_await deliver(x, r, std::string_view(bytes).substr(0, take), take == r.left))
      r.client_gone = true;
    bytes.erase(0, take);
    r.left -= take;
    if (!r.left) r.upstream_done = true;
    r.extra = !bytes.empty();
    bytes.clear();  // anything past the length is not ours to relay
  } else {
    if (!co_await deliver(x, r, bytes, false)) r.client_gone = true;
    bytes.clear();
  }
}

// A read from the upstream failed: true when the relay goes on (an idle event stream got a keep-alive
// comment); else the body ended (a close that frames it) or the upstream broke it.
task<bool> PublicServer::State::relay_read_failed(Exchange& x, Relay& r, error_code ec) {
  const gateway::ProxyEvents& events = proxy.events();
  if (x.stream->expired()) {
    if (r.event_stream && config.gateway.sse_keepalive > 0) {
      // Idle: a comment between events keeps idle-timeout proxies open and finds a client that left.
      if (at_event_boundary(r.tail) && !co_await deliver(x, r, kKeepaliveComment, false))
        r.client_gone = true;
      co_return true;
    }
    if (events.upstream_error) events.upstream_error(x.route(), "timeout");
    r.upstream_broken = true;
    co_return false;
  }
  if ((ec == asio::error::eof || ec == ssl::error::stream_truncated) &&
      x.rh.framing == BodyFraming::UntilClose) {
    r.upstream_done = true;
    co_return false;
  }
  if (events.upstream_error) events.upstream_error(x.route(), "broken");
  r.upstream_broken = true;
  co_return false;
}

// Body bytes to the client (the head with the first of them, the last chunk with the last), or into the list
// being collected. False when the client is gone, or the list grew past list_max_bytes.
task<bool> PublicServer::State::deliver(Exchange& x, Relay& r, std::string_view bytes, bool last) {
  if (r.collect) {
    if (r.collected.size() + bytes.size() > config.gateway.list_max_bytes) {
      r.collect_overflow = true;
      co_return false;
    }
    r.collected.append(bytes);
    co_return true;
  }
  const bool terminate = last && r.chunk_to_client;
  if (bytes.empty() && r.head_sent && !terminate) co_return true;
  const std::string_view h = r.head_sent ? std::string_view() : std::string_view(r.head);
  Stream& client = *x.c.client;
  client.expire_after(seconds(config.server.write_timeout));
  if (r.chunk_to_client && !bytes.empty()) {
    const std::string size_line = hex(bytes.size()) + "\r\n";
    r.wec = co_await client.write(h, size_line, bytes, terminate ? "\r\n0\r\n\r\n" : "\r\n");
  } else {
    r.wec = co_await client.write(h, bytes, terminate ? "0\r\n\r\n" : "");
  }
  client.no_deadline();
  if (!r.head_sent) {  // what only the head needed goes (memory per open stream)
    r.head_sent = true;
    std::string().swap(r.head);
    decltype(x.rh.fields)().swap(x.rh.fields);
    HeaderList().swap(x.ours);
  }
  r.terminated = r.terminated || terminate;
  x.rec.bytes_out += bytes.size();
  r.tail.append(bytes.substr(bytes.size() > 4 ? bytes.size() - 4 : 0));
  if (r.tail.size() > 4) r.tail.erase(0, r.tail.size() - 4);
  co_return !r.wec;
}

// A list answer read whole: filtered for the principal, then sent with its new length. One the filter cannot
// read is 502, never relayed unfiltered.
task<bool> PublicServer::State::send_filtered_list(Exchange& x, Relay& r) {
  mcp::Filtered f = r.coded_list
                        ? mcp::Filtered{}
                        : impl.filter_list(x.path, x.rec.principal, *x.call, r.collected, r.event_stream);
  std::string().swap(r.collected);
  if (!f.ok) {
    const gateway::ProxyEvents& events = proxy.events();
    if (events.upstream_error) events.upstream_error(x.route(), "unreadable_list");
    const gateway::Answer a = with_fields(
        gateway::json_answer(Reason::UpstreamBroken,
                             "The upstream MCP server sent a list answer that cannot be filtered."),
        x.ours);
    co_return co_await answer(x.c, x.head, a, x.keep, x.rec, true);
  }
  gateway::HeadWriter(r.head).field("Content-Length", std::to_string(f.body.size()));
  end_response_head(r.head, r.keep_client, x.head.version_minor);
  Stream& client = *x.c.client;
  client.expire_after(seconds(config.server.write_timeout));
  const error_code ec = co_await client.write(r.head, f.body);
  client.no_deadline();
  x.rec.bytes_out = f.body.size();
  if (completed) completed(x.rec);
  co_return !ec && r.keep_client;
}

// After the body: the upstream connection parked when it can take another request, and the client's
// response completed, answered 502 (nothing of it sent yet) or cut short.
task<bool> PublicServer::State::finish_relay(Exchange& x, Relay& r) {
  Connection& c = x.c;
  c.upstream.reset();
  c.streaming = false;
  const bool drained = c.drain_stream || (draining && r.event_stream);
  if (r.upstream_done && !r.extra && !r.client_gone && x.rh.keep_alive &&
      x.rh.framing != BodyFraming::UntilClose) {
    park(c.loop, x.up.pool_key, x.stream);
    x.parked = true;
  }
  if (r.collect && r.collect_overflow) {  // too large to be filtered: refused as a broken answer
    r.client_gone = false;
    r.upstream_broken = true;
  }
  if (r.collect && r.upstream_done && !r.upstream_broken && !stopping)
    co_return co_await send_filtered_list(x, r);
  if (r.upstream_broken && !r.head_sent && !r.client_gone && !stopping) {
    // Broken before the client got a byte: it can still be told so.
    const gateway::Answer a = with_fields(gateway::json_answer(Reason::UpstreamBroken), x.ours);
    co_return co_await answer(c, x.head, a, false, x.rec, true);
  }
  if (r.client_gone || r.upstream_broken || stopping) {
    // A broken upstream breaks the client's response: no terminating chunk, so it sees a truncated stream.
    if (r.upstream_broken) x.rec.reason = Reason::UpstreamBroken;  // logged with the status the client got
    if (completed) completed(x.rec);
    co_return false;
  }
  if (r.chunk_to_client && !r.terminated) {
    c.client->expire_after(seconds(config.server.write_timeout));
    r.wec = co_await c.client->write("0\r\n\r\n");  // complete, or ended cleanly by drain
    c.client->no_deadline();
  }
  if (completed) completed(x.rec);
  co_return !r.wec && r.keep_client && !drained;
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

int PublicServer::port() const noexcept {
  return state_->port;
}

void PublicServer::run() {
  State& s = *state_;
  asio::co_spawn(s.loops[0]->io, s.accept_loop(), asio::detached);
  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> work;
  for (auto& loop : s.loops) work.push_back(asio::make_work_guard(loop->io));
  for (std::size_t i = 1; i < s.loops.size(); ++i)
    s.loops[i]->thread = std::thread([&io = s.loops[i]->io] { io.run(); });
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

std::size_t PublicServer::active_exchanges() const noexcept {
  return state_->exchanges;
}

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
