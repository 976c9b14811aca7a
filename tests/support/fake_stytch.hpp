// fake_stytch.hpp — a real HTTP server on 127.0.0.1 that plays a Stytch project's public endpoints in tests.
//
//   mcpgate::testing::FakeStytch stytch("project-test-1");      // listening on an ephemeral loopback port
//   stytch.set_keys({key.public_jwk("kid-1")});                // served at /.well-known/jwks.json
//   stytch.set_cache_control("public, max-age=300");
//   config.stytch = {.project_id = stytch.project_id(), .domain = stytch.base_url()};
//   stytch.set_mode(FakeStytch::Mode::Error500);               // or Garbage, Hang, Redirect, Huge
//   stytch.set_metadata_mode(FakeStytch::Mode::Hang);          // the same for the RFC 8414 metadata
//   stytch.wait_for_blocked_request(5s); stytch.release();     // Hang: handlers block on a latch until
//   released stytch.stop();                                             // goes away: connections are refused
//   stytch.jwks_hits();                                        // how often the key set was fetched
//
// Also serves /.well-known/oauth-authorization-server and /.well-known/openid-configuration (RFC 8414 / OIDC
// Discovery) naming its own issuer, jwks_uri and the Connected Apps endpoints. Every wait is bounded, so a
// test that forgets to release still ends.
#pragma once

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace mcpgate::testing {

class FakeStytch {
 public:
  enum class Mode {
    Normal,    // 200 with the key set
    Error500,  // 500 with an HTML body
    Garbage,   // 200 with a body that is not a key set
    Hang,      // the handler blocks until release() (or 20 s), then answers normally
    Redirect,  // 302 to another URL
    Huge,      // 200 with a 2 MiB body
  };

  explicit FakeStytch(std::string project_id = "project-test-00000000-0000-0000-0000-000000000000");
  ~FakeStytch();
  FakeStytch(const FakeStytch&) = delete;
  FakeStytch& operator=(const FakeStytch&) = delete;

  std::string base_url() const;  // "http://127.0.0.1:PORT" — also the issuer ("iss") of this project
  const std::string& project_id() const noexcept { return project_id_; }
  std::string api_issuer() const { return "stytch.com/" + project_id_; }

  void set_keys(std::vector<nlohmann::json> public_jwks);
  void set_cache_control(std::string value);  // empty: no Cache-Control header
  void set_mode(Mode mode);                   // the key set
  void set_metadata_mode(Mode mode);  // the metadata documents: Normal, Error500 or Hang (others: Normal)

  void release();                                                    // unblocks every Hang handler
  bool wait_for_blocked_request(std::chrono::milliseconds timeout);  // true once a handler is blocked
  void stop();                                                       // stop listening (connections refused)

  int jwks_hits() const noexcept { return jwks_hits_.load(); }
  int metadata_hits() const noexcept { return metadata_hits_.load(); }

 private:
  void serve_jwks(httplib::Response& res);
  void serve_metadata(httplib::Response& res);
  void hang_until_released(std::unique_lock<std::mutex>& lock);
  nlohmann::json metadata() const;

  std::string project_id_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;

  mutable std::mutex mutex_;
  std::condition_variable released_cv_;
  std::string jwks_body_ = "{\"keys\":[]}";
  std::string cache_control_ = "public, max-age=300";
  Mode mode_ = Mode::Normal;
  Mode metadata_mode_ = Mode::Normal;
  bool released_ = false;
  int blocked_ = 0;
  std::atomic<int> jwks_hits_{0}, metadata_hits_{0};
  bool stopped_ = false;
};

}  // namespace mcpgate::testing
