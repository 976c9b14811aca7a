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
  const char* reason = r.status == 200 ? "OK" : r.status == 404 ? "Not Found" : r.status == 405 ? "Method Not Allowed"
                       : r.status == 503 ? "Service Unavailable" : "Bad Request";
  return "HTTP/1.1 " + std::to_string(r.status) + " " + reason + "\r\nContent-Type: " + std::string(r.content_type) +
         "\r\nContent-Length: " + std::to_string(r.body.size()) + "\r\nConnection: close\r\n\r\n" + r.body;
}

}  // namespace

struct AdminServer::Loop {
  asio::io_context io{1};
  tcp::acceptor acceptor{io};
  std::size_t open = 0;
};

AdminServer::AdminServer(Options options, Metrics& metrics, ReadyCheck ready)
    : options_(std::move(options)), metrics_(metrics), ready_(std::move(ready)) {}

AdminServer::~AdminServer() { stop(); }

bool AdminServer::start(std::string* error) {
  auto fail = [&](std::string message) {
    if (error) *error = std::move(message);
    return false;
  };
  std::lock_guard lock(lifecycle_mutex_);
  if (started_) return fail("admin server already started");
  if (options_.port < 0 || options_.port > 65535)
    return fail("cannot bind the admin listener to port " + std::to_string(options_.port));
  auto loop = std::make_unique<Loop>();
  error_code ec;
  const auto address = asio::ip::make_address(options_.listen_address, ec);
  if (ec) return fail("cannot bind the admin listener to " + options_.listen_address + ": not an IP address");
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(options_.port));
  // SO_REUSEADDR (a restart while old connections sit in TIME_WAIT), never SO_REUSEPORT: a second process
  // must not be able to bind the same port and take a share of the scrapes.
  loop->acceptor.open(endpoint.protocol(), ec);
  if (!ec) loop->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) loop->acceptor.bind(endpoint, ec);
  if (!ec) loop->acceptor.listen(SOMAXCONN, ec);
  if (ec)
    return fail("cannot bind the admin listener to " + options_.listen_address + ":" + std::to_string(options_.port) +
                " (" + ec.message() + ")");
  port_ = loop->acceptor.local_endpoint().port();

  auto respond = [this](const net::RequestHead& head) -> Reply {
    const std::string_view path = std::string_view(head.target).substr(0, head.target.find('?'));
    // A route is GET (or HEAD) of one of three paths; anything else is 404.
    if ((path != "/healthz" && path != "/readyz" && path != "/metrics") ||
        (head.method != "GET" && head.method != "HEAD"))
      return {404, kJson, R"({"error":"not_found"})"};
    if (path == "/healthz") return {200, kJson, R"({"status":"ok"})"};
    if (path == "/metrics") return {200, kPrometheusText, metrics_.render()};
    std::string detail;
    if (!ready_ || ready_(detail)) return {200, kJson, R"({"status":"ready"})"};
    nlohmann::json body{{"status", "not_ready"}, {"detail", detail}};
    return {503, kJson, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
  };
  auto connection = [respond](Loop& l, std::shared_ptr<tcp::socket> socket) -> asio::awaitable<void> {
    // The deadline's handler shares the socket: it may run after this coroutine is gone.
    asio::steady_timer deadline(l.io, std::chrono::seconds(1));  // the request must be there within 1 s
    deadline.async_wait([socket](error_code e) {
      error_code ignored;
      if (!e) socket->cancel(ignored);
    });
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
      Reply reply = r.status == net::HeadStatus::Complete ? respond(head) : Reply{400, kJson, R"({"error":"bad_request"})"};
      if (r.status == net::HeadStatus::Complete && head.framing != net::Framing::None && reply.status == 200)
        reply = {400, kJson, R"({"error":"bad_request"})"};  // no admin route takes a body
      std::string out = render(reply);
      if (head.method == "HEAD") out.resize(out.size() - reply.body.size());
      deadline.expires_after(std::chrono::seconds(2));  // a reader that stops reading
      deadline.async_wait([socket](error_code e) {
        error_code ignored;
        if (!e) socket->cancel(ignored);
      });
      co_await asio::async_write(*socket, asio::buffer(out), kAwait);
    }
    deadline.cancel();
    error_code ignored;
    socket->shutdown(tcp::socket::shutdown_both, ignored);
    socket->close(ignored);
    --l.open;
  };
  asio::co_spawn(
      loop->io,
      [l = loop.get(), connection]() -> asio::awaitable<void> {
        for (;;) {
          auto [ec, socket] = co_await l->acceptor.async_accept(kAwait);
          if (ec == asio::error::operation_aborted || !l->acceptor.is_open()) co_return;
          if (ec) {
            asio::steady_timer pause(l->io, std::chrono::milliseconds(50));
            co_await pause.async_wait(kAwait);
            continue;
          }
          if (l->open >= kMaxConnections) continue;  // closed at once (the socket goes out of scope)
          error_code ignored;
          socket.set_option(tcp::no_delay(true), ignored);
          ++l->open;
          asio::co_spawn(l->io, connection(*l, std::make_shared<tcp::socket>(std::move(socket))), asio::detached);
        }
      },
      asio::detached);
  loop_ = std::move(loop);
  thread_ = std::thread([l = loop_.get()] { l->io.run(); });
  started_ = true;
  return true;
}

int AdminServer::port() const { return port_; }

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
