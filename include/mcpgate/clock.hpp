// mcpgate/clock.hpp — the one source of "now" (injected, never time(nullptr) inside verification code).
//
//   auto clock = mcpgate::Clock::system();                 // production
//   auto test_clock = std::make_shared<mcpgate::ManualClock>(1893456000.0);
//   test_clock->advance(std::chrono::hours(10));           // simulate a ten-hour outage in a test
//   double now = clock->now_seconds();                     // Unix time, fractional
#pragma once

#include <atomic>
#include <chrono>
#include <memory>

namespace mcpgate {

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix time in seconds (JWT NumericDate may be non-integer, RFC 7519 §2).
  virtual double now_seconds() const noexcept = 0;

  static std::shared_ptr<const Clock> system();
};

// A clock that moves only when told to; safe to read and move from several threads.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(double start_seconds) : now_(start_seconds) {}
  double now_seconds() const noexcept override { return now_.load(); }
  void set(double seconds) noexcept { now_.store(seconds); }
  void advance(std::chrono::duration<double> by) noexcept {
    double current = now_.load();
    while (!now_.compare_exchange_weak(current, current + by.count())) {
    }
  }

 private:
  std::atomic<double> now_;
};

}  // namespace mcpgate
