#include "auth/jwks_cache.hpp"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <sstream>

#include "jose/operator_text.hpp"

namespace mcpgate::auth {
namespace {

void default_warn(std::string_view line) {
  std::cerr << "mcpgate: " << line << "\n";
}

}  // namespace

std::shared_ptr<JwksCache> JwksCache::create(JwksCacheOptions options, KeySetLoader loader,
                                             std::shared_ptr<const Clock> clock) {
  std::shared_ptr<JwksCache> cache(new JwksCache(std::move(options), std::move(loader), std::move(clock)));
  cache->thread_ = std::thread([raw = cache.get()] { raw->run(); });
  return cache;
}

std::shared_ptr<JwksCache> JwksCache::fixed(std::string name, std::shared_ptr<const jose::JwkSet> keys) {
  JwksCacheOptions options;
  options.name = std::move(name);
  std::shared_ptr<JwksCache> cache(new JwksCache(std::move(options), nullptr, Clock::system()));
  cache->fixed_ = true;
  auto snapshot = std::make_shared<Snapshot>();
  snapshot->keys = std::move(keys);
  snapshot->refresh_at = snapshot->expires_at = HUGE_VAL;
  cache->snapshot_.store(std::move(snapshot));
  return cache;
}

JwksCache::JwksCache(JwksCacheOptions options, KeySetLoader loader, std::shared_ptr<const Clock> clock)
    : options_(std::move(options)), loader_(std::move(loader)), clock_(std::move(clock)) {
  if (!options_.warn) options_.warn = default_warn;
}

JwksCache::~JwksCache() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  done_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void JwksCache::run() {
  std::unique_lock lock(mutex_);
  while (!stop_) {
    const double now = clock_->now_seconds();
    auto snapshot = snapshot_.load();
    const bool due = requested_ || (now >= next_attempt_at_ && (!snapshot || now >= snapshot->refresh_at));
    if (!due) {
      // Real-time wait until the clock says a refresh is due, capped so a clock moved by hand is noticed;
      // requests and the destructor wake us earlier.
      double wait = snapshot ? snapshot->refresh_at - now : next_attempt_at_ - now;
      wait = std::clamp(wait, 0.05, 5.0);
      wake_.wait_for(lock, std::chrono::duration<double>(wait));
      continue;
    }
    requested_ = false;
    in_flight_ = true;
    const std::uint64_t sequence = ++next_sequence_;
    lock.unlock();
    fetches_.fetch_add(1, std::memory_order_relaxed);
    KeySetFetch fetched = loader_();
    lock.lock();
    const double done_at = clock_->now_seconds();
    if (fetched.keys) {
      auto current = snapshot_.load();
      if (!current || sequence > current->sequence) {  // an older response never overwrites a newer one
        double max_age = fetched.max_age.value_or(options_.default_max_age);
        max_age = std::clamp(max_age, options_.min_max_age, options_.max_max_age);
        auto next = std::make_shared<Snapshot>();
        next->keys = std::move(fetched.keys);
        next->fetched_at = done_at;
        next->expires_at = done_at + max_age;
        next->refresh_at = done_at + max_age * options_.refresh_ahead;
        next->sequence = sequence;
        snapshot_.store(std::move(next));
      }
      next_attempt_at_ = 0;
      last_error_.clear();
    } else {
      failures_.fetch_add(1, std::memory_order_relaxed);
      next_attempt_at_ = done_at + options_.retry_interval;
      last_error_ = fetched.error;
      std::ostringstream line;
      line << "jwks " << options_.name << ": fetch failed (" << fetched.error << ")";
      if (auto current = snapshot_.load()) {
        line << "; keeping the key set fetched " << static_cast<long long>(done_at - current->fetched_at)
             << " s ago (expires in " << static_cast<long long>(current->expires_at - done_at)
             << " s, stale allowed for " << static_cast<long long>(options_.max_stale) << " s more)";
      } else {
        line << "; no keys yet, tokens from this issuer get keys_unavailable";
      }
      options_.warn(line.str());
    }
    in_flight_ = false;
    ++completed_;
    done_.notify_all();
  }
}

void JwksCache::request_refresh_locked(double now) {
  if (in_flight_ || requested_ || now < next_attempt_at_ || fixed_) return;
  requested_ = true;
  wake_.notify_one();
}

double JwksCache::retry_after_locked(double now) const {
  return std::max(1.0, std::ceil(std::max(next_attempt_at_ - now, options_.retry_interval / 2)));
}

Result<jose::KeyChoice> JwksCache::lookup(const std::shared_ptr<const Snapshot>& snapshot,
                                          std::string_view kid, double now) {
  if (now > snapshot->expires_at + options_.max_stale) {
    std::lock_guard lock(mutex_);
    return Status{Reason::KeysStale, "", retry_after_locked(now)};
  }
  if (now > snapshot->expires_at) stale_serves_.fetch_add(1, std::memory_order_relaxed);
  if (kid.empty()) return jose::KeyChoice{snapshot->keys, nullptr};
  const jose::Jwk* key = snapshot->keys->find(kid);
  if (!key) {
    const std::size_t n = snapshot->keys->keys().size();
    return Status{Reason::KeyNotFound, "kid '" + jose::printable(kid) + "' not in key set (" +
                                           std::to_string(n) + (n == 1 ? " key)" : " keys)")};
  }
  return jose::KeyChoice{snapshot->keys, key};
}

Result<jose::KeyChoice> JwksCache::peek(std::string_view kid) {
  const double now = clock_->now_seconds();
  auto snapshot = snapshot_.load();
  if (!snapshot) {
    std::lock_guard lock(mutex_);
    request_refresh_locked(now);
    return Status{Reason::KeysUnavailable, "", retry_after_locked(now)};
  }
  if (now >= snapshot->refresh_at) {
    std::lock_guard lock(mutex_);
    request_refresh_locked(now);  // in the background: this request is served from the set we have
  }
  return lookup(snapshot, kid, now);
}

Result<jose::KeyChoice> JwksCache::find(std::string_view kid) {
  Result<jose::KeyChoice> first = peek(kid);
  if (first.reason != Reason::KeyNotFound || fixed_) return first;

  // Unknown kid: maybe the issuer rotated. One refetch per cooldown, shared by everyone (jose's model).
  std::unique_lock lock(mutex_);
  const double now = clock_->now_seconds();
  if (!in_flight_ && !requested_) {
    if (now - last_unknown_kid_refetch_ < options_.unknown_kid_cooldown) return first;
    last_unknown_kid_refetch_ = now;
    unknown_kid_refetches_.fetch_add(1, std::memory_order_relaxed);
    requested_ = true;
    wake_.notify_one();
  }
  // Wait for the fetch that is requested or running now: it completes as `completed_ + 1` or, when a request
  // is queued behind a running fetch, the one after.
  const std::uint64_t target = completed_ + (in_flight_ && requested_ ? 2 : 1);
  done_.wait_for(lock, options_.unknown_kid_wait, [&] { return stop_ || completed_ >= target; });
  lock.unlock();
  auto snapshot = snapshot_.load();
  return lookup(snapshot, kid, clock_->now_seconds());
}

bool JwksCache::wait_for_keys(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  return done_.wait_for(lock, timeout, [&] { return stop_ || snapshot_.load() != nullptr; }) &&
         snapshot_.load() != nullptr;
}

bool JwksCache::refresh_now(std::chrono::milliseconds timeout) {
  if (fixed_) return true;
  std::unique_lock lock(mutex_);
  const std::uint64_t target = completed_ + (in_flight_ ? 2 : 1);
  requested_ = true;
  wake_.notify_one();
  return done_.wait_for(lock, timeout, [&] { return stop_ || completed_ >= target; });
}

JwksStats JwksCache::stats() const {
  JwksStats s;
  s.fetches = fetches_.load();
  s.fetch_failures = failures_.load();
  s.unknown_kid_refetches = unknown_kid_refetches_.load();
  s.stale_serves = stale_serves_.load();
  if (auto snapshot = snapshot_.load()) {
    const double now = clock_->now_seconds();
    s.has_keys = true;
    s.key_count = snapshot->keys->keys().size();
    s.key_set_age = fixed_ ? 0 : now - snapshot->fetched_at;
    s.expires_in = fixed_ ? HUGE_VAL : snapshot->expires_at - now;
  }
  std::lock_guard lock(mutex_);
  s.last_error = last_error_;
  return s;
}

}  // namespace mcpgate::auth
