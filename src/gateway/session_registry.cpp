#include "gateway/session_registry.hpp"

namespace mcpgate::gateway {

SessionRegistry::SessionRegistry(std::size_t max_sessions, std::size_t max_per_owner, double idle_ttl,
                                 std::shared_ptr<const Clock> clock)
    : max_sessions_(max_sessions == 0 ? 1 : max_sessions),
      max_per_owner_(max_per_owner == 0 ? 1 : max_per_owner),
      idle_ttl_(idle_ttl),
      clock_(std::move(clock)) {}

void SessionRegistry::erase_locked(std::unordered_map<std::string, Entry>::iterator it) {
  auto owned = by_owner_.find(it->second.owner);
  if (owned != by_owner_.end()) {
    owned->second.erase(it->second.owner_order);
    if (owned->second.empty()) by_owner_.erase(owned);
  }
  lru_.erase(it->second.order);
  entries_.erase(it);
}

void SessionRegistry::evict_locked(double now) {
  while (!lru_.empty()) {
    auto it = entries_.find(lru_.back());
    const bool idle = now - it->second.last_used > idle_ttl_;
    if (entries_.size() <= max_sessions_ && !idle) break;
    erase_locked(it);
  }
}

void SessionRegistry::bind(std::string_view session_id, std::string_view owner) {
  const double now = clock_->now_seconds();
  std::lock_guard lock(mutex_);
  std::string key(session_id);
  if (entries_.count(key)) return;
  auto& owned = by_owner_[std::string(owner)];
  if (owned.size() >= max_per_owner_) erase_locked(entries_.find(owned.back()));
  auto& mine = by_owner_[std::string(owner)];  // erase_locked may have removed the list when it emptied
  lru_.push_front(key);
  mine.push_front(key);
  entries_.emplace(std::move(key), Entry{std::string(owner), now, lru_.begin(), mine.begin()});
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
  auto& owned = by_owner_[it->second.owner];
  owned.splice(owned.begin(), owned, it->second.owner_order);
  return SessionCheck::Owner;
}

void SessionRegistry::forget(std::string_view session_id) {
  std::lock_guard lock(mutex_);
  auto it = entries_.find(std::string(session_id));
  if (it != entries_.end()) erase_locked(it);
}

std::size_t SessionRegistry::size() const {
  std::lock_guard lock(mutex_);
  return entries_.size();
}

}  // namespace mcpgate::gateway
