#include "net/http1.hpp"

#include <algorithm>
#include <array>
#include <cstring>

namespace mcpgate::net {
namespace {

// RFC 9110 §5.6.2: "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~"
// / DIGIT / ALPHA. A table: every byte of every field name goes through it.
constexpr std::array<bool, 256> kTchar = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<std::size_t>(c)] =
        (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
        std::string_view("!#$%&'*+-.^_`|~").find(static_cast<char>(c)) != std::string_view::npos;
  return t;
}();

constexpr bool is_tchar(unsigned char c) noexcept {
  return kTchar[c];
}

bool is_token(std::string_view s) noexcept {
  return !s.empty() &&
         std::all_of(s.begin(), s.end(), [](char c) { return is_tchar(static_cast<unsigned char>(c)); });
}

// field-value bytes: SP, HTAB, VCHAR, obs-text (RFC 9110 §5.5). No other control byte, no CR or LF.
constexpr bool is_field_value_byte(unsigned char c) noexcept {
  return c == ' ' || c == '\t' || (c >= 0x21 && c != 0x7F);
}
constexpr std::array<bool, 256> kFieldValueByte = [] {
  std::array<bool, 256> t{};
  for (int c = 0; c < 256; ++c)
    t[static_cast<std::size_t>(c)] = is_field_value_byte(static_cast<unsigned char>(c));
  return t;
}();

std::string_view trim_ows(std::string_view v) noexcept {
  while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
  while (!v.empty() && (v.back() == ' ' || v.back() == '\t')) v.remove_suffix(1);
  return v;
}

unsigned char lower(unsigned char c) noexcept {
  return c >= 'A' && c <= 'Z' ? static_cast<unsigned char>(c + 32) : c;
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (lower(static_cast<unsigned char>(a[i])) != lower(static_cast<unsigned char>(b[i]))) return false;
  return true;
}

// True when the comma-separated list `value` holds `token` (case-insensitive), e.g. Connection: close.
bool list_has(std::string_view value, std::string_view token) noexcept {
  while (!value.empty()) {
    std::size_t comma = value.find(',');
    if (iequals(trim_ows(value.substr(0, comma)), token)) return true;
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return false;
}

// Content-Length = 1*DIGIT (RFC 9110 §8.6), at most 18 digits so that it never overflows; no sign, no list.
bool parse_content_length(std::string_view v, std::uint64_t& n) noexcept {
  if (v.empty() || v.size() > 18 ||
      !std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; }))
    return false;
  n = 0;
  for (char c : v) n = n * 10 + static_cast<std::uint64_t>(c - '0');
  return true;
}

HeadResult refused(int status, std::string_view why) {
  return {HeadStatus::Refused, 0, status, why};
}

// Where the CRLF ending the line that starts at `from` is: npos while incomplete; `bad` set for a bare CR
// or LF.
std::size_t line_end(std::string_view in, std::size_t from, bool& bad) noexcept {
  if (from >= in.size()) return std::string_view::npos;
  const char* base = in.data();
  const std::size_t n = in.size() - from;
  // The first CR and the first LF (memchr: this runs over every line of every head).
  const void* cr = std::memchr(base + from, '\r', n);
  const void* lf = std::memchr(
      base + from, '\n', cr ? static_cast<std::size_t>(static_cast<const char*>(cr) - (base + from)) : n);
  if (lf) {  // an LF before any CR
    bad = true;
    return static_cast<std::size_t>(static_cast<const char*>(lf) - base);
  }
  if (!cr) return std::string_view::npos;
  const std::size_t i = static_cast<std::size_t>(static_cast<const char*>(cr) - base);
  if (i + 1 == in.size()) return std::string_view::npos;
  if (in[i + 1] != '\n') bad = true;
  return i;
}

HeadResult parse_request_line(std::string_view line, RequestHead& head) {
  const std::size_t sp1 = line.find(' ');
  if (sp1 == std::string_view::npos) return refused(400, "request line");
  const std::size_t sp2 = line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos)
    return refused(400, "request line");
  const std::string_view method = line.substr(0, sp1), target = line.substr(sp1 + 1, sp2 - sp1 - 1),
                         version = line.substr(sp2 + 1);
  head.method = method;  // kept even when refused: the access log says (bounded) what the line was
  head.target = target;
  if (!is_token(method)) return refused(400, "method");
  if (target.empty() || !std::all_of(target.begin(), target.end(), [](char c) {
        return static_cast<unsigned char>(c) > 0x20 && static_cast<unsigned char>(c) < 0x7F;
      }))
    return refused(400, "request target");
  if (version.size() != 8 || !version.starts_with("HTTP/") || version[6] != '.' || version[5] < '0' ||
      version[5] > '9' || version[7] < '0' || version[7] > '9')
    return refused(400, "http version");
  if (version[5] != '1') return refused(505, "http version");
  head.version_minor = version[7] == '0' ? 0 : 1;
  return {HeadStatus::Complete, 0, 0, {}};
}

