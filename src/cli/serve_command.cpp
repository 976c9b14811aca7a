// `mcpgate serve --config FILE`: the gateway. Discovery, challenges and forward-auth (the Guard), every
// [[routes]] entry with an `upstream` proxied (src/gateway), the admin listener, JSON logs, and signals:
// SIGTERM/SIGINT drain and exit 0, SIGHUP reloads static tokens and routes (a bad file is refused, logged,
// and the running configuration stays).
#include "cli/serve_command.hpp"

#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <chrono>
#include <iostream>
#include <mcpgate/config.hpp>
#include <mcpgate/guard.hpp>
#include <mcpgate/token_store.hpp>
#include <memory>
#include <thread>

#include "gateway/proxy.hpp"
#include "http/guard.hpp"
#include "net/public_server.hpp"
#include "observe/admin_server.hpp"
#include "observe/log.hpp"
#include "observe/metrics.hpp"

namespace mcpgate::cli {
namespace {

// A metric label from a request line's method: only the methods the listener accepts, so that refused
// request lines cannot grow the label set.
std::string_view method_label(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
    if (method == known) return known;
  return "other";
}


using SteadyClock = std::chrono::steady_clock;

bool needs_store(const Config& c) {
  if (c.store.backend != "env") return true;
  for (const auto& r : c.routes)
    for (const auto& [name, value] : r.inject_headers)
      if (value.find("{secret:") != std::string::npos) return true;
  return false;
}

// The store named by [store] (master keys from MCPGATE_STORE_KEYS or store.key_file, never the config).
std::shared_ptr<SecretResolver> open_resolver(const Config& c, std::shared_ptr<TokenStore>& opened,
                                              std::string& error) {
  auto from_env = StoreOptions::from_environment();
  if (!from_env.ok()) {
    error = from_env.status.message();
    return nullptr;
  }
  StoreOptions options = *from_env.value;
  if (c.store.backend == "sqlite") {
    options.backend = StoreBackend::Sqlite;
    options.sqlite_path = c.store.path;
  } else if (c.store.backend == "postgres") {
    options.backend = StoreBackend::Postgres;
    options.postgres_conninfo = c.store.url;
  } else {
    options.backend = StoreBackend::Env;
  }
  if (!c.store.key_file.empty()) options.key_file = c.store.key_file;
  options.cache_ttl_seconds = c.store.cache_ttl;
  auto store = TokenStore::open(options);
  if (!store.ok()) {
    error = "store (" + c.store.backend + "): " + store.status.message();
    return nullptr;
  }
  opened = *store.value;
  return std::make_shared<SecretResolver>(*store.value, Clock::system(), c.store.cache_ttl);
}

std::string outcome_name(Reason reason, const Principal* who, bool routed_public) {
  if (who) return who->source == PrincipalSource::Jwt ? "ok_jwt" : "ok_static";
  if (reason != Reason::Ok) return std::string(reason_name(reason));
  return routed_public ? "ok_public" : "none";
}

// SIGHUP: [[static_tokens]] and [[routes]] from the file as it is now. A file that does not load is refused
// and logged; the running configuration stays. Connections and streams are never dropped.
void reload(const std::string& path, Guard& guard, gateway::Proxy& proxy, observe::Logger& log) {
  ConfigLoad next = load_config_file(path);
  if (!next.ok()) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : next.errors) errors.push_back((e.key.empty() ? path : e.key) + ": " + e.message);
    log.event("error", "reload refused", {{"errors", errors}, {"detail", "the running configuration stays"}});
    return;
  }
  try {
    proxy.reload(*next.config);
  } catch (const std::exception& e) {
    log.event("error", "reload refused",
              {{"errors", {e.what()}}, {"detail", "the running configuration stays"}});
    return;
  }
  guard.reload(*next.config);
  log.event("info", "reloaded",
            {{"static_tokens", next.config->static_tokens.size()},
             {"routes", next.config->routes.size()},
             {"detail", "static tokens and routes reloaded; other sections take effect on restart"}});
}

