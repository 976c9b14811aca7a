#include <mcpgate/status.hpp>

namespace mcpgate {
namespace {

struct ReasonRow {
  std::string_view name;
  int status;
  std::string_view code;
  std::string_view sentence;
};

constexpr ReasonRow kRows[] = {
#define MCPGATE_REASON_ROW(e, name, status, code, sentence) {name, status, code, sentence},
    MCPGATE_REASONS(MCPGATE_REASON_ROW)
#undef MCPGATE_REASON_ROW
};

const ReasonRow& row(Reason r) noexcept {
  return kRows[static_cast<std::size_t>(r)];
}

}  // namespace

std::string_view reason_name(Reason r) noexcept {
  return row(r).name;
}
std::string_view reason_sentence(Reason r) noexcept {
  return row(r).sentence;
}
int http_status(Reason r) noexcept {
  return row(r).status;
}
std::string_view oauth_error(Reason r) noexcept {
  return row(r).code;
}

std::string Status::message() const {
  std::string out = std::string(reason_name(reason)) + ": " + std::string(reason_sentence(reason));
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

}  // namespace mcpgate