// The framing and connection fields, once every line is syntactically sound.
HeadResult interpret_fields(RequestHead& head) {
  int lengths = 0, codings = 0, hosts = 0;
  std::string_view length, coding;
  bool close = false, keep_alive = false;
  for (const auto& [name, value] : head.fields) {
    switch (name.size()) {  // the length first: most fields are none of these
      case 14:
        if (iequals(name, "content-length")) {
          ++lengths;
          length = value;
        }
        break;
      case 17:
        if (iequals(name, "transfer-encoding")) {
          ++codings;
          coding = value;
        }
        break;
      case 4:
        if (iequals(name, "host")) ++hosts;
        break;
      case 10:
        if (iequals(name, "connection")) {
          close = close || list_has(value, "close");
          keep_alive = keep_alive || list_has(value, "keep-alive");
        }
        break;
      case 6:
        if (iequals(name, "expect")) head.expect_continue = iequals(value, "100-continue");
        break;
      default:
        break;
    }
  }
  if (lengths > 1) return refused(400, "content-length twice");
  if (codings > 1) return refused(400, "transfer-encoding twice");
  if (lengths && codings) return refused(400, "content-length with transfer-encoding");
  if (head.version_minor == 1 ? hosts != 1 : hosts > 1) return refused(400, "host");
  if (codings) {
    if (head.version_minor == 0) return refused(400, "transfer-encoding in HTTP/1.0");
    if (!iequals(coding, "chunked")) return refused(400, "transfer-encoding");
    head.framing = Framing::Chunked;
  } else if (lengths) {
    std::uint64_t n = 0;
    if (!parse_content_length(length, n)) return refused(400, "content-length");
    head.content_length = n;
    head.framing = n ? Framing::Length : Framing::None;
  }
  head.keep_alive = head.version_minor == 1 ? !close : keep_alive && !close;
  return {HeadStatus::Complete, 0, 0, {}};
}

// One field line, appended to `fields`; Refused naming what is wrong. One pass over the bytes: the name's
// token bytes up to the colon, then the value's bytes, remembering where its OWS ends.
HeadResult parse_field(std::string_view line, std::vector<std::pair<std::string, std::string>>& fields) {
  if (line.front() == ' ' || line.front() == '\t') return refused(400, "obs-fold");
  const std::size_t n = line.size();
  std::size_t colon = 0;
  while (colon < n && is_tchar(static_cast<unsigned char>(line[colon]))) ++colon;
  if (colon == n || line[colon] != ':') {  // a byte that is not a token's (whitespace before the colon too)
    return line.find(':') == std::string_view::npos ? refused(400, "field without colon")
                                                    : refused(400, "field name");
  }
  if (colon == 0) return refused(400, "field name");
  std::size_t first = n, last = n;  // the value without surrounding OWS: [first, last]
  for (std::size_t i = colon + 1; i < n; ++i) {
    const auto c = static_cast<unsigned char>(line[i]);
    if (!kFieldValueByte[c]) return refused(400, "field value");
    if (c != ' ' && c != '\t') {
      if (first == n) first = i;
      last = i;
    }
  }
  const std::string_view value = first == n ? std::string_view() : line.substr(first, last - first + 1);
  fields.emplace_back(line.substr(0, colon), value);
  return {HeadStatus::Complete, 0, 0, {}};
}

}  // namespace

bool field_name_equals(std::string_view a, std::string_view b) noexcept {
  return iequals(a, b);
}

HeadResult parse_request_head(std::string_view in, const HeadLimits& limits, RequestHead& head) {
  head = RequestHead{};
  const std::size_t max_head = limits.max_head();
  std::size_t pos = 0;
  // RFC 9112 §2.2: empty lines before the request line are ignored (a client's CRLF after a body).
  while (pos + 1 < in.size() && in[pos] == '\r' && in[pos + 1] == '\n' && pos < 64) pos += 2;
  bool bad = false;
  std::size_t end = line_end(in, pos, bad);
  if (bad) return refused(400, "bare CR or LF");
  if (end == std::string_view::npos) {
    if (in.size() - pos > limits.max_request_line) return refused(414, "request line too long");
    return {};
  }
  if (end - pos > limits.max_request_line) return refused(414, "request line too long");
  if (HeadResult r = parse_request_line(in.substr(pos, end - pos), head); r.status == HeadStatus::Refused)
    return r;
  pos = end + 2;
  head.fields.reserve(12);  // a client's usual count: no regrowth while parsing
  std::size_t field_bytes = 0;
  for (;;) {
    end = line_end(in, pos, bad);
    if (bad) return refused(400, "bare CR or LF");
    if (end == std::string_view::npos) {
      if (in.size() >= max_head) return refused(431, "head too large");
      return {};
    }
    if (end == pos) break;  // the blank line
    const std::string_view line = in.substr(pos, end - pos);
    if (HeadResult r = parse_field(line, head.fields); r.status == HeadStatus::Refused) return r;
    field_bytes += head.fields.back().first.size() + head.fields.back().second.size();
    if (head.fields.size() > limits.max_header_count || field_bytes > limits.max_header_bytes)
      return refused(431, "too many or too large header fields");
    pos = end + 2;
  }
  if (HeadResult r = interpret_fields(head); r.status == HeadStatus::Refused) return r;
  return {HeadStatus::Complete, end + 2, 0, {}};
}

