#include <mcpgate/clock.hpp>

namespace mcpgate {
namespace {

class SystemClock final : public Clock {
 public:
  double now_seconds() const noexcept override {
    using namespace std::chrono;
    return duration<double>(system_clock::now().time_since_epoch()).count();
  }
};

}  // namespace

std::shared_ptr<const Clock> Clock::system() {
  static const auto instance = std::make_shared<const SystemClock>();
  return instance;
}

}  // namespace mcpgate
