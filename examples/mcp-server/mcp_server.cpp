// mcp_server.cpp — a small, real MCP server (streamable HTTP transport, spec revision 2025-06-18) to put
// behind `mcpgate serve`. It knows three tools: `echo`, `whoami` (shows the X-Auth-* identity headers the
// gateway injected) and `countdown` (streams progress over SSE).
//
//   ./mcpgate_example_mcp_server --port 3000            # prints "listening on http://127.0.0.1:3000/mcp"
//   ./mcpgate_example_mcp_server --port 0 --tick-ms 1000  # any free port, a GET-stream tick every second
//
// What the transport asks of a server
// (https://modelcontextprotocol.io/specification/2025-06-18/basic/transports):
//   POST  one JSON-RPC message; a request gets application/json or, when the client accepts it, an SSE stream
//         that may carry notifications before the final response; a notification gets 202 and no body.
//   GET   an SSE stream for server-initiated messages (here: a logging "tick N" every --tick-ms).
//   DELETE ends the session named by the Mcp-Session-Id header.
// The server hands out Mcp-Session-Id on `initialize`; every later call must carry a known one (400 when it
// is missing, 404 when it is unknown, so the client knows to initialize again).
//
// It does no authentication and no Origin check of its own: that is the gateway's job, in front of it.
#include <httplib.h>
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>

#include <CLI/CLI.hpp>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <iostream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>
#include <string>
#include <thread>

using nlohmann::json;

namespace {

constexpr const char* kServerVersion = "0.1.0";
constexpr size_t kWorkerThreads = 64;
constexpr const char* kLatestProtocol = "2025-06-18";
const std::set<std::string> kSupportedProtocols = {"2025-06-18", "2025-03-26", "2024-11-05"};

// JSON-RPC 2.0 error codes (https://www.jsonrpc.org/specification#error_object).
constexpr int kParseError = -32700;
constexpr int kInvalidRequest = -32600;
constexpr int kMethodNotFound = -32601;
constexpr int kInvalidParams = -32602;
constexpr int kInternalError = -32603;
constexpr int kSessionError = -32000;  // server-defined: bad or unknown Mcp-Session-Id

// The live sessions, plus the one condition variable every streaming response sleeps on, so that deleting
// a session or stopping the server wakes the streams at once instead of after their next tick.
class Sessions {
 public:
  std::string create() {
    unsigned char bytes[16];  // 128 random bits: session ids must not be guessable
    if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
    static constexpr char kHex[] = "0123456789abcdef";
    std::string id;
    for (unsigned char b : bytes) id += {kHex[b >> 4], kHex[b & 15]};
    std::lock_guard lock(mu_);
    ids_.insert(id);
    return id;
  }
  bool contains(const std::string& id) {
    std::lock_guard lock(mu_);
    return ids_.count(id) > 0;
  }
  bool erase(const std::string& id) {
    std::lock_guard lock(mu_);
    bool erased = ids_.erase(id) > 0;
    changed_.notify_all();
    return erased;
  }
  void shut_down() {
    std::lock_guard lock(mu_);
    stopping_ = true;
    changed_.notify_all();
  }
  // Sleeps `ms`; false when woken early because the session ended or the server is stopping.
  bool sleep_while_alive(const std::string& id, std::chrono::milliseconds ms) {
    std::unique_lock lock(mu_);
    return !changed_.wait_for(lock, ms, [&] { return stopping_ || ids_.count(id) == 0; });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  std::set<std::string> ids_;
  bool stopping_ = false;
};

json rpc_error(const json& id, int code, const std::string& message) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"error", {{"code", code}, {"message", message}}}};
}
json rpc_result(const json& id, json result) {
  return {{"jsonrpc", "2.0"}, {"id", id}, {"result", result}};
}
json text_content(const std::string& text) {
  return {{"content", json::array({{{"type", "text"}, {"text", text}}})}, {"isError", false}};
}
// One SSE event per JSON-RPC message, the framing the MCP clients parse.
std::string sse_event(const json& message) {
  return "event: message\ndata: " + message.dump() + "\n\n";
}

void send_json(httplib::Response& res, int status, const json& body) {
  res.status = status;
  res.set_content(body.dump(), "application/json");
}

