#include "cli/serve_command.hpp"

#include <httplib.h>
#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <mcpgate/config.hpp>
#include <mcpgate/guard.hpp>
#include <memory>
#include <thread>

namespace mcpgate::cli {
namespace {

int run_serve(const std::string& path) {
  ConfigLoad loaded = load_config_file(path);
  for (const auto& w : loaded.warnings) std::cerr << "warning: " << w << "\n";
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors)
      std::cerr << "error: " << (e.key.empty() ? path : e.key) << ": " << e.message << "\n";
    return kExitUsage;
  }
  // Block the stop signals in every thread (the worker pool inherits the mask); one thread waits for them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::unique_ptr<Guard> guard;
  try {
    guard = std::make_unique<Guard>(*loaded.config);
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  }
  httplib::Server server;
  guard->install(server);
  // The allow action: the gateway's proxy (next issue) replaces this catch-all.
  auto allowed = [](const httplib::Request&, httplib::Response& res) {
    res.status = 404;
    res.set_content(R"({"error":"not_found","error_description":"No upstream is configured for this path."})",
                    "application/json");
  };
  server.Get(".*", allowed);
  server.Post(".*", allowed);
  server.Delete(".*", allowed);
  server.Put(".*", allowed);
  server.Patch(".*", allowed);

  const ServerConfig& sc = loaded.config->server;
  int port = static_cast<int>(sc.port);
  if (port == 0)
    port = server.bind_to_any_port(sc.listen_address);
  else if (!server.bind_to_port(sc.listen_address, port))
    port = -1;
  if (port <= 0) {
    std::cerr << "error: server.listen_address/port: cannot listen on " << sc.listen_address << ":" << sc.port
              << "\n";
    return kExitNegative;
  }
  std::cerr << "mcpgate: listening on " << sc.listen_address << ":" << port << std::endl;
  std::thread stopper([&server, stop_signals] {
    int sig = 0;
    sigwait(&stop_signals, &sig);
    server.stop();
  });
  bool ok = server.listen_after_bind();
  if (stopper.joinable()) {
    // listen returned on its own (error): wake the waiter so it can be joined.
    pthread_kill(stopper.native_handle(), SIGTERM);
    stopper.join();
  }
  std::cerr << "mcpgate: stopped" << std::endl;
  return ok ? kExitOk : kExitNegative;
}

}  // namespace

void register_serve_command(CLI::App& app, CommandResult& result) {
  auto* serve =
      app.add_subcommand("serve", "Serve discovery, bearer challenges and forward-auth from a config file");
  auto path = std::make_shared<std::string>();
  serve->add_option("--config,-c", *path, "mcpgate.toml")->required();
  serve->callback([path, &result] { result.exit_code = run_serve(*path); });
}

}  // namespace mcpgate::cli
