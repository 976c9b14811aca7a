#include "gateway/session_registry.hpp"

namespace mcpgate::gateway {

SessionRegistry::SessionRegistry(std::size_t max_sessions, double idle_ttl,
                                 std::shared_ptr<const Clock> clock)
    : max_sessions_(max_sessions == 0 ? 1 : max_sessions), idle_ttl_(idle_ttl), clock_(std::move(clock)) {}

void SessionRegistry::evict_locked(double now) {
  while (!lru_.empty()) {
    auto it = entries_.find(lru_.back());
    const bool idle = it != entries_.end() && now - it->second.last_used > idle_ttl_;
    if (entries_.size() <= max_sessions_ && !idle) break;
    if (it != entries_.end()) entries_.erase(it);
    lru_.pop_back();
  }
}

void SessionRegistry::bind(std::string_view session_id, std::string_view owner) {
  const double now = clock_->now_seconds();
  std::lock_guard lock(mutex_);
  std::string key(session_id);
  if (entries_.count(key)) return;
  lru_.push_front(key);
  entries_.emplace(std::move(key), Entry{std::string(owner), now, lru_.begin()});
  evict_locked(now);
}

SessionCheck SessionRegistry::check(std::string_view session_id, std::string_view owner) {
  const double now = clock_->now_seconds();
  std::lock_guard lock(mutex_);
  evict_locked(now);
  auto it = entries_.find(std::string(session_id));
  if (it == entries_.end()) return SessionCheck::Unknown;
  if (it->second.owner != owner) return SessionCheck::Foreign;
  it->second.last_used = now;
  lru_.splice(lru_.begin(), lru_, it->second.order);
  return SessionCheck::Owner;
}

void SessionRegistry::forget(std::string_view session_id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(std::string(session_id));
  if (it == entries_.end()) return;
  lru_.erase(it->second.order);
  entries_.erase(it);
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace mcpgate::gateway
