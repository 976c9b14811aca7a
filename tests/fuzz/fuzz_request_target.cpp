// libFuzzer target: arbitrary bytes as a request target (or a forwarded URI header), decoded the one way
// the gateway, forward-auth and the embedded Guard judge it (src/http/request_target.cpp).
//
//   cmake --build build-fuzz --target fuzz_request_target && build-fuzz/tests/fuzz/fuzz_request_target -max_total_time=60
//
// Invariants beyond "no crash": an accepted path starts with '/', holds no dot segment, no empty segment,
// no '\\', ';', control byte or '%' left after the one decoding (so no second decoder or normaliser can read
// it another way), and decoding it again as a raw target changes nothing or is refused.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "http/request_target.hpp"

using namespace mcpgate;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  for (auto encoding : {http::TargetEncoding::Raw, http::TargetEncoding::DecodedByTransport}) {
    const http::RequestTarget t = http::parse_request_target(in, encoding);
    if (!t.ok) continue;
    const std::string_view p = t.path;
    if (p.empty() || p.front() != '/') std::abort();
    if (p.find("//") != std::string_view::npos || p.find("/./") != std::string_view::npos ||
        p.find("/../") != std::string_view::npos || p.ends_with("/.") || p.ends_with("/.."))
      std::abort();
    if (p.find_first_of("\\;%", 0) != std::string_view::npos) std::abort();
    for (char c : p)
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) std::abort();
    const http::RequestTarget again = http::parse_request_target(p, http::TargetEncoding::DecodedByTransport);
    if (again.ok && again.path != t.path) std::abort();
  }
  return 0;
}
