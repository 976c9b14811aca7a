#include "cli/gateway.hpp"

#include <chrono>
#include <thread>

namespace mcpgate::cli {
namespace {

using SteadyClock = std::chrono::steady_clock;

// A metric label from a request line's method: only the methods the listener accepts, so that refused
// request lines cannot grow the label set.
std::string_view method_label(std::string_view method) {
  for (std::string_view known : {"GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"})
    if (method == known) return known;
  return "other";
}

std::string outcome_name(Reason reason, const Principal* who, bool routed_public) {
  if (who) return who->source == PrincipalSource::Jwt ? "ok_jwt" : "ok_static";
  if (reason != Reason::Ok) return std::string(reason_name(reason));
  return routed_public ? "ok_public" : "none";
}

std::string_view mcp_decision(Reason reason) {
  switch (reason) {
    case Reason::Ok:
      return "allow";
    case Reason::InsufficientScope:
      return "step_up";
    case Reason::CallDenied:
      return "denied";
    default:
      return "invalid";
  }
}

bool needs_store(const Config& c) {
  if (c.store.backend != "env") return true;
  for (const auto& r : c.routes)
    for (const auto& [name, value] : r.inject_headers)
      if (value.find("{secret:") != std::string::npos) return true;
  return false;
}

// The options of the store named by [store]: master keys from MCPGATE_STORE_KEYS or store.key_file, never
// from the config file itself.
Result<StoreOptions> store_options(const Config& c) {
  auto options = StoreOptions::from_environment();
  if (!options.ok()) return options;
  if (c.store.backend == "sqlite") {
    options->backend = StoreBackend::Sqlite;
    options->sqlite_path = c.store.path;
  } else if (c.store.backend == "postgres") {
    options->backend = StoreBackend::Postgres;
    options->postgres_conninfo = c.store.url;
  } else {
    options->backend = StoreBackend::Env;
  }
  if (!c.store.key_file.empty()) options->key_file = c.store.key_file;
  options->cache_ttl_seconds = c.store.cache_ttl;
  return options;
}

}  // namespace

Gateway::Gateway(const Config& config, std::string config_path)
    : config_(config), config_path_(std::move(config_path)) {}

Gateway::~Gateway() = default;

Status Gateway::open_store() {
  Result<StoreOptions> options = store_options(config_);
  if (!options.ok()) return options.status();
  auto opened = TokenStore::open(*options);
  if (!opened.ok()) return {opened.reason, "store (" + config_.store.backend + "): " + opened.detail};
  store_ = *opened;
  resolver_ = std::make_shared<SecretResolver>(store_, Clock::system(), config_.store.cache_ttl);
  return {};
}

Result<std::unique_ptr<Gateway>> Gateway::create(const Config& config, std::string config_path) {
  std::unique_ptr<Gateway> g(new Gateway(config, std::move(config_path)));
  if (needs_store(g->config_)) {
    if (Status opened = g->open_store(); !opened.ok()) return opened;
  }
  auto guard = Guard::create(g->config_);
  if (!guard.ok()) return guard.status();
  g->guard_ = std::move(*guard);
  observe::Metrics& metrics = g->metrics_;
  gateway::ProxyEvents events{
      .upstream_headers = [&metrics](std::string_view route,
                                     double s) { metrics.observe_upstream_latency(route, s); },
      .upstream_error = [&metrics](std::string_view route,
                                   std::string_view kind) { metrics.count_upstream_error(route, kind); },
      .open_streams = [&metrics](int delta) { metrics.add_open_streams(delta); },
      .in_flight = [&metrics](int delta) { metrics.add_in_flight(delta); }};
  auto proxy = gateway::Proxy::create(g->config_, g->resolver_, std::move(events),
                                      g->config_.store.backend == "env" ? nullptr : g->store_);
  if (!proxy.ok()) return proxy.status();
  g->proxy_ = std::move(*proxy);
  Guard& checked = *g->guard_;
  metrics.set_snapshot_source([&checked](std::vector<observe::Metrics::IssuerSnapshot>& issuers,
                                         observe::Metrics::CacheSnapshot& cache) {
    GuardStats stats = checked.stats();
    for (const auto& i : stats.issuers)
      issuers.push_back({.issuer = i.name,
                         .fetches = i.fetches,
                         .failures = i.fetch_failures,
                         .key_set_age_seconds = i.key_set_age_seconds,
                         .has_keys = i.has_keys});
    cache.hits = stats.cache_hits;
    cache.misses = stats.cache_misses;
  });
  Gateway* self = g.get();
  g->server_ = std::make_unique<net::PublicServer>(
      g->config_, *g->guard_, *g->proxy_, [self](const net::Completed& done) { self->on_completed(done); });
  return g;
}

Status Gateway::start() {
  if (config_.gateway.session_binding && proxy_->sessions_ephemeral()) {
    log_.event("warn", "session ids are sealed with a per-process key",
               {{"detail",
                 "they survive no restart and no other instance; set gateway.session_keys (or "
                 "MCPGATE_GATEWAY_SESSION_KEYS / session_keys_file) to the same keys on every instance"}});
  }
  if (config_.admin.enabled) {
    Guard& checked = *guard_;
    admin_ = std::make_unique<observe::AdminServer>(
        observe::AdminServer::Options{.listen_address = config_.admin.listen_address,
                                      .port = static_cast<int>(config_.admin.port)},
        metrics_, [&checked] { return checked.ready(); });
    if (Status s = admin_->start(); !s.ok()) return {s.reason, "admin.listen_address/port: " + s.detail};
  }
  if (Status s = server_->open(); !s.ok()) return s;
  const ServerConfig& sc = config_.server;
  log_.event("info", "listening",
             {{"address", sc.listen_address},
              {"port", server_->port()},
              {"tls", !sc.tls_cert_file.empty()},
              {"admin_port", admin_ ? admin_->port() : 0}});
  return {};
}

bool Gateway::run() {
  server_->run();
  return drained_;
}

void Gateway::drain(std::string_view signal) {
  drained_ = true;
  log_.event("info", "draining", {{"signal", signal}, {"drain_timeout", config_.gateway.drain_timeout}});
  // Stop accepting (the accept loop ends; responses in flight keep streaming), close GET event streams, give
  // the rest until drain_timeout, then cut whatever is left and stop the server.
  server_->begin_drain();
  const auto deadline =
      SteadyClock::now() + std::chrono::duration_cast<SteadyClock::duration>(
                               std::chrono::duration<double>(config_.gateway.drain_timeout));
  while (SteadyClock::now() < deadline && server_->active_exchanges() > 0)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  server_->stop();
}

void Gateway::stop() {
  if (admin_) admin_->stop();
  log_.event("info", "stopped", {});
}

void Gateway::reload() {
  ConfigLoad next = load_config_file(config_path_);
  if (!next.ok()) {
    nlohmann::json errors = nlohmann::json::array();
    for (const auto& e : next.errors)
      errors.push_back((e.key.empty() ? config_path_ : e.key) + ": " + e.message);
    log_.event("error", "reload refused",
               {{"errors", errors}, {"detail", "the running configuration stays"}});
    return;
  }
  if (Status s = proxy_->reload(*next.config); !s.ok()) {
    log_.event("error", "reload refused",
               {{"errors", {s.detail}}, {"detail", "the running configuration stays"}});
    return;
  }
  guard_->reload(*next.config);
  log_.event("info", "reloaded",
             {{"static_tokens", next.config->static_tokens.size()},
              {"routes", next.config->routes.size()},
              {"detail", "static tokens and routes reloaded; other sections take effect on restart"}});
}

void Gateway::on_completed(const net::Completed& done) {
  count(done);
  if (config_.gateway.access_log) log_access(done);
}

void Gateway::count(const net::Completed& done) {
  const std::string route = done.route.empty() ? "none" : std::string(done.route);
  metrics_.count_request(route, method_label(done.method), done.status);
  metrics_.count_auth(outcome_name(done.reason, done.principal, done.routed_public));
  const bool mcp_refusal = reason_name(done.reason).starts_with("mcp_");
  if (!done.mcp_method.empty() || !done.rule.empty() || mcp_refusal) {
    metrics_.count_mcp(route, done.mcp_method,
                       config_.gateway.metrics_targets ? done.mcp_target : std::string_view(),
                       mcp_decision(done.reason));
  }
}

void Gateway::log_access(const net::Completed& done) {
  const Principal* who = done.principal;
  log_.access({.request_id = std::string(done.request_id),
               .method = std::string(done.method),
               .path = std::string(done.target),
               .route = std::string(done.route),
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
               .remote_addr = std::string(done.remote_addr)});
}

}  // namespace mcpgate::cli
