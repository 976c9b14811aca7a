#include "jose/base64url.hpp"

#include <array>
#include <cstdint>

namespace mcpgate::jose {
namespace {

constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
constexpr std::uint8_t kInvalid = 0xFF;

// The reverse alphabet: only the 64 characters of RFC 4648 §5 map to a value; '=', '+', '/', whitespace and
// every other byte stay invalid, which is what makes the decoder strict.
constexpr std::array<std::uint8_t, 256> make_reverse_alphabet() {
  std::array<std::uint8_t, 256> table{};
  for (auto& v : table) v = kInvalid;
  for (std::uint8_t i = 0; i < 64; ++i) table[static_cast<unsigned char>(kAlphabet[i])] = i;
  return table;
}
constexpr auto kReverse = make_reverse_alphabet();

}  // namespace

std::optional<std::string> base64url_decode(std::string_view text) {
  // A single leftover character carries only 6 bits: no byte can be encoded that way (RFC 4648 §5, §3.5).
  const std::size_t tail = text.size() % 4;
  if (tail == 1) return std::nullopt;
  const std::size_t whole = text.size() - tail;
  // The output size is known up front (3 bytes per 4 characters, 1 or 2 for a tail of 2 or 3), so the bytes
  // are written in place, four characters at a time.
  std::string out(whole / 4 * 3 + (tail == 0 ? 0 : tail - 1), '\0');
  char* dst = out.data();
  const auto* src = reinterpret_cast<const unsigned char*>(text.data());
  for (std::size_t i = 0; i < whole; i += 4) {
    const std::uint32_t a = kReverse[src[i]], b = kReverse[src[i + 1]], c = kReverse[src[i + 2]],
                        d = kReverse[src[i + 3]];
    if ((a | b | c | d) & 0x80) return std::nullopt;  // kInvalid is the only value with the high bit set
    const std::uint32_t group = (a << 18) | (b << 12) | (c << 6) | d;
    *dst++ = static_cast<char>(group >> 16);
    *dst++ = static_cast<char>((group >> 8) & 0xFF);
    *dst++ = static_cast<char>(group & 0xFF);
  }
  if (tail == 0) return out;
  const std::uint32_t a = kReverse[src[whole]], b = kReverse[src[whole + 1]],
                      c = tail == 3 ? kReverse[src[whole + 2]] : 0;
  if ((a | b | c) & 0x80) return std::nullopt;
  const std::uint32_t group = (a << 18) | (b << 12) | (c << 6);
  // Non-canonical encodings (RFC 4648 §3.5): the bits left over after the last whole byte must be zero, so
  // each byte string has exactly one spelling (4 spare bits after 2 characters, 2 after 3).
  if (tail == 2 ? (group & 0xFFFF) != 0 : (group & 0xFF) != 0) return std::nullopt;
  *dst++ = static_cast<char>(group >> 16);
  if (tail == 3) *dst++ = static_cast<char>((group >> 8) & 0xFF);
  return out;
}

std::string base64url_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() * 4 + 2) / 3);
  std::uint32_t acc = 0;
  int acc_bits = 0;
  for (unsigned char b : bytes) {
    acc = (acc << 8) | b;
    acc_bits += 8;
    while (acc_bits >= 6) {
      acc_bits -= 6;
      out.push_back(kAlphabet[(acc >> acc_bits) & 0x3F]);
    }
  }
  if (acc_bits > 0) out.push_back(kAlphabet[(acc << (6 - acc_bits)) & 0x3F]);
  return out;
}

}  // namespace mcpgate::jose
