#include "support/upstream_server.hpp"

#include <stdexcept>

namespace mcpgate::testing {

UpstreamServer::UpstreamServer() {
  server_.new_task_queue = [] { return new httplib::ThreadPool(16); };
  auto json = [this](const httplib::Request& req, httplib::Response& res) {
    record(req);
    if (req.get_header_value("X-Test-New-Session") == "1")
      res.set_header("Mcp-Session-Id", "s-" + std::to_string(++sessions_));
    res.set_content(R"({"ok":true})", "application/json");
  };
  server_.Get("/json", json);
  server_.Post("/json", json);
  // 202 with no body and no Content-Type: what an MCP server answers to a notification.
  server_.Post("/json/accepted", [this](const httplib::Request& req, httplib::Response& res) {
    record(req);
    res.status = 202;
  });
  server_.Delete("/json", json);
  auto sse = [this](const httplib::Request& req, httplib::Response& res) {
    record(req);
    int n = req.has_param("n") ? std::stoi(req.get_param_value("n")) : 3;
    int gap = req.has_param("gap_ms") ? std::stoi(req.get_param_value("gap_ms")) : 50;
    const bool split = req.get_param_value("split") == "1";
    if (req.get_param_value("accel") == "1") res.set_header("X-Accel-Buffering", "no");  // its own
    auto sent = std::make_shared<int>(0);
    res.set_chunked_content_provider(
        "text/event-stream", [this, n, gap, split, sent](std::size_t, httplib::DataSink& sink) {
          if (*sent > 0) std::this_thread::sleep_for(std::chrono::milliseconds(gap));
          if (*sent >= n || stopping_) {
            sink.done();
            return true;
          }
          std::string event = "event: message\ndata: {\"n\":" + std::to_string(*sent) + "}\n\n";
          {
            std::lock_guard lock(mutex_);
            sent_.push_back(std::chrono::steady_clock::now());
          }
          bool written = true;
          if (split) {  // half an event, a pause of gap_ms, then the rest
            const std::size_t half = event.size() / 2;
            written = sink.write(event.data(), half);
            if (written) std::this_thread::sleep_for(std::chrono::milliseconds(gap));
            written = written && sink.write(event.data() + half, event.size() - half);
          } else {
            written = sink.write(event.data(), event.size());
          }
          if (!written) {
            std::lock_guard lock(mutex_);
            disconnected_ = true;
            cv_.notify_all();
            return false;
          }
          ++*sent;
          return true;
        });
  };
  server_.Get("/sse", sse);
  server_.Post("/sse", sse);
  server_.Get("/stall", [this](const httplib::Request& req, httplib::Response& res) {
    record(req);
    int ms = req.has_param("ms") ? std::stoi(req.get_param_value("ms")) : 3000;
    const auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
    while (!stopping_ && std::chrono::steady_clock::now() < until)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    res.set_content("late", "text/plain");
  });
  server_.Get("/reset", [this](const httplib::Request& req, httplib::Response& res) {
    record(req);
    auto sent = std::make_shared<bool>(false);
    res.set_chunked_content_provider("text/event-stream", [sent](std::size_t, httplib::DataSink& sink) {
      if (*sent) return false;  // drop the connection: no terminating chunk
      *sent = true;
      std::string event = "data: first\n\n";
      return sink.write(event.data(), event.size());
    });
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("upstream test server: cannot bind");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
}

UpstreamServer::~UpstreamServer() {
  stopping_ = true;
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

void UpstreamServer::record(const httplib::Request& req) {
  std::lock_guard lock(mutex_);
  requests_.push_back({req.method, req.path, req.body, req.headers, req.remote_port});
}

std::vector<SeenRequest> UpstreamServer::requests() const {
  std::lock_guard lock(mutex_);
  return requests_;
}

SeenRequest UpstreamServer::last_request() const {
  std::lock_guard lock(mutex_);
  return requests_.empty() ? SeenRequest{} : requests_.back();
}

bool UpstreamServer::wait_for_disconnect(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return cv_.wait_for(lock, timeout, [this] { return disconnected_; });
}

std::vector<std::chrono::steady_clock::time_point> UpstreamServer::sent_times() const {
  std::lock_guard lock(mutex_);
  return sent_;
}

}  // namespace mcpgate::testing
