// algorithm.hpp — the asymmetric JWS algorithms mcpgate verifies (RFC 7518 §3, RFC 8037 §3.1).
//
//   auto alg = mcpgate::jose::algorithm_from_name("ES256");      // std::nullopt for unknown, "none", HS*
//   mcpgate::jose::AlgorithmSet allowed = mcpgate::jose::AlgorithmSet::all();
//   allowed = mcpgate::jose::AlgorithmSet::parse_list("RS256,ES256").value();
//   if (allowed.contains(*alg)) { ... }
//
// HMAC and "none" are deliberately not representable: keys come from public key sets, so a symmetric
// algorithm can only ever be an algorithm-confusion attack (RFC 8725 §2.1, §3.1).
#pragma once

#include <cstdint>
#include <mcpgate/status.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace mcpgate::jose {

enum class Algorithm : std::uint8_t { RS256, RS384, RS512, PS256, PS384, PS512, ES256, ES384, EdDSA };
inline constexpr int kAlgorithmCount = 9;

std::optional<Algorithm> algorithm_from_name(std::string_view name) noexcept;
std::string_view algorithm_name(Algorithm alg) noexcept;
bool is_hmac_name(std::string_view name) noexcept;  // HS256/384/512

class AlgorithmSet {
 public:
  constexpr AlgorithmSet() = default;
  static constexpr AlgorithmSet all() { return AlgorithmSet((1u << kAlgorithmCount) - 1); }
  static constexpr AlgorithmSet of(Algorithm a) { return AlgorithmSet(1u << static_cast<unsigned>(a)); }
  // "RS256,ES256" (commas and/or spaces). AlgorithmUnknown (the detail is the bad name) when a name is unknown,
  // "none" or HMAC; ConfigInvalid when the list names no algorithm at all: an empty allow-list refuses
  // everything.
  static Result<AlgorithmSet> parse_list(std::string_view list);

  constexpr bool contains(Algorithm a) const { return (bits_ >> static_cast<unsigned>(a)) & 1u; }
  constexpr AlgorithmSet with(Algorithm a) const {
    return AlgorithmSet(bits_ | (1u << static_cast<unsigned>(a)));
  }
  constexpr bool empty() const { return bits_ == 0; }
  std::string to_string() const;  // "RS256,PS256"
  constexpr bool operator==(const AlgorithmSet&) const = default;

 private:
  constexpr explicit AlgorithmSet(std::uint32_t bits) : bits_(bits) {}
  std::uint32_t bits_ = 0;
};

}  // namespace mcpgate::jose
