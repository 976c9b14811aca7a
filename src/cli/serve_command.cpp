// `mcpgate serve --config FILE`: the gateway. Discovery, challenges and forward-auth (the Guard), every
// [[routes]] entry with an `upstream` proxied (src/gateway), the admin listener, JSON logs, and signals:
// SIGTERM/SIGINT drain and exit 0, SIGHUP reloads static tokens and routes (a bad file is refused, logged,
// and the running configuration stays).
#include "cli/serve_command.hpp"

#include <pthread.h>
#include <signal.h>

#include <iostream>
#include <mcpgate/config.hpp>
#include <thread>

#include "cli/gateway.hpp"

namespace mcpgate::cli {
namespace {

int exit_code_for(const Status& s) {
  return s.reason == Reason::TlsUnusable ? kExitUsage : kExitNegative;
}

// The stop and reload signals are blocked in every thread (the event loops inherit the mask) and taken here,
// on one thread: SIGHUP reloads, SIGTERM/SIGINT drain (then this thread ends), and SIGUSR2 only wakes it when
// run() ended by itself.
void take_signals(const sigset_t& signals, Gateway& gateway) {
  for (;;) {
    int sig = 0;
    if (sigwait(&signals, &sig) != 0) continue;
    if (sig == SIGHUP) {
      gateway.reload();
      continue;
    }
    if (sig == SIGUSR2) return;
    gateway.drain(sig == SIGTERM ? "SIGTERM" : "SIGINT");
    return;
  }
}

int run_serve(const std::string& path) {
  ConfigLoad loaded = load_config_file(path);
  for (const auto& w : loaded.warnings) std::cerr << "warning: " << w << "\n";
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors)
      std::cerr << "error: " << (e.key.empty() ? path : e.key) << ": " << e.message << "\n";
    return kExitUsage;
  }
  sigset_t signals;
  sigemptyset(&signals);
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGUSR2}) sigaddset(&signals, sig);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  auto gateway = Gateway::create(*loaded.config, path);
  if (!gateway.ok()) {
    std::cerr << "error: " << gateway.detail << "\n";
    return kExitUsage;
  }
  Gateway& g = **gateway;
  if (Status started = g.start(); !started.ok()) {
    std::cerr << "error: " << started.detail << "\n";
    return exit_code_for(started);
  }
  std::thread signal_taker([&] { take_signals(signals, g); });
  const bool drained = g.run();
  if (!drained) pthread_kill(signal_taker.native_handle(), SIGUSR2);  // run() ended by itself (an error)
  signal_taker.join();
  g.stop();
  return drained ? kExitOk : kExitNegative;
}

}  // namespace

void register_serve_command(CLI::App& app, CommandResult& result) {
  auto* serve = app.add_subcommand(
      "serve",
      "Run the gateway: discovery, bearer challenges, forward-auth and the upstream routes of a config file");
  auto path = std::make_shared<std::string>();
  serve->add_option("--config,-c", *path, "mcpgate.toml")->required();
  serve->callback([path, &result] { result.exit_code = run_serve(*path); });
}

}  // namespace mcpgate::cli
