// http1.hpp — the strict HTTP/1.1 request head parser and chunked decoder of `mcpgate serve` (RFC 9112).
// Pure functions over bytes: no I/O, no allocation beyond the parsed head, fuzzed (tests/fuzz).
//
//   mcpgate::net::RequestHead head;
//   mcpgate::net::HeadResult r = mcpgate::net::parse_request_head(buffered, limits, head);
//   if (r.status == HeadStatus::Incomplete) read more (the caller bounds the buffer by limits.max_head());
//   else if (r.status != HeadStatus::Complete) answer r.http_status and close;
//   else body framing is head.framing / head.content_length; the body starts at buffered[r.consumed].
//
// Everything two parsers could read two ways is refused rather than guessed (the request-smuggling classes):
// a bare CR or LF, obs-fold, whitespace before a colon, a field name that is not a token, a value with a
// control byte, Content-Length twice (even equal) or not a plain number, Content-Length with
// Transfer-Encoding, any Transfer-Encoding but exactly `chunked`, Transfer-Encoding in HTTP/1.0, and Host
// missing or repeated in HTTP/1.1. A request with neither length nor chunking has no body.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace mcpgate::net {

struct HeadLimits {
  std::size_t max_request_line = 8192;   // method + target + version: beyond it, 414
  std::size_t max_header_bytes = 16384;  // names + values of all fields: beyond it, 431
  std::size_t max_header_count = 64;     // beyond it, 431
  // The most bytes a complete head can take (request line, fields with their ": " and CRLFs, the blank line):
  // a buffer that grows past this without a complete head is answered 431 (or 414 inside the request line).
  std::size_t max_head() const noexcept {
    return max_request_line + 2 + max_header_bytes + max_header_count * 4 + 2;
  }
};

enum class Framing { None, Length, Chunked };

struct RequestHead {
  std::string method;
  std::string target;                                       // raw, as on the request line
  int version_minor = 1;                                    // HTTP/1.x
  std::vector<std::pair<std::string, std::string>> fields;  // in order, values without surrounding OWS
  Framing framing = Framing::None;
  std::uint64_t content_length = 0;  // Framing::Length
  bool keep_alive = true;            // HTTP/1.1 unless "Connection: close"; HTTP/1.0 only with keep-alive
  bool expect_continue = false;      // "Expect: 100-continue"
};

enum class HeadStatus { Complete, Incomplete, Refused };

struct HeadResult {
  HeadStatus status = HeadStatus::Incomplete;
  std::size_t consumed = 0;  // Complete: the head's length, blank line included
  int http_status = 0;       // Refused: 400, 414, 431, 501 or 505
  std::string_view why;      // Refused: a fixed text for logs ("obs-fold", "content-length twice", ...)
};

// Parses one request head from the start of `input`. Incomplete until the blank line is there; a Refused
// head is answered with `http_status` and the connection closed (the framing of anything after it is
// unknown). Incomplete with input.size() >= limits.max_head() is never returned: that is Refused 431/414.
HeadResult parse_request_head(std::string_view input, const HeadLimits& limits, RequestHead& head);

// An upstream's response head. Framing per RFC 9112 §6.3: none for 1xx, 204, 304 and answers to HEAD;
// chunked; a length; else the body runs until the upstream closes.
enum class BodyFraming { None, Length, Chunked, UntilClose };
struct ResponseHead {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> fields;
  BodyFraming framing = BodyFraming::None;
  std::uint64_t content_length = 0;
  bool keep_alive = true;  // the upstream may take another request on this connection
};
// Complete, Incomplete, or Refused (http_status 502: the gateway answers 502 and drops the connection).
HeadResult parse_response_head(std::string_view input, std::size_t max_bytes, bool head_request,
                               ResponseHead& head);

// Case-insensitive ASCII comparison of field names.
bool field_name_equals(std::string_view a, std::string_view b) noexcept;

// A chunked request body (RFC 9112 §7.1), decoded incrementally: chunk data out, sizes, extensions and
// trailers checked and dropped. Strict: 1–16 hex digits, extensions as `;token[=token|quoted-string]` with
// optional BWS, CRLF everywhere, trailer fields with the head's rules and limits.
class ChunkedDecoder {
 public:
  explicit ChunkedDecoder(std::size_t max_trailer_bytes = 4096) : max_trailer_bytes_(max_trailer_bytes) {}
  enum class Status { NeedMore, Done, Malformed };
  // Consumes bytes from the front of `input`: `consumed` of them were framing or data, and the data bytes
  // among them were appended to `data`. Done: the last chunk and trailers are through, input[consumed] is
  // the next request. Malformed: answer 400 and close.
  Status feed(std::string_view input, std::size_t& consumed, std::string& data);
  std::uint64_t data_bytes() const noexcept { return total_; }

 private:
  enum class State { Size, Ext, SizeLf, Data, DataCr, DataLf, Trailer, TrailerLf, Done };
  Status line_done();
  State state_ = State::Size;
  std::uint64_t remaining_ = 0, total_ = 0;
  int digits_ = 0;
  std::string line_;  // the extension or trailer line being read (bounded)
  std::size_t trailer_bytes_ = 0, max_trailer_bytes_;
};

}  // namespace mcpgate::net
