#include "gateway/worker_pool.hpp"

namespace mcpgate::gateway {

WorkerPool::~WorkerPool() {
  std::unique_lock lock(mutex_);
  stopping_ = true;
  cv_.notify_all();
  gone_.wait(lock, [this] { return threads_ == 0; });
}

void WorkerPool::submit(std::function<void()> job) {
  std::lock_guard lock(mutex_);
  jobs_.push_back(std::move(job));
  if (idle_ >= jobs_.size()) {
    cv_.notify_one();
    return;
  }
  ++threads_;  // no idle thread for it: never make a job wait
  std::thread([this] { loop(); }).detach();
}

std::size_t WorkerPool::threads() const {
  std::lock_guard lock(mutex_);
  return threads_;
}

void WorkerPool::loop() {
  std::unique_lock lock(mutex_);
  for (;;) {
    if (jobs_.empty()) {
      if (stopping_) break;
      ++idle_;
      const bool woken = cv_.wait_for(lock, kIdleExit, [this] { return !jobs_.empty() || stopping_; });
      --idle_;
      if (!woken && idle_ >= kKeepIdle) break;  // enough others stay idle: leave
      continue;
    }
    std::function<void()> job = std::move(jobs_.front());
    jobs_.pop_front();
    lock.unlock();
    job();
    job = nullptr;  // release what the job captured before sleeping
    lock.lock();
  }
  --threads_;
  gone_.notify_all();  // under the lock: the pool cannot be destroyed before this returns
}

}  // namespace mcpgate::gateway
