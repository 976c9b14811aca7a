// embedded_server.cpp — a tiny JSON-RPC server on cpp-httplib, protected by mcpgate::Guard.
//
//   ./mcpgate_embedded_example mcpgate.toml        # listens on [server] listen_address:port (0: any)
//
// The lines marked "mcpgate" are all it takes: load the config, build the Guard, install it, read the
// Principal.
#include <httplib.h>

#include <iostream>
#include <mcpgate/config.hpp>  // mcpgate
#include <mcpgate/guard.hpp>   // mcpgate
#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: " << argv[0] << " mcpgate.toml\n";
    return 2;
  }
  auto loaded = mcpgate::load_config_file(argv[1]);  // mcpgate
  if (!loaded.ok()) {                                // mcpgate
    for (const auto& e : loaded.errors) std::cerr << e.key << ": " << e.message << "\n";
    return 2;
  }
  auto created = mcpgate::Guard::create(*loaded.config);  // mcpgate
  if (!created.ok()) {                                    // mcpgate
    std::cerr << created.message() << "\n";               // mcpgate
    return 2;
  }
  mcpgate::Guard& guard = **created;  // mcpgate
  httplib::Server server;
  guard.install(server);  // mcpgate
  // Not cpp-httplib's default SO_REUSEPORT: a second copy on the same port must fail, not share the traffic.
  server.set_socket_options([](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
  });

  server.Post("/mcp", [&](const httplib::Request& req, httplib::Response& res) {
    if (!guard.check_body(req, res)) return;               // mcpgate: Mcp-* headers, [[routes.rules]]
    const mcpgate::Principal* who = guard.principal(req);  // mcpgate
    auto call = nlohmann::json::parse(req.body, nullptr, false);
    nlohmann::json reply = {{"jsonrpc", "2.0"},
                            {"id", call.is_object() ? call.value("id", nlohmann::json()) : nullptr}};
    if (call.is_object() && call.value("method", "") == "whoami")
      reply["result"] = {{"subject", who->subject}, {"scopes", who->scopes}};
    else
      reply["error"] = {{"code", -32601}, {"message", "method not found"}};
    res.set_content(reply.dump(), "application/json");
  });
  const auto& sc = loaded.config->server;
  const int port = sc.port == 0 ? server.bind_to_any_port(sc.listen_address)  // port 0: any free port
                                : (server.bind_to_port(sc.listen_address, static_cast<int>(sc.port))
                                       ? static_cast<int>(sc.port)
                                       : -1);
  if (port <= 0) {
    std::cerr << "cannot listen on " << sc.listen_address << ":" << sc.port << "\n";
    return 1;
  }
  std::cerr << "listening on " << sc.listen_address << ":" << port << std::endl;
  return server.listen_after_bind() ? 0 : 1;
}