int run_serve(const std::string& path) {
  ConfigLoad loaded = load_config_file(path);
  for (const auto& w : loaded.warnings) std::cerr << "warning: " << w << "\n";
  if (!loaded.ok()) {
    for (const auto& e : loaded.errors)
      std::cerr << "error: " << (e.key.empty() ? path : e.key) << ": " << e.message << "\n";
    return kExitUsage;
  }
  const Config& config = *loaded.config;
  // Block the stop and reload signals in every thread (the worker pools inherit the mask); one thread waits.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  observe::Logger log;
  observe::Metrics metrics;
  std::shared_ptr<SecretResolver> resolver;
  std::shared_ptr<TokenStore> store;
  if (needs_store(config)) {
    std::string error;
    resolver = open_resolver(config, store, error);
    if (!resolver) {
      std::cerr << "error: " << error << "\n";
      return kExitUsage;
    }
  }
  std::unique_ptr<Guard> guard;
  std::unique_ptr<gateway::Proxy> proxy;
  try {
    guard = std::make_unique<Guard>(config);
    proxy = std::make_unique<gateway::Proxy>(
        config, resolver,
        gateway::ProxyEvents{
            .upstream_headers = [&metrics](std::string_view route,
                                           double s) { metrics.observe_upstream_latency(route, s); },
            .upstream_error = [&metrics](
                                  std::string_view route,
                                  std::string_view kind) { metrics.count_upstream_error(route, kind); },
            .open_streams = [&metrics](int delta) { metrics.add_open_streams(delta); },
            .in_flight = [&metrics](int delta) { metrics.add_in_flight(delta); }},
        config.store.backend == "env" ? nullptr : store);  // sqlite/postgres: the principals table
  } catch (const std::exception& e) {
    std::cerr << "error: " << e.what() << "\n";
    return kExitUsage;
  }
  if (config.gateway.session_binding && proxy->sessions_ephemeral())
    log.event("warn", "session ids are sealed with a per-process key",
              {{"detail", "they survive no restart and no other instance; set gateway.session_keys (or "
                          "MCPGATE_GATEWAY_SESSION_KEYS / session_keys_file) to the same keys on every instance"}});
  auth::Authenticator& authenticator = guard->impl().authenticator();
  metrics.set_snapshot_source([&authenticator](std::vector<observe::Metrics::IssuerSnapshot>& issuers,
                                               observe::Metrics::CacheSnapshot& cache) {
    for (std::size_t i = 0; i < authenticator.issuers().size(); ++i) {
      auth::JwksStats s = authenticator.key_cache(i).stats();
      issuers.push_back({.issuer = authenticator.issuers()[i].name,
                         .fetches = s.fetches,
                         .failures = s.fetch_failures,
                         .key_set_age_seconds = s.key_set_age,
                         .has_keys = s.has_keys});
    }
    auth::AuthenticatorStats a = authenticator.stats();
    cache.hits = a.cache_hits;
    cache.misses = a.cache_misses;
  });

  const ServerConfig& sc = config.server;
  net::PublicServer server(config, *guard, *proxy, [&](const net::Completed& done) {
    const std::string route(done.route);
    metrics.count_request(route.empty() ? "none" : route, method_label(done.method), done.status);
    metrics.count_auth(outcome_name(done.reason, done.principal, done.routed_public));
    const bool mcp_refusal = reason_name(done.reason).starts_with("mcp_");
    if (!done.mcp_method.empty() || !done.rule.empty() || mcp_refusal) {
      const std::string_view decision = done.reason == Reason::Ok               ? "allow"
                                        : done.reason == Reason::InsufficientScope ? "step_up"
                                        : done.reason == Reason::CallDenied        ? "denied"
                                                                                   : "invalid";
      metrics.count_mcp(route.empty() ? "none" : route, done.mcp_method,
                        config.gateway.metrics_targets ? done.mcp_target : std::string_view(), decision);
    }
    if (!config.gateway.access_log) return;
    const Principal* who = done.principal;
    observe::AccessRecord record{
        .request_id = std::string(done.request_id),
        .method = std::string(done.method),
        .path = std::string(done.target),
        .route = route,
        .auth_source = who ? std::string(source_name(who->source)) : std::string(),
        .subject = who ? who->subject : std::string(),
        .reason = done.reason == Reason::Ok ? std::string() : std::string(reason_name(done.reason)),
        .upstream = {},
        .mcp_method = std::string(done.mcp_method),
        .mcp_target = std::string(done.mcp_target),
        .rule = std::string(done.rule),
        .status = done.status,
        .duration_ms = done.elapsed_ms,
        .bytes_out = done.bytes_out,
        .remote_addr = std::string(done.remote_addr)};
    log.access(record);
  });

  std::unique_ptr<observe::AdminServer> admin;
  if (config.admin.enabled) {
    admin = std::make_unique<observe::AdminServer>(
        observe::AdminServer::Options{.listen_address = config.admin.listen_address,
                                      .port = static_cast<int>(config.admin.port)},
        metrics, [&authenticator](std::string& detail) {
          for (std::size_t i = 0; i < authenticator.issuers().size(); ++i) {
            if (!authenticator.key_cache(i).stats().has_keys) {
              detail = "issuer " + authenticator.issuers()[i].name + " has no keys yet";
              return false;
            }
          }
          return true;
        });
    std::string error;
    if (!admin->start(&error)) {
      std::cerr << "error: admin.listen_address/port: " << error << "\n";
      return kExitNegative;
    }
  }

  std::string listen_error;
  if (!server.open(&listen_error)) {
    std::cerr << "error: " << listen_error << "\n";
    return listen_error.starts_with("server.tls") ? kExitUsage : kExitNegative;
  }
  const int port = server.port();
  log.event("info", "listening",
            {{"address", sc.listen_address},
             {"port", port},
             {"tls", !sc.tls_cert_file.empty()},
             {"admin_port", admin ? admin->port() : 0}});

  std::atomic<bool> draining{false};
  std::thread signal_waiter([&] {
    for (;;) {
      int sig = 0;
      if (sigwait(&signals, &sig) != 0) continue;
      if (sig == SIGHUP) {
        reload(path, *guard, *proxy, log);
        continue;
      }
      draining = true;
      log.event("info", "draining",
                {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"},
                 {"drain_timeout", config.gateway.drain_timeout}});
      // Stop accepting (the accept loop ends; responses in flight keep streaming), close GET event streams,
      // give the rest until drain_timeout, then cut whatever is left and stop the server.
      server.begin_drain();
      const auto deadline =
          SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                                   std::chrono::duration<double>(config.gateway.drain_timeout));
      while (SteadyClock::now() < deadline && server.active_exchanges() > 0)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      server.stop();
      return;
    }
  });
  server.run();
  const bool ok = draining;
  if (!draining) {
    // run returned on its own (an error): wake the waiter so it can be joined.
    pthread_kill(signal_waiter.native_handle(), SIGTERM);
  }
  signal_waiter.join();
  if (admin) admin->stop();
  log.event("info", "stopped", {});
  return ok ? kExitOk : kExitNegative;
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