HeadResult parse_response_head(std::string_view in, std::size_t max_bytes, bool head_request,
                               ResponseHead& head) {
  head = ResponseHead{};
  bool bad = false;
  std::size_t end = line_end(in, 0, bad);
  if (bad) return refused(502, "bare CR or LF");
  if (end == std::string_view::npos)
    return in.size() >= max_bytes ? refused(502, "head too large") : HeadResult{};
  const std::string_view line = in.substr(0, end);
  // HTTP/1.x SP 3DIGIT SP reason
  if (line.size() < 12 || !line.starts_with("HTTP/1.") || (line[7] != '0' && line[7] != '1') ||
      line[8] != ' ' || line[9] < '1' || line[9] > '5' || line[10] < '0' || line[10] > '9' ||
      line[11] < '0' || line[11] > '9' || (line.size() > 12 && line[12] != ' '))
    return refused(502, "status line");
  head.status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
  const bool http10 = line[7] == '0';
  std::size_t pos = end + 2;
  head.fields.reserve(10);
  for (;;) {
    end = line_end(in, pos, bad);
    if (bad) return refused(502, "bare CR or LF");
    if (end == std::string_view::npos)
      return in.size() >= max_bytes ? refused(502, "head too large") : HeadResult{};
    if (end == pos) break;
    if (parse_field(in.substr(pos, end - pos), head.fields).status == HeadStatus::Refused)
      return refused(502, "field");
    pos = end + 2;
  }
  int lengths = 0;
  bool chunked = false, other_coding = false, close = http10, keep = false;
  std::string_view length;
  for (const auto& [name, value] : head.fields) {
    if (iequals(name, "content-length")) {
      if (lengths++ && value != length) return refused(502, "content-length");
      length = value;
    } else if (iequals(name, "transfer-encoding")) {
      // The final coding decides: chunked, or the body runs to the close (RFC 9112 §6.3 item 4).
      std::string_view v = value;
      const std::size_t comma = v.rfind(',');
      const std::string_view last = trim_ows(comma == std::string_view::npos ? v : v.substr(comma + 1));
      chunked = iequals(last, "chunked");
      other_coding = !chunked;
    } else if (iequals(name, "connection")) {
      close = close || list_has(value, "close");
      keep = keep || list_has(value, "keep-alive");
    }
  }
  head.keep_alive = http10 ? keep && !close : !close;
  if (head.status < 200 || head.status == 204 || head.status == 304 || head_request) {
    head.framing = BodyFraming::None;
  } else if (chunked || other_coding) {
    head.framing = chunked ? BodyFraming::Chunked : BodyFraming::UntilClose;
    if (other_coding) head.keep_alive = false;
  } else if (lengths) {
    if (!parse_content_length(length, head.content_length)) return refused(502, "content-length");
    head.framing = head.content_length ? BodyFraming::Length : BodyFraming::None;
  } else {
    head.framing = BodyFraming::UntilClose;
    head.keep_alive = false;
  }
  return {HeadStatus::Complete, end + 2, 0, {}};
}

// ---- chunked ----

