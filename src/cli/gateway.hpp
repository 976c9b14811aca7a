// gateway.hpp — `mcpgate serve` as an object: what one configuration starts, serves, reloads and drains.
//
//   auto gateway = mcpgate::cli::Gateway::create(config, "mcpgate.toml");  // store, Guard, proxy, metrics
//   if (!gateway.ok()) die(gateway.message());                              // exit 2
//   if (mcpgate::Status s = (*gateway)->start(); !s.ok()) die(s.message()); // admin + public listeners bound
//   std::thread signals([&] { wait(); (*gateway)->drain("SIGTERM"); });     // or reload() on SIGHUP
//   (*gateway)->run();                                                      // returns once drained or stopped
//
// start() logs "listening" with the bound ports; drain() stops accepting, ends event streams, gives the
// exchanges in flight until gateway.drain_timeout and then stops the listener, so run() returns. reload()
// re-reads the file: [[static_tokens]] and [[routes]] change for new requests; a file that does not load is
// logged and refused (the running configuration stays).
#pragma once

#include <atomic>
#include <mcpgate/config.hpp>
#include <mcpgate/guard.hpp>
#include <mcpgate/status.hpp>
#include <mcpgate/token_store.hpp>
#include <memory>
#include <string>
#include <string_view>

#include "gateway/proxy.hpp"
#include "net/public_server.hpp"
#include "observe/admin_server.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"

namespace mcpgate::cli {

class Gateway {
 public:
  // Opens the store (when a route injects {secret:...} or [store] names a database), builds the Guard and the
  // proxy. The detail names the key to fix.
  static Result<std::unique_ptr<Gateway>> create(const Config& config, std::string config_path);
  ~Gateway();
  Gateway(const Gateway&) = delete;
  Gateway& operator=(const Gateway&) = delete;

  // Binds the admin listener (when enabled) and the public one: TlsUnusable, ConfigInvalid or ListenFailed.
  Status start();
  // Serves on server.threads event loops until drain() or stop() ends it. True when it ended by a drain.
  bool run();
  // SIGTERM/SIGINT: `signal` names it in the log. Blocks until the listener is stopped (at most
  // gateway.drain_timeout).
  void drain(std::string_view signal);
  // run() ended by itself (an error): stop the admin listener too.
  void stop();
  // SIGHUP.
  void reload();

 private:
  Gateway(const Config& config, std::string config_path);
  Status open_store();
  void on_completed(const net::Completed& done);
  void count(const net::Completed& done);
  void log_access(const net::Completed& done);

  Config config_;
  std::string config_path_;
  observe::Logger log_;
  observe::Metrics metrics_;
  std::shared_ptr<TokenStore> store_;
  std::shared_ptr<SecretResolver> resolver_;
  std::unique_ptr<Guard> guard_;
  std::unique_ptr<gateway::Proxy> proxy_;
  std::unique_ptr<net::PublicServer> server_;
  std::unique_ptr<observe::AdminServer> admin_;
  std::atomic<bool> drained_{false};
};

}  // namespace mcpgate::cli
