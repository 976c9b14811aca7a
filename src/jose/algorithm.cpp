#include "jose/algorithm.hpp"

#include <array>

namespace mcpgate::jose {
namespace {

// Indexed by the enumerator's value (RFC 7518 §3.1 names; EdDSA from RFC 8037 §3.1).
constexpr std::array<std::string_view, kAlgorithmCount> kNames = {"RS256", "RS384", "RS512", "PS256", "PS384",
                                                                  "PS512", "ES256", "ES384", "EdDSA"};

}  // namespace

std::optional<Algorithm> algorithm_from_name(std::string_view name) noexcept {
  // Exact, case-sensitive match: RFC 7515 §4.1.1 makes "alg" a case-sensitive string.
  for (int i = 0; i < kAlgorithmCount; ++i)
    if (kNames[i] == name) return static_cast<Algorithm>(i);
  return std::nullopt;
}

std::string_view algorithm_name(Algorithm alg) noexcept {
  auto i = static_cast<std::size_t>(alg);
  return i < kNames.size() ? kNames[i] : std::string_view("?");
}

bool is_hmac_name(std::string_view name) noexcept {
  return name == "HS256" || name == "HS384" || name == "HS512";
}

Result<AlgorithmSet> AlgorithmSet::parse_list(std::string_view list) {
  AlgorithmSet set;
  std::size_t i = 0;
  while (i < list.size()) {
    if (list[i] == ',' || list[i] == ' ' || list[i] == '\t') {
      ++i;
      continue;
    }
    std::size_t end = list.find_first_of(", \t", i);
    if (end == std::string_view::npos) end = list.size();
    std::string_view name = list.substr(i, end - i);
    auto alg = algorithm_from_name(name);
    if (!alg) return Status{Reason::AlgorithmUnknown, std::string(name)};
    set = set.with(*alg);
    i = end;
  }
  // An empty allow-list would refuse every token: that is a configuration mistake, not a policy.
  if (set.empty()) return Status{Reason::ConfigInvalid, "the list names no algorithm"};
  return set;
}

std::string AlgorithmSet::to_string() const {
  std::string out;
  for (int i = 0; i < kAlgorithmCount; ++i) {
    if (!contains(static_cast<Algorithm>(i))) continue;
    if (!out.empty()) out += ',';
    out += kNames[i];
  }
  return out;
}

}  // namespace mcpgate::jose