json tool_list() {
  return json::array({
      {{"name", "echo"},
       {"description", "Returns the text it is given."},
       {"inputSchema",
        {{"type", "object"},
         {"properties", {{"text", {{"type", "string"}, {"description", "Text to echo back"}}}}},
         {"required", {"text"}}}}},
      {{"name", "whoami"},
       {"description", "Shows the identity headers (X-Auth-*) the gateway passed to this server."},
       {"inputSchema", {{"type", "object"}, {"properties", json::object()}}}},
      {{"name", "countdown"},
       {"description",
        "Counts down from `from`, one progress notification every interval_ms, then says liftoff."},
       {"inputSchema",
        {{"type", "object"},
         {"properties",
          {{"from", {{"type", "integer"}, {"minimum", 1}, {"maximum", 20}}},
           {"interval_ms", {{"type", "integer"}, {"minimum", 0}, {"maximum", 10000}, {"default", 200}}}}},
         {"required", {"from"}}}}},
  });
}

struct Countdown {
  int from = 0;
  int interval_ms = 200;
};
// `args[key]` as an int within [lo, hi]; nullopt when it is not an integer or out of range. The range is
// checked on the JSON number itself, so 4294967297 cannot wrap around to 1 on the way into an int.
std::optional<int> int_in_range(const json& args, const char* key, int lo, int hi) {
  const auto it = args.find(key);
  if (it == args.end() || !it->is_number_integer() || *it < lo || *it > hi) return std::nullopt;
  return it->get<int>();
}

// Reads countdown's arguments; nullopt when they do not match its inputSchema.
std::optional<Countdown> parse_countdown(const json& args) {
  const auto from = int_in_range(args, "from", 1, 20);
  const auto interval_ms = args.contains("interval_ms") ? int_in_range(args, "interval_ms", 0, 10000) : 200;
  if (!from || !interval_ms) return std::nullopt;
  return Countdown{*from, *interval_ms};
}

// The message sent for step `done` of `c` (1-based): progress when the caller asked for it
// (params._meta.progressToken), otherwise a log message.
json countdown_notification(const Countdown& c, int done, const json& progress_token) {
  std::string text = "T-minus " + std::to_string(c.from - done + 1);
  if (!progress_token.is_null())
    return {{"jsonrpc", "2.0"},
            {"method", "notifications/progress"},
            {"params",
             {{"progressToken", progress_token}, {"progress", done}, {"total", c.from}, {"message", text}}}};
  return {{"jsonrpc", "2.0"},
          {"method", "notifications/message"},
          {"params", {{"level", "info"}, {"logger", "countdown"}, {"data", text}}}};
}

class McpServer {
 public:
  McpServer(std::string path, int tick_ms) : path_(std::move(path)), tick_ms_(tick_ms) {
    // Each open SSE stream holds one of httplib's worker threads (blocking I/O), and every connected client
    // keeps a GET stream open: have more workers than httplib's default of 8.
    http_.new_task_queue = [] { return new httplib::ThreadPool(kWorkerThreads); };
    http_.set_tcp_nodelay(true);  // headers and body go out as separate writes: never wait for a delayed ACK
    http_.set_keep_alive_max_count(1000);  // cpp-httplib closes after 5 requests by default: reconnect storms
    http_.Post(path_, [this](const auto& req, auto& res) { post(req, res); });
    http_.Get(path_, [this](const auto& req, auto& res) { get(req, res); });
    http_.Delete(path_, [this](const auto& req, auto& res) { del(req, res); });
  }
  httplib::Server& http() { return http_; }
  void stop() {
    sessions_.shut_down();  // wake the streams first: the server waits for their threads
    http_.stop();
  }

 private:
  // 400 when the header is missing, 404 when the session is unknown (or was deleted); true when it is good.
  bool check_session(const httplib::Request& req, httplib::Response& res, const json& id) {
    const std::string sid = req.get_header_value("Mcp-Session-Id");
    if (sid.empty()) {
      send_json(res, 400, rpc_error(id, kSessionError, "Bad Request: Mcp-Session-Id header is required"));
      return false;
    }
    if (!sessions_.contains(sid)) {
      send_json(res, 404, rpc_error(id, kSessionError, "Session not found"));
      return false;
    }
    return true;
  }

