#include "net/http1.hpp"

#include <gtest/gtest.h>

#include <string>

namespace mcpgate::net {
namespace {

HeadResult parse(const std::string& in, RequestHead& head, HeadLimits limits = {}) {
  return parse_request_head(in, limits, head);
}

TEST(RequestHead, AHeadIsCompleteOnlyAtTheBlankLineAndConsumesExactlyIt) {
  RequestHead head;
  const std::string in = "POST /mcp?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\n\r\n{}";
  for (std::size_t cut = 0; cut < in.size() - 2; ++cut)
    EXPECT_EQ(parse(in.substr(0, cut), head).status, HeadStatus::Incomplete) << cut;
  const HeadResult r = parse(in, head);
  ASSERT_EQ(r.status, HeadStatus::Complete);
  EXPECT_EQ(r.consumed, in.size() - 2);
  EXPECT_EQ(head.method, "POST");
  EXPECT_EQ(head.target, "/mcp?x=1");
  EXPECT_EQ(head.framing, Framing::Length);
  EXPECT_EQ(head.content_length, 2u);
  EXPECT_TRUE(head.keep_alive);
}

TEST(RequestHead, FieldValuesLoseTheirSurroundingWhitespaceOnly) {
  RequestHead head;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost:a\r\nX-A: \t b  c \t\r\n\r\n", head).status, HeadStatus::Complete);
  ASSERT_EQ(head.fields.size(), 2u);
  EXPECT_EQ(head.fields[1].second, "b  c");
}

TEST(RequestHead, ConnectionCloseAndHttp10DecideKeepAlive) {
  RequestHead head;
  ASSERT_EQ(parse("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Close\r\n\r\n", head).status,
            HeadStatus::Complete);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(parse("GET / HTTP/1.0\r\n\r\n", head).status, HeadStatus::Complete);
  EXPECT_FALSE(head.keep_alive);
  ASSERT_EQ(parse("GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", head).status, HeadStatus::Complete);
  EXPECT_TRUE(head.keep_alive);
}

TEST(RequestHead, AmbiguousFramingIsRefused) {
  RequestHead head;
  for (const char* fields :
       {"Content-Length: 1\r\nContent-Length: 1\r\n", "Content-Length: 1, 1\r\n", "Content-Length: +1\r\n",
        "Content-Length: 0x1\r\n", "Content-Length: 1 1\r\n", "Content-Length: 9999999999999999999\r\n",
        "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n", "Transfer-Encoding: chunked, identity\r\n",
        "Transfer-Encoding: gzip, chunked\r\n",
        "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n"}) {
    const HeadResult r = parse(std::string("POST / HTTP/1.1\r\nHost: a\r\n") + fields + "\r\n", head);
    EXPECT_EQ(r.status, HeadStatus::Refused) << fields;
    EXPECT_EQ(r.http_status, 400) << fields;
  }
  EXPECT_EQ(parse("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", head).http_status, 400);
  ASSERT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", head).status,
            HeadStatus::Complete);
  EXPECT_EQ(head.framing, Framing::Chunked);
  ASSERT_EQ(parse("POST / HTTP/1.1\r\nHost: a\r\n\r\n", head).status, HeadStatus::Complete);
  EXPECT_EQ(head.framing, Framing::None) << "neither length nor chunking: no body";
}

TEST(RequestHead, LineSyntaxIsStrict) {
  RequestHead head;
  for (const char* in :
       {"GET / HTTP/1.1\nHost: a\n\n", "GET / HTTP/1.1\r\nHost: a\rX: b\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n", "GET / HTTP/1.1\r\nHost : a\r\n\r\n",
        "GET / HTTP/1.1\r\nBad Name: a\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\n: a\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\x01\r\n\r\n", "GET  / HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.1 \r\nHost: a\r\n\r\n", "G(T / HTTP/1.1\r\nHost: a\r\n\r\n", "GET / HTTP/1.1\r\n\r\n",
        "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", "GET /\x80 HTTP/1.1\r\nHost: a\r\n\r\n",
        "GET / HTTP/1.x\r\nHost: a\r\n\r\n"}) {
    const HeadResult r = parse(in, head);
    EXPECT_EQ(r.status, HeadStatus::Refused) << in;
    EXPECT_EQ(r.http_status, 400) << in;
  }
  EXPECT_EQ(parse("GET / HTTP/2.0\r\nHost: a\r\n\r\n", head).http_status, 505);
}

TEST(RequestHead, LimitsHoldWhileTheHeadIsStillIncomplete) {
  RequestHead head;
  const HeadLimits limits{.max_request_line = 64, .max_header_bytes = 256, .max_header_count = 4};
  EXPECT_EQ(parse("GET /" + std::string(100, 'a'), head, limits).http_status, 414) << "no line end needed";
  std::string many = "GET / HTTP/1.1\r\nHost: a\r\n";
  for (int i = 0; i < 5; ++i) many += "X-" + std::to_string(i) + ": b\r\n";
  EXPECT_EQ(parse(many, head, limits).http_status, 431) << "no blank line needed";
  std::string endless = "GET / HTTP/1.1\r\nHost: a\r\nX: " + std::string(limits.max_head(), 'b');
  EXPECT_EQ(parse(endless, head, limits).http_status, 431);
}

TEST(ChunkedBody, DecodesIncrementallyAndStopsAtTheEndOfTheBody) {
  const std::string body = "3;ext=\"q\\\"x\"\r\nabc\r\n2\r\nde\r\n0\r\nTrailer: t\r\n\r\nNEXT";
  for (std::size_t step = 1; step <= body.size(); ++step) {
    ChunkedDecoder d;
    std::string data;
    std::size_t at = 0;
    auto status = ChunkedDecoder::Status::NeedMore;
    while (status == ChunkedDecoder::Status::NeedMore && at < body.size()) {
      std::size_t used = 0;
      status = d.feed(std::string_view(body).substr(at, step), used, data);
      at += used;
    }
    ASSERT_EQ(status, ChunkedDecoder::Status::Done) << step;
    EXPECT_EQ(data, "abcde") << step;
    EXPECT_EQ(body.substr(at), "NEXT") << step;
  }
}

TEST(ChunkedBody, MalformedChunksAreRefused) {
  for (const char* body :
       {"0x5\r\nhello\r\n0\r\n\r\n", "+5\r\nhello\r\n0\r\n\r\n", " 5\r\nhello\r\n0\r\n\r\n",
        "5 \r\nhello\r\n0\r\n\r\n", "10000000000000005\r\nhello\r\n0\r\n\r\n", "\r\n",
        "5;\r\nhello\r\n0\r\n\r\n", "5;a=\"x\r\nhello\r\n0\r\n\r\n", "5\r\nhelloX\r\n0\r\n\r\n",
        "5\nhello\n0\n\n", "5\r\nhello\r\n0\r\nBad Trailer: x\r\n\r\n"}) {
    ChunkedDecoder d;
    std::string data;
    std::size_t used = 0;
    EXPECT_EQ(d.feed(body, used, data), ChunkedDecoder::Status::Malformed) << body;
  }
}

TEST(ResponseHead, FramingFollowsRfc9112Section6_3) {
  ResponseHead r;
  ASSERT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 4096, false, r).status,
            HeadStatus::Complete);
  EXPECT_EQ(r.framing, BodyFraming::Length);
  parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", 4096, true, r);
  EXPECT_EQ(r.framing, BodyFraming::None) << "an answer to HEAD has no body";
  parse_response_head("HTTP/1.1 204 No Content\r\n\r\n", 4096, false, r);
  EXPECT_EQ(r.framing, BodyFraming::None);
  parse_response_head("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", 4096, false, r);
  EXPECT_EQ(r.framing, BodyFraming::Chunked);
  parse_response_head("HTTP/1.1 200 OK\r\n\r\n", 4096, false, r);
  EXPECT_EQ(r.framing, BodyFraming::UntilClose);
  EXPECT_FALSE(r.keep_alive);
  EXPECT_EQ(
      parse_response_head("HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", 4096, false, r)
          .status,
      HeadStatus::Refused);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\nX: a\nY: b\r\n\r\n", 4096, false, r).status,
            HeadStatus::Refused);
  EXPECT_EQ(parse_response_head("HTTP/1.1 200 OK\r\n" + std::string(5000, 'x'), 4096, false, r).status,
            HeadStatus::Refused);
}

}  // namespace
}  // namespace mcpgate::net
