// worker_pool.hpp — threads that read upstream responses, reused from one exchange to the next.
//
//   WorkerPool pool;
//   pool.submit([ex] { ex->run(); });   // an idle thread takes it, or a new thread is started for it
//
// Elastic, never queueing: every job starts at once (an exchange may be a stream that lasts hours, so a job
// must never wait behind another), on an idle thread when there is one. Threads stay for reuse; the
// destructor waits for the jobs in hand (the proxy cancels them first) and joins every thread. It exists
// because starting and joining a thread per request showed up in profiles (clone, stack unmapping, cross-CPU
// TLB shootdowns).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>

namespace mcpgate::gateway {

class WorkerPool {
 public:
  static constexpr std::size_t kKeepIdle = 16;
  static constexpr std::chrono::seconds kIdleExit{30};

  WorkerPool() = default;
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  void submit(std::function<void()> job);
  std::size_t threads() const;

 private:
  void loop();

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> jobs_;
  std::condition_variable gone_;  // a thread left
  std::size_t idle_ = 0;
  std::size_t threads_ = 0;  // running (detached) threads
  bool stopping_ = false;
};

}  // namespace mcpgate::gateway
