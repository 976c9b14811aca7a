// shared_slot.hpp — one shared_ptr<const T> that readers copy and a reloader replaces, from any thread.
//
//   SharedSlot<RouteTable> table;
//   table.store(std::make_shared<const RouteTable>(config));   // a reload: readers see old or new, whole
//   auto snapshot = table.load();                              // keeps its table alive however long it needs
//
// Why not std::atomic<std::shared_ptr<T>>: libstdc++ 12 implements it with a lock bit whose release after a
// load() is memory_order_relaxed, so a load followed by another thread's store is not ordered under the C++ memory
// model, and ThreadSanitizer reports it. A mutex held for one pointer copy costs tens of nanoseconds and has no
// such question. The replaced object is released outside the lock.
#pragma once

#include <memory>
#include <mutex>
#include <utility>

namespace mcpgate {

template <class T>
class SharedSlot {
 public:
  std::shared_ptr<const T> load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }
  void store(std::shared_ptr<const T> value) {
    {
      std::lock_guard lock(mutex_);
      value_.swap(value);
    }
    // `value` now holds the old object: its destructor (maybe the last reference) runs here, unlocked.
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<const T> value_;
};

}  // namespace mcpgate