  void post(const httplib::Request& req, httplib::Response& res) {
    json msg = json::parse(req.body, nullptr, /*allow_exceptions=*/false);
    if (msg.is_discarded()) return send_json(res, 400, rpc_error(nullptr, kParseError, "Parse error"));
    // 2025-06-18 dropped JSON-RPC batches: one message per POST.
    if (!msg.is_object() || msg.value("jsonrpc", json()) != "2.0")
      return send_json(res, 400, rpc_error(nullptr, kInvalidRequest, "Invalid Request"));
    const bool has_id = msg.contains("id");
    const json id = has_id ? msg["id"] : json();
    if (has_id && !id.is_string() && !id.is_number_integer())
      return send_json(res, 400, rpc_error(nullptr, kInvalidRequest, "Invalid Request: id"));
    const auto method_it = msg.find("method");
    const bool is_response = has_id && (msg.contains("result") || msg.contains("error"));
    if (!is_response && (method_it == msg.end() || !method_it->is_string()))
      return send_json(res, 400, rpc_error(id, kInvalidRequest, "Invalid Request: method"));
    const std::string method = is_response ? "" : method_it->get<std::string>();

    if (method != "initialize") {
      if (!check_session(req, res, id)) return;
      // After initialize the client names its protocol version on every request; refuse ones we never
      // offered.
      const std::string version = req.get_header_value("MCP-Protocol-Version");
      if (!version.empty() && kSupportedProtocols.count(version) == 0)
        return send_json(res, 400, rpc_error(id, kInvalidRequest, "Unsupported MCP-Protocol-Version"));
    }
    if (!has_id || is_response) {  // notifications (initialized, cancelled, ...) and responses: accepted
      res.status = 202;
      return;
    }
    const json params = msg.value("params", json::object());
    if (!params.is_object())
      return send_json(res, 200, rpc_error(id, kInvalidParams, "params must be an object"));
    try {
      if (method == "initialize") return initialize(req, res, id, params);
      if (method == "ping") return send_json(res, 200, rpc_result(id, json::object()));
      if (method == "tools/list") return send_json(res, 200, rpc_result(id, {{"tools", tool_list()}}));
      if (method == "logging/setLevel") return send_json(res, 200, rpc_result(id, json::object()));
      if (method == "tools/call") return call_tool(req, res, id, params);
      send_json(res, 200, rpc_error(id, kMethodNotFound, "Method not found: " + method));
    } catch (const std::exception&) {  // a type we did not expect somewhere in params: never crash on input
      send_json(res, 200, rpc_error(id, kInternalError, "Internal error"));
    }
  }

  void initialize(const httplib::Request&, httplib::Response& res, const json& id, const json& params) {
    // Version negotiation: echo the client's version when we speak it, else offer our latest.
    const json asked = params.value("protocolVersion", json());
    const std::string version = asked.is_string() && kSupportedProtocols.count(asked.get<std::string>())
                                    ? asked.get<std::string>()
                                    : kLatestProtocol;
    const std::string sid = sessions_.create();
    res.set_header("Mcp-Session-Id", sid);
    std::cerr << "session started" << std::endl;  // the id itself is a bearer of the session: not logged
    send_json(
        res, 200,
        rpc_result(id, {{"protocolVersion", version},
                        {"capabilities", {{"tools", {{"listChanged", false}}}, {"logging", json::object()}}},
                        {"serverInfo", {{"name", "mcpgate-example"}, {"version", kServerVersion}}}}));
  }

  void call_tool(const httplib::Request& req, httplib::Response& res, const json& id, const json& params) {
    const json name = params.value("name", json());
    const json args = params.value("arguments", json::object());
    if (!name.is_string() || !args.is_object())
      return send_json(res, 200,
                       rpc_error(id, kInvalidParams, "tools/call needs a name and object arguments"));

    if (name == "echo") {
      const json text = args.value("text", json());
      if (!text.is_string())
        return send_json(res, 200, rpc_error(id, kInvalidParams, "echo: text must be a string"));
      return send_json(res, 200, rpc_result(id, text_content(text.get<std::string>())));
    }
    if (name == "whoami") {
      // What the gateway injected after checking the caller's token (empty when called without it).
      json who = json::object();
      for (const char* h :
           {"X-Auth-Subject", "X-Auth-Scopes", "X-Auth-Client-Id", "X-Auth-Organization", "X-Auth-Source"})
        who[h] = req.get_header_value(h);
      return send_json(res, 200, rpc_result(id, text_content(who.dump())));
    }
    if (name == "countdown") {
      const auto c = parse_countdown(args);
      if (!c)
        return send_json(
            res, 200,
            rpc_error(id, kInvalidParams, "countdown: from 1..20, interval_ms 0..10000 (integers)"));
      return countdown(req, res, id, params, *c);
    }
    send_json(res, 200, rpc_error(id, kInvalidParams, "Unknown tool: " + name.get<std::string>()));
  }

