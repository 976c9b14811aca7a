// principal_recorder.hpp — the store's `principals` table kept current by the gateway, off the request path.
//
//   PrincipalRecorder recorder(store);          // a SQLite or PostgreSQL TokenStore
//   recorder.seen(principal);                   // per authenticated request: cheap, never blocks on the
//   database
//
// Each principal is written when first seen and then at most once a minute (the store's own rule for
// last_seen, applied here first so a busy principal costs one map lookup, not one upsert, per request).
// Writes happen on one background thread; when the database is slow the queue is bounded and sightings are
// dropped (the next one a minute later records the principal). Static tokens are recorded with issuer
// "static".
#pragma once

#include <condition_variable>
#include <deque>
#include <mcpgate/principal.hpp>
#include <mcpgate/token_store.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

namespace mcpgate::gateway {

// The identity the store keys a principal by, in the principals table and for its per-user tokens: a JWT's
// (iss, sub); a static token's ("static", its subject).
SecretOwner store_identity(const Principal& principal);

class PrincipalRecorder {
 public:
  static constexpr double kInterval = 60;         // seconds between two writes for one principal
  static constexpr std::size_t kMaxQueue = 1000;  // sightings waiting for the database

  PrincipalRecorder(std::shared_ptr<TokenStore> store, std::shared_ptr<const Clock> clock = Clock::system());
  ~PrincipalRecorder();
  PrincipalRecorder(const PrincipalRecorder&) = delete;
  PrincipalRecorder& operator=(const PrincipalRecorder&) = delete;

  void seen(const Principal& principal);
  // Blocks until every queued sighting is written (tests, shutdown).
  void flush();

 private:
  void loop();

  std::shared_ptr<TokenStore> store_;
  std::shared_ptr<const Clock> clock_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::unordered_map<std::string, double> last_recorded_;
  std::deque<PrincipalSighting> queue_;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace mcpgate::gateway
