// libFuzzer target: arbitrary bytes as what a client sends `mcpgate serve` — the request head parser and a
// chunked body — and as what an upstream answers (the response head parser). With fuzz_request_target and
// fuzz_header_plan, the path every request takes before anything is forwarded.
//
//   cmake --build build-fuzz --target fuzz_request_head && build-fuzz/tests/fuzz/fuzz_request_head -max_total_time=60
//
// Invariants beyond "no crash": a Complete head consumed a prefix of the input that ends in CRLF CRLF and
// holds within the limits; a refusal has one of the statuses the listener answers; the parse is the same
// whether the bytes arrive at once or split at any point (no state leaks between reads); a length body
// always has a length; field values never hold CR, LF or NUL; the chunked decoder yields the same data fed
// whole or byte by byte.
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

#include "net/http1.hpp"

using namespace mcpgate;

namespace {

void check_head(std::string_view in) {
  net::HeadLimits limits{.max_request_line = 512, .max_header_bytes = 1024, .max_header_count = 16};
  net::RequestHead head;
  const net::HeadResult r = net::parse_request_head(in, limits, head);
  if (r.status == net::HeadStatus::Incomplete && in.size() >= limits.max_head()) std::abort();
  if (r.status == net::HeadStatus::Refused && r.http_status != 400 && r.http_status != 414 &&
      r.http_status != 431 && r.http_status != 505)
    std::abort();
  // Split anywhere: a prefix is Incomplete or refused the same way, never Complete with another length.
  const std::size_t cut = in.empty() ? 0 : static_cast<unsigned char>(in[0]) % (in.size() + 1);
  net::RequestHead early;
  const net::HeadResult e = net::parse_request_head(in.substr(0, cut), limits, early);
  if (e.status == net::HeadStatus::Complete &&
      (r.status != net::HeadStatus::Complete || e.consumed != r.consumed))
    std::abort();
  if (r.status != net::HeadStatus::Complete) return;
  if (r.consumed > in.size() || r.consumed < 4 || in.substr(r.consumed - 4, 4) != "\r\n\r\n") std::abort();
  if (head.fields.size() > limits.max_header_count) std::abort();
  if (head.framing == net::Framing::Length && head.content_length == 0) std::abort();
  for (const auto& [name, value] : head.fields)
    if (name.empty() || value.find_first_of("\r\n", 0) != std::string::npos ||
        value.find('\0') != std::string::npos)
      std::abort();
}

void check_chunked(std::string_view in) {
  net::ChunkedDecoder whole;
  std::string a;
  std::size_t used_a = 0;
  const auto sa = whole.feed(in, used_a, a);
  net::ChunkedDecoder bytewise;
  std::string b;
  auto sb = net::ChunkedDecoder::Status::NeedMore;
  std::size_t used_b = 0;
  for (std::size_t i = 0; i < in.size() && sb == net::ChunkedDecoder::Status::NeedMore; ++i) {
    std::size_t used = 0;
    sb = bytewise.feed(in.substr(i, 1), used, b);
    used_b += used;
  }
  if (sa != sb || a != b) std::abort();
  if (sa == net::ChunkedDecoder::Status::Done && used_a != used_b) std::abort();
  if (whole.data_bytes() != a.size()) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view in(reinterpret_cast<const char*>(data), size);
  check_head(in);
  check_chunked(in);
  net::ResponseHead response;
  const net::HeadResult r = net::parse_response_head(in, 4096, size % 2 == 0, response);
  if (r.status == net::HeadStatus::Complete &&
      (r.consumed > size || response.status < 100 || response.status > 599))
    std::abort();
  return 0;
}