namespace {

int hex_value(unsigned char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// chunk-ext = *( BWS ";" BWS ext-name [ BWS "=" BWS ext-val ] ), ext-val = token / quoted-string.
bool valid_extensions(std::string_view s) noexcept {
  auto skip_bws = [&s] {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  };
  auto take_token = [&s] {
    std::size_t n = 0;
    while (n < s.size() && is_tchar(static_cast<unsigned char>(s[n]))) ++n;
    s.remove_prefix(n);
    return n > 0;
  };
  skip_bws();
  if (s.empty()) return false;  // whitespace after the size without an extension
  while (!s.empty()) {
    if (s.front() != ';') return false;
    s.remove_prefix(1);
    skip_bws();
    if (!take_token()) return false;
    skip_bws();
    if (!s.empty() && s.front() == '=') {
      s.remove_prefix(1);
      skip_bws();
      if (!s.empty() && s.front() == '"') {
        s.remove_prefix(1);
        bool closed = false;
        while (!s.empty()) {
          const auto c = static_cast<unsigned char>(s.front());
          s.remove_prefix(1);
          if (c == '"') {
            closed = true;
            break;
          }
          if (c == '\\') {
            if (s.empty()) return false;
            s.remove_prefix(1);
          } else if (!is_field_value_byte(c)) {
            return false;
          }
        }
        if (!closed) return false;
      } else if (!take_token()) {
        return false;
      }
      skip_bws();
    }
  }
  return true;
}

constexpr std::size_t kMaxExtensionBytes = 1024;

// What one byte of a chunk-size line does before its extensions ("1a" of "1a;name=value\r\n").
enum class SizeByte { Digit, ExtensionsStart, LineEnd, Malformed };

// `digits` and `size` are the line's so far: a digit is added to them (at most 16: the size fits 64 bits).
SizeByte read_size_byte(unsigned char c, int& digits, std::uint64_t& size) noexcept {
  if (const int v = hex_value(c); v >= 0) {
    if (++digits > 16) return SizeByte::Malformed;
    size = (size << 4) | static_cast<std::uint64_t>(v);
    return SizeByte::Digit;
  }
  if (digits && (c == ';' || c == ' ' || c == '\t')) return SizeByte::ExtensionsStart;
  if (digits && c == '\r') return SizeByte::LineEnd;
  return SizeByte::Malformed;
}

}  // namespace

// An extension or trailer line ended at its CR: checked whole, then its LF is expected.
ChunkedDecoder::Status ChunkedDecoder::line_done() {
  if (state_ == State::Ext) {
    if (!valid_extensions(line_)) return Status::Malformed;
    state_ = State::SizeLf;
    return Status::NeedMore;
  }
  if (line_.empty()) {  // the blank line that ends the trailers
    state_ = State::TrailerLf;
    line_.push_back('\0');  // marks it: after its LF the body is done
    return Status::NeedMore;
  }
  // A trailer line: the head's field rules; the fields themselves are dropped.
  std::vector<std::pair<std::string, std::string>> ignored;
  if (parse_field(line_, ignored).status == HeadStatus::Refused) return Status::Malformed;
  state_ = State::TrailerLf;
  return Status::NeedMore;
}

ChunkedDecoder::Status ChunkedDecoder::feed(std::string_view in, std::size_t& consumed, std::string& data) {
  std::size_t i = 0;
  auto finish = [&](Status s) {
    consumed = i;
    if (s == Status::Malformed) state_ = State::Done;
    return s;
  };
  while (i < in.size()) {
    const auto c = static_cast<unsigned char>(in[i]);
    switch (state_) {
      case State::Size: {
        const SizeByte b = read_size_byte(c, digits_, remaining_);
        if (b == SizeByte::Malformed) return finish(Status::Malformed);
        if (b == SizeByte::ExtensionsStart) {
          state_ = State::Ext;  // not consumed: the byte is the extensions' first
          line_.clear();
          break;
        }
        ++i;
        if (b == SizeByte::LineEnd) state_ = State::SizeLf;
        break;
      }
      case State::Ext:
      case State::Trailer:
        if (c == '\r') {
          ++i;
          if (line_done() == Status::Malformed) return finish(Status::Malformed);
        } else {
          // Bounded: an extension line by itself, the trailers all together.
          const bool too_long = state_ == State::Ext ? line_.size() >= kMaxExtensionBytes
                                                     : ++trailer_bytes_ > max_trailer_bytes_;
          if (c == '\n' || too_long) return finish(Status::Malformed);
          line_.push_back(static_cast<char>(c));
          ++i;
        }
        break;
      case State::SizeLf:
        if (c != '\n') return finish(Status::Malformed);
        ++i;
        digits_ = 0;
        line_.clear();  // for the trailers, after the last chunk (size 0)
        state_ = remaining_ == 0 ? State::Trailer : State::Data;
        break;
      case State::Data: {
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, in.size() - i));
        data.append(in.substr(i, n));
        i += n;
        remaining_ -= n;
        total_ += n;
        if (remaining_ == 0) state_ = State::DataCr;
        break;
      }
      case State::DataCr:
        if (c != '\r') return finish(Status::Malformed);
        ++i;
        state_ = State::DataLf;
        break;
      case State::DataLf:
        if (c != '\n') return finish(Status::Malformed);
        ++i;
        state_ = State::Size;
        break;
      case State::TrailerLf:
        if (c != '\n') return finish(Status::Malformed);
        ++i;
        if (line_.size() == 1 && line_[0] == '\0') {
          state_ = State::Done;
          return finish(Status::Done);
        }
        state_ = State::Trailer;
        line_.clear();
        break;
      case State::Done:
        return finish(Status::Malformed);  // fed after Done or Malformed
    }
  }
  return finish(Status::NeedMore);
}

}  // namespace mcpgate::net
