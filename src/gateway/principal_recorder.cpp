#include "gateway/principal_recorder.hpp"

namespace mcpgate::gateway {

SecretOwner store_identity(const Principal& p) {
  return {p.source == PrincipalSource::Static ? "static" : p.issuer, p.subject};
}

PrincipalRecorder::PrincipalRecorder(std::shared_ptr<TokenStore> store, std::shared_ptr<const Clock> clock)
    : store_(std::move(store)), clock_(std::move(clock)), thread_([this] { loop(); }) {}

PrincipalRecorder::~PrincipalRecorder() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void PrincipalRecorder::seen(const Principal& p) {
  PrincipalSighting sighting;
  auto identity = store_identity(p);
  sighting.issuer = std::move(identity.issuer);
  sighting.subject = std::move(identity.subject);
  if (auto email = p.claims.find("email"); email != p.claims.end() && email->is_string())
    sighting.email = email->get<std::string>();
  if (p.organization) sighting.organization = p.organization->id;
  const std::string key = sighting.issuer + "\n" + sighting.subject;
  const double now = clock_->now_seconds();
  std::lock_guard lock(mutex_);
  auto [it, fresh] = last_recorded_.try_emplace(key, now);
  if (!fresh) {
    if (now - it->second < kInterval) return;
    it->second = now;
  }
  if (last_recorded_.size() > 100000)
    last_recorded_.clear();  // bounded memory; worst case one extra write each
  if (queue_.size() >= kMaxQueue) return;
  queue_.push_back(std::move(sighting));
  cv_.notify_all();
}

void PrincipalRecorder::flush() {
  std::unique_lock lock(mutex_);
  cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

void PrincipalRecorder::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
    if (queue_.empty()) return;  // stopping, nothing left
    PrincipalSighting next = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    store_->record_principal(next);  // a failure costs one sighting; the next one a minute later retries
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace mcpgate::gateway
