#include "observe/admin_server.hpp"

#include <boost/asio.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "net/http1.hpp"

namespace mcpgate::observe {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using boost::system::error_code;
constexpr auto kAwait = asio::as_tuple(asio::use_awaitable);
constexpr std::string_view kJson = "application/json";
constexpr std::string_view kPrometheusText = "text/plain; version=0.0.4; charset=utf-8";

struct Reply {
  int status;
  std::string_view content_type;
  std::string body;
};

std::string render(const Reply& r) {
  const char* reason = r.status == 200   ? "OK"
                       : r.status == 404 ? "Not Found"
                       : r.status == 405 ? "Method Not Allowed"
                       : r.status == 503 ? "Service Unavailable"
                                         : "Bad Request";
  return "HTTP/1.1 " + std::to_string(r.status) + " " + reason +
         "\r\nContent-Type: " + std::string(r.content_type) +
         "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
}

using Responder = std::function<Reply(const net::RequestHead&)>;

// A route is GET (or HEAD) of one of three paths; anything else is 404.
Reply answer(const net::RequestHead& head, Metrics& metrics, const AdminServer::ReadyCheck& ready) {
  const std::string_view path = std::string_view(head.target).substr(0, head.target.find('?'));
  if ((path != "/healthz" && path != "/readyz" && path != "/metrics") ||
      (head.method != "GET" && head.method != "HEAD"))
    return {404, kJson, R"({"error":"not_found"})"};
  if (path == "/healthz") return {200, kJson, R"({"status":"ok"})"};
  if (path == "/metrics") return {200, kPrometheusText, metrics.render()};
  const Status status = ready ? ready() : Status{};
  if (status.ok()) return {200, kJson, R"({"status":"ready"})"};
  nlohmann::json body{{"status", "not_ready"}, {"detail", status.detail}};
  return {503, kJson, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
}

// Cancels the socket's pending operations once `after` has passed. The handler shares the socket: it may run
// after the connection's coroutine is gone.
void arm(asio::steady_timer& deadline, std::chrono::seconds after,
         const std::shared_ptr<tcp::socket>& socket) {
  deadline.expires_after(after);
  deadline.async_wait([socket](error_code e) {
    error_code ignored;
    if (!e) socket->cancel(ignored);
  });
}

// One request per connection: the head must arrive within 1 s and the answer be taken within 2 s.
asio::awaitable<void> serve_connection(asio::io_context& io, std::shared_ptr<tcp::socket> socket,
                                       Responder respond, std::size_t& open) {
  asio::steady_timer deadline(io);
  arm(deadline, std::chrono::seconds(1), socket);
  std::string in;
  std::array<char, 2048> buf;
  net::RequestHead head;
  net::HeadLimits limits{.max_request_line = 1024, .max_header_bytes = 4096, .max_header_count = 32};
  net::HeadResult r;
  for (;;) {
    auto [ec, n] = co_await socket->async_read_some(asio::buffer(buf), kAwait);
    if (ec || !n) break;
    in.append(buf.data(), n);
    r = net::parse_request_head(in, limits, head);
    if (r.status != net::HeadStatus::Incomplete) break;
  }
  if (r.status != net::HeadStatus::Incomplete) {
    Reply reply = r.status == net::HeadStatus::Complete ? respond(head)
                                                        : Reply{400, kJson, R"({"error":"bad_request"})"};
    if (r.status == net::HeadStatus::Complete && head.framing != net::Framing::None && reply.status == 200)
      reply = {400, kJson, R"({"error":"bad_request"})"};  // no admin route takes a body
    std::string out = render(reply);
    if (head.method == "HEAD") out.resize(out.size() - reply.body.size());
    arm(deadline, std::chrono::seconds(2), socket);  // a reader that stops reading
    co_await asio::async_write(*socket, asio::buffer(out), kAwait);
  }
  deadline.cancel();
  error_code ignored;
  socket->shutdown(tcp::socket::shutdown_both, ignored);
  socket->close(ignored);
  --open;
}

// Accepts until the acceptor is closed; past kMaxConnections open ones, a new connection is closed at once.
asio::awaitable<void> accept_loop(asio::io_context& io, tcp::acceptor& acceptor, Responder respond,
                                  std::size_t& open) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(kAwait);
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      asio::steady_timer pause(io, std::chrono::milliseconds(50));
      co_await pause.async_wait(kAwait);
      continue;
    }
    if (open >= AdminServer::kMaxConnections) continue;  // the socket goes out of scope: closed
    error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);
    ++open;
    asio::co_spawn(io, serve_connection(io, std::make_shared<tcp::socket>(std::move(socket)), respond, open),
                   asio::detached);
  }
}

// SO_REUSEADDR (a restart while old connections sit in TIME_WAIT), never SO_REUSEPORT: a second process must
// not be able to bind the same port and take a share of the scrapes.
Status listen(tcp::acceptor& acceptor, const AdminServer::Options& options) {
  const std::string where = options.listen_address + ":" + std::to_string(options.port);
  if (options.port < 0 || options.port > 65535)
    return {Reason::ListenFailed, "cannot bind the admin listener to port " + std::to_string(options.port)};
  error_code ec;
  const auto address = asio::ip::make_address(options.listen_address, ec);
  if (ec)
    return {Reason::ListenFailed,
            "cannot bind the admin listener to " + options.listen_address + ": not an IP address"};
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options.port));
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(SOMAXCONN, ec);
  if (ec)
    return {Reason::ListenFailed, "cannot bind the admin listener to " + where + " (" + ec.message() + ")"};
  return {};
}

}  // namespace

struct AdminServer::Loop {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::size_t open = 0;
};

AdminServer::AdminServer(Options options, Metrics& metrics, ReadyCheck ready)
    : options_(std::move(options)), metrics_(metrics), ready_(std::move(ready)) {}

AdminServer::~AdminServer() {
  stop();
}

Status AdminServer::start() {
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) return {Reason::ListenFailed, "admin server already started"};
  auto loop = std::make_unique<Loop>();
  if (Status bound = listen(loop->acceptor, options_); !bound.ok()) return bound;
  port_ = loop->acceptor.local_endpoint().port();
  Responder respond = [this](const net::RequestHead& head) { return answer(head, metrics_, ready_); };
  asio::co_spawn(loop->io, accept_loop(loop->io, loop->acceptor, std::move(respond), loop->open),
                 asio::detached);
  loop_ = std::move(loop);
  thread_ = std::thread([l = loop_.get()] { l->io.run(); });
  started_ = true;
  return {};
}

int AdminServer::port() const {
  return port_;
}

void AdminServer::stop() {
  std::lock_guard lock(lifecycle_mutex_);
  if (!started_) return;
  asio::post(loop_->io, [l = loop_.get()] {
    error_code ignored;
    l->acceptor.close(ignored);
    l->io.stop();
  });
  if (thread_.joinable()) thread_.join();
  loop_.reset();
  started_ = false;
}

}  // namespace mcpgate::observe
