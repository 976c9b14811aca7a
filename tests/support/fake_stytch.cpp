#include "support/fake_stytch.hpp"

namespace mcpgate::testing {

FakeStytch::FakeStytch(std::string project_id) : project_id_(std::move(project_id)) {
  server_.set_tcp_nodelay(true);
  server_.Get("/.well-known/jwks.json",
              [this](const httplib::Request&, httplib::Response& res) { serve_jwks(res); });
  auto metadata_handler = [this](const httplib::Request&, httplib::Response& res) { serve_metadata(res); };
  server_.Get("/.well-known/oauth-authorization-server", metadata_handler);
  server_.Get("/.well-known/openid-configuration", metadata_handler);
  server_.Get("/elsewhere/jwks.json", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"keys\":[]}", "application/json");
  });
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("FakeStytch: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  // bind_to_any_port already listens: connections queue in the backlog until the thread accepts them.
}

FakeStytch::~FakeStytch() {
  release();
  stop();
}

std::string FakeStytch::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_);
}

nlohmann::json FakeStytch::metadata() const {
  const std::string base = base_url();
  return {{"issuer", base},
          {"jwks_uri", base + "/.well-known/jwks.json"},
          {"authorization_endpoint", base + "/oauth/authorize"},
          {"token_endpoint", base + "/v1/oauth2/token"},
          {"registration_endpoint", base + "/v1/oauth2/register"},
          {"introspection_endpoint", base + "/v1/oauth2/introspect"},
          {"revocation_endpoint", base + "/v1/oauth2/revoke"},
          {"response_types_supported", {"code"}},
          {"grant_types_supported", {"authorization_code", "refresh_token"}},
          {"code_challenge_methods_supported", {"S256"}},
          {"token_endpoint_auth_methods_supported", {"none", "client_secret_post"}},
          {"scopes_supported", {"openid", "email", "profile", "offline_access"}}};
}

void FakeStytch::hang_until_released(std::unique_lock<std::mutex>& lock) {
  ++blocked_;
  released_cv_.notify_all();
  released_cv_.wait_for(lock, std::chrono::seconds(20), [this] { return released_; });
  --blocked_;
}

void FakeStytch::serve_metadata(httplib::Response& res) {
  metadata_hits_.fetch_add(1);
  std::unique_lock lock(mutex_);
  if (metadata_mode_ == Mode::Hang) hang_until_released(lock);
  if (metadata_mode_ == Mode::Error500) {
    res.status = 500;
    res.set_content("<html><body>Internal Server Error</body></html>", "text/html");
    return;
  }
  res.set_content(metadata().dump(), "application/json");
}

void FakeStytch::serve_jwks(httplib::Response& res) {
  jwks_hits_.fetch_add(1);
  std::unique_lock lock(mutex_);
  if (mode_ == Mode::Hang) hang_until_released(lock);
  switch (mode_) {
    case Mode::Error500:
      res.status = 500;
      res.set_content("<html><body>Internal Server Error</body></html>", "text/html");
      return;
    case Mode::Garbage:
      res.set_content("{\"error\":\"not a key set\",\"keys\":\"nope\"}", "application/json");
      return;
    case Mode::Redirect:
      res.status = 302;
      res.set_header("Location", base_url() + "/elsewhere/jwks.json");
      return;
    case Mode::Huge:
      res.set_content("{\"keys\":[],\"pad\":\"" + std::string(2 * 1024 * 1024, 'x') + "\"}",
                      "application/json");
      return;
    case Mode::Normal:
    case Mode::Hang:
      break;
  }
  if (!cache_control_.empty()) res.set_header("Cache-Control", cache_control_);
  res.set_content(jwks_body_, "application/json");
}

void FakeStytch::set_keys(std::vector<nlohmann::json> public_jwks) {
  nlohmann::json body = {{"keys", nlohmann::json::array()}};
  for (auto& k : public_jwks) {
    k["alg"] = "RS256";
    k["use"] = "sig";
    body["keys"].push_back(std::move(k));
  }
  std::lock_guard lock(mutex_);
  jwks_body_ = body.dump();
}

void FakeStytch::set_cache_control(std::string value) {
  std::lock_guard lock(mutex_);
  cache_control_ = std::move(value);
}

void FakeStytch::set_mode(Mode mode) {
  std::lock_guard lock(mutex_);
  mode_ = mode;
  released_ = false;
}

void FakeStytch::set_metadata_mode(Mode mode) {
  std::lock_guard lock(mutex_);
  metadata_mode_ = mode;
  released_ = false;
}

void FakeStytch::release() {
  std::lock_guard lock(mutex_);
  released_ = true;
  released_cv_.notify_all();
}

bool FakeStytch::wait_for_blocked_request(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return released_cv_.wait_for(lock, timeout, [this] { return blocked_ > 0; });
}

void FakeStytch::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopped_) return;
    stopped_ = true;
  }
  server_.stop();
  if (thread_.joinable()) thread_.join();
}

}  // namespace mcpgate::testing
