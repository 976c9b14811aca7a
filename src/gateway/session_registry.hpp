// session_registry.hpp — which principal opened which MCP session (MCP security best practice: a session id
// is not an authenticator; bind it to the user it was issued to).
//
//   SessionRegistry sessions(/*max=*/100000, /*idle_ttl=*/86400, clock);
//   sessions.bind("3f9a...", "jwt\nhttps://as\nuser-1");      // the upstream just answered with
//   Mcp-Session-Id sessions.check("3f9a...", "jwt\nhttps://as\nuser-2");     // SessionCheck::Foreign → the
//   gateway answers 404 sessions.forget("3f9a...");                               // DELETE succeeded
//   upstream
//
// Bounded: at most `max_sessions` bindings; the least recently used goes first, and a binding idle longer
// than `idle_ttl` is forgotten. A session id we never saw (gateway restarted, forgotten) is Unknown, which
// the gateway treats like Foreign: 404, never forwarded (fail closed).
#pragma once

#include <cstddef>
#include <list>
#include <mcpgate/clock.hpp>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace mcpgate::gateway {

enum class SessionCheck { Unknown, Owner, Foreign };

class SessionRegistry {
 public:
  SessionRegistry(std::size_t max_sessions, double idle_ttl, std::shared_ptr<const Clock> clock);

  // Records the owner unless the session is already bound (the first owner keeps it).
  void bind(std::string_view session_id, std::string_view owner);
  SessionCheck check(std::string_view session_id, std::string_view owner);
  void forget(std::string_view session_id);
  std::size_t size() const;

 private:
  struct Entry {
    std::string owner;
    double last_used = 0;
    std::list<std::string>::iterator order;
  };
  void evict_locked(double now);

  std::size_t max_sessions_;
  double idle_ttl_;
  std::shared_ptr<const Clock> clock_;
  mutable std::mutex mutex_;
  std::list<std::string> lru_;  // front = most recently used
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace mcpgate::gateway