  void countdown(const httplib::Request& req, httplib::Response& res, const json& id, const json& params,
                 Countdown c) {
    const std::string sid = req.get_header_value("Mcp-Session-Id");
    const json meta = params.value("_meta", json::object());
    const json token = meta.is_object() ? meta.value("progressToken", json()) : json();
    const json final_result = rpc_result(id, text_content("liftoff"));

    if (req.get_header_value("Accept").find("text/event-stream") == std::string::npos) {
      // A client that takes JSON only gets no notifications, just the result once the countdown is over.
      for (int i = 0; i < c.from; ++i)
        if (!sessions_.sleep_while_alive(sid, std::chrono::milliseconds(c.interval_ms))) break;
      return send_json(res, 200, final_result);
    }
    // SSE: every notification is its own chunk, written as soon as it exists; the stream ends with the
    // result.
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream", [this, sid, c, token, final_result](size_t, httplib::DataSink& sink) {
          for (int done = 1; done <= c.from; ++done) {
            const std::string event = sse_event(countdown_notification(c, done, token));
            if (!sink.write(event.data(), event.size())) return false;  // client went away
            if (!sessions_.sleep_while_alive(sid, std::chrono::milliseconds(c.interval_ms))) return false;
          }
          const std::string last = sse_event(final_result);
          if (!sink.write(last.data(), last.size())) return false;
          sink.done();
          return true;
        });
  }

  void get(const httplib::Request& req, httplib::Response& res) {
    if (req.get_header_value("Accept").find("text/event-stream") == std::string::npos) {
      res.status = 405;  // this endpoint's GET is only ever an event stream
      res.set_header("Allow", "GET, POST, DELETE");
      return;
    }
    if (!check_session(req, res, nullptr)) return;
    // The standalone stream: server-initiated messages unrelated to any request, until the client hangs up,
    // the session is deleted or the server stops.
    const std::string sid = req.get_header_value("Mcp-Session-Id");
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider("text/event-stream", [this, sid](size_t, httplib::DataSink& sink) {
      for (long tick = 1;; ++tick) {
        if (!sessions_.sleep_while_alive(sid, std::chrono::milliseconds(tick_ms_))) break;
        const std::string event = sse_event(
            {{"jsonrpc", "2.0"},
             {"method", "notifications/message"},
             {"params",
              {{"level", "info"}, {"logger", "ticker"}, {"data", "tick " + std::to_string(tick)}}}});
        if (!sink.write(event.data(), event.size())) return false;  // client went away
      }
      sink.done();
      return true;
    });
  }

  void del(const httplib::Request& req, httplib::Response& res) {
    if (!check_session(req, res, nullptr)) return;
    sessions_.erase(req.get_header_value("Mcp-Session-Id"));
    std::cerr << "session ended" << std::endl;
    res.status = 200;
  }

  std::string path_;
  int tick_ms_;
  Sessions sessions_;
  httplib::Server http_;
};

}  // namespace

int main(int argc, char** argv) {
  std::string listen = "127.0.0.1";
  int port = 3000;
  std::string path = "/mcp";
  int tick_ms = 15000;
  CLI::App app{"mcpgate-example: a small MCP server (streamable HTTP) to run behind mcpgate"};
  app.add_option("--listen", listen, "Address to listen on")->capture_default_str();
  app.add_option("--port", port, "TCP port (0: any free port)")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  // httplib routes by regex: keep the path to plain characters.
  app.add_option("--path", path, "Endpoint path")
      ->capture_default_str()
      ->check(CLI::Validator(
          [](std::string& p) {
            return p.size() > 0 && p[0] == '/' &&
                           p.find_first_not_of(
                               "abcdefghijklmnopqrstuvwxyz"
                               "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/_-") == std::string::npos
                       ? std::string()
                       : std::string("must start with / and use only letters, digits, / _ -");
          },
          "PATH"));
  app.add_option("--tick-ms", tick_ms, "Interval of the GET stream's tick messages")
      ->capture_default_str()
      ->check(CLI::Range(1, 3600000));
  CLI11_PARSE(app, argc, argv);

  // Block SIGTERM/SIGINT before any thread starts, so every thread inherits the mask and only `sigwait` below
  // sees them; a client hanging up mid-stream must not kill us with SIGPIPE.
  ::signal(SIGPIPE, SIG_IGN);
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  McpServer server(path, tick_ms);
  // cpp-httplib's default SO_REUSEPORT would let a second server bind the same port and take half the
  // requests; SO_REUSEADDR alone still allows a quick restart.
  server.http().set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });
  const int bound = port == 0 ? server.http().bind_to_any_port(listen)
                              : (server.http().bind_to_port(listen, port) ? port : -1);
  if (bound < 0) {
    std::cerr << "cannot listen on " << listen << ":" << port << "\n";
    return 1;
  }
  std::thread signal_waiter([&] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    // httplib ignores stop() before listen_after_bind() is running: give it a moment (bounded) to get there.
    for (int i = 0; i < 500 && !server.http().is_running(); ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    server.stop();
  });
  std::cout << "listening on http://" << listen << ":" << bound << path << std::endl;  // tests read this line
  const bool ok = server.http().listen_after_bind();
  pthread_kill(signal_waiter.native_handle(), SIGTERM);  // wakes the waiter if the server stopped on its own
  signal_waiter.join();
  return ok ? 0 : 1;
}
