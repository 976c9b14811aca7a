// session_registry.hpp — which principal opened which MCP session (MCP security best practice: a session id
// is not an authenticator; bind it to the user it was issued to).
//
//   SessionRegistry sessions(/*max=*/100000, /*per_owner=*/1000, /*idle_ttl=*/86400, clock);
//   sessions.bind("3f9a...", "jwt\nhttps://as\nuser-1");   // the upstream just answered with Mcp-Session-Id
//   sessions.check("3f9a...", "jwt\nhttps://as\nuser-2");  // SessionCheck::Foreign → the gateway answers 404
//   sessions.forget("3f9a...");                            // DELETE succeeded upstream
//
// Bounded: at most `max_sessions` bindings, the least recently used forgotten first, and a binding idle longer
// than `idle_ttl` is forgotten. A session id we never saw (gateway restarted, forgotten) is Unknown, which the
// gateway treats like Foreign: 404, never forwarded (fail closed). So that one principal opening sessions in a
// loop cannot push everyone else's bindings out (and everyone else back to a new session), each owner keeps at
// most `max_per_owner`: past that, its own least recently used binding goes.
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
  SessionRegistry(std::size_t max_sessions, std::size_t max_per_owner, double idle_ttl,
                  std::shared_ptr<const Clock> clock);

  // Records the owner unless the session is already bound (the first owner keeps it).
  void bind(std::string_view session_id, std::string_view owner);
  SessionCheck check(std::string_view session_id, std::string_view owner);
  void forget(std::string_view session_id);
  std::size_t size() const;

 private:
  struct Entry {
    std::string owner;
    double last_used = 0;
    std::list<std::string>::iterator order;        // in lru_
    std::list<std::string>::iterator owner_order;  // in by_owner_[owner]
  };
  void evict_locked(double now);
  void erase_locked(std::unordered_map<std::string, Entry>::iterator it);

  std::size_t max_sessions_;
  std::size_t max_per_owner_;
  double idle_ttl_;
  std::shared_ptr<const Clock> clock_;
  mutable std::mutex mutex_;
  std::list<std::string> lru_;  // front = most recently used
  std::unordered_map<std::string, std::list<std::string>> by_owner_;  // each owner's ids, same order
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace mcpgate::gateway
