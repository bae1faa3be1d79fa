// HttpRequestParser: framing (Content-Length, chunked, pipelining), and every limit enforced on
// what arrives, whatever the framing and however the bytes are split.
#include "server/http_parser.h"

#include <gtest/gtest.h>

#include <string>

namespace gemma4::server {
namespace {

using Status = HttpRequestParser::Status;

HttpLimits Small() {
  HttpLimits l;
  l.max_request_line = 256;
  l.max_header_bytes = 512;
  l.max_headers = 8;
  l.max_body = 64;
  return l;
}

// Feeds `bytes` one at a time (the worst split) and returns the final status.
Status FeedBytewise(HttpRequestParser& p, const std::string& bytes) {
  Status s = Status::kNeedMore;
  for (char c : bytes) {
    s = p.Feed(std::string_view(&c, 1));
    if (s != Status::kNeedMore) break;
  }
  return s;
}

TEST(HttpParser, ContentLengthBodyWholeAndBytewise) {
  const std::string req = "POST /v1/chat/completions?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
  for (bool bytewise : {false, true}) {
    HttpRequestParser p(Small());
    const Status s = bytewise ? FeedBytewise(p, req) : p.Feed(req);
    ASSERT_EQ(s, Status::kComplete);
    EXPECT_EQ(p.request().method, "POST");
    EXPECT_EQ(p.request().path, "/v1/chat/completions");
    EXPECT_EQ(p.request().target, "/v1/chat/completions?x=1");
    EXPECT_EQ(p.request().header("host"), "h");
    EXPECT_EQ(p.request().body, "hello");
    EXPECT_TRUE(p.keep_alive());
  }
}

TEST(HttpParser, ChunkedBodyIsDecoded) {
  const std::string req =
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3;ext=1\r\nabc\r\n2\r\nde\r\n0\r\nX-Trailer: t\r\n\r\n";
  for (bool bytewise : {false, true}) {
    HttpRequestParser p(Small());
    ASSERT_EQ(bytewise ? FeedBytewise(p, req) : p.Feed(req), Status::kComplete);
    EXPECT_EQ(p.request().body, "abcde");
  }
}

TEST(HttpParser, ChunkedBodyOverTheLimitIs413BeforeItArrives) {
  HttpRequestParser p(Small());
  // One chunk announcing more than the limit: refused on its size line, before any data.
  EXPECT_EQ(p.Feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n41\r\n"), Status::kError);
  EXPECT_EQ(p.error_status(), 413);
  // Many small chunks adding up past the limit.
  HttpRequestParser q(Small());
  std::string body = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) body += "8\r\n12345678\r\n";
  EXPECT_EQ(q.Feed(body), Status::kError);
  EXPECT_EQ(q.error_status(), 413);
  // A huge hex size cannot overflow into a small one.
  HttpRequestParser r(Small());
  EXPECT_EQ(r.Feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n10000000000000001\r\nx"), Status::kError);
  EXPECT_EQ(r.error_status(), 400);
}

TEST(HttpParser, AnnouncedContentLengthOverTheLimitIs413) {
  HttpRequestParser p(Small());
  EXPECT_EQ(p.Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 65\r\n\r\n"), Status::kError);
  EXPECT_EQ(p.error_status(), 413);
  EXPECT_EQ(p.error_message(), "the request body is larger than the limit of 64 bytes");
  HttpRequestParser q(Small());
  EXPECT_EQ(q.Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999999999999999\r\n\r\n"), Status::kError);
  EXPECT_EQ(q.error_status(), 400);
}

TEST(HttpParser, CompressionAndUnknownCodingsAre415) {
  for (const char* header : {"Content-Encoding: gzip", "Content-Encoding: br", "Transfer-Encoding: gzip, chunked",
                             "Transfer-Encoding: deflate"}) {
    HttpRequestParser p(Small());
    EXPECT_EQ(p.Feed(std::string("POST / HTTP/1.1\r\nHost: h\r\n") + header + "\r\nContent-Length: 1\r\n\r\nx"),
              Status::kError)
        << header;
    EXPECT_EQ(p.error_status(), 415) << header;
  }
  HttpRequestParser identity(Small());
  EXPECT_EQ(identity.Feed("POST / HTTP/1.1\r\nHost: h\r\nContent-Encoding: identity\r\nContent-Length: 1\r\n\r\nx"),
            Status::kComplete);
}

TEST(HttpParser, SmugglingShapesAreRefused) {
  const char* cases[] = {
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +3\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
      "POST / HTTP/1.1\r\nHost: h\r\n X-Folded: yes\r\n\r\n",
      "GET / HTTP/1.1\r\n\r\n",                        // no Host
      "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",  // two
  };
  for (const char* c : cases) {
    HttpRequestParser p(Small());
    EXPECT_EQ(p.Feed(c), Status::kError) << c;
    EXPECT_EQ(p.error_status(), 400) << c;
  }
}

TEST(HttpParser, HeaderLimitsCountBytesAndLines) {
  HttpRequestParser many(Small());
  std::string req = "GET / HTTP/1.1\r\nHost: h\r\n";
  for (int i = 0; i < 9; ++i) req += "X-A: 1\r\n";
  EXPECT_EQ(many.Feed(req), Status::kError);
  EXPECT_EQ(many.error_status(), 431);
  // One endless header line is refused as soon as it passes the limit, without its end.
  HttpRequestParser big(Small());
  EXPECT_EQ(big.Feed("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(600, 'b')), Status::kError);
  EXPECT_EQ(big.error_status(), 431);
  HttpRequestParser uri(Small());
  EXPECT_EQ(uri.Feed("GET /" + std::string(300, 'a')), Status::kError);
  EXPECT_EQ(uri.error_status(), 414);
}

TEST(HttpParser, MalformedRequestLines) {
  for (const char* c : {"\x01\x02 nonsense\r\n\r\n", "GET\r\n\r\n", "GET  / HTTP/1.1\r\n\r\n", "GET / HTTP/1.1 x\r\n\r\n",
                        "GET noslash HTTP/1.1\r\n\r\n", "GET / HTTP/x.y\r\n\r\n"}) {
    HttpRequestParser p(Small());
    EXPECT_EQ(p.Feed(c), Status::kError) << c;
    EXPECT_EQ(p.error_status(), 400) << c;
  }
  HttpRequestParser v2(Small());
  EXPECT_EQ(v2.Feed("GET / HTTP/2.0\r\n\r\n"), Status::kError);
  EXPECT_EQ(v2.error_status(), 505);
}

TEST(HttpParser, PipelinedRequestsAndKeepAlive) {
  HttpRequestParser p(Small());
  ASSERT_EQ(p.Feed("GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b HTTP/1.0\r\n\r\n"), Status::kComplete);
  EXPECT_EQ(p.request().path, "/a");
  EXPECT_TRUE(p.keep_alive());
  p.Reset();
  EXPECT_TRUE(p.started());  // the second request is already buffered
  ASSERT_EQ(p.Feed({}), Status::kComplete);
  EXPECT_EQ(p.request().path, "/b");
  EXPECT_FALSE(p.keep_alive());  // HTTP/1.0 without keep-alive
  p.Reset();
  EXPECT_FALSE(p.started());
  ASSERT_EQ(p.Feed("GET /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n"), Status::kComplete);
  EXPECT_FALSE(p.keep_alive());
}

TEST(HttpParser, ExpectContinue) {
  HttpRequestParser p(Small());
  EXPECT_EQ(p.Feed("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n"), Status::kNeedMore);
  EXPECT_TRUE(p.headers_done());
  EXPECT_TRUE(p.expects_continue());
  EXPECT_EQ(p.Feed("ok"), Status::kComplete);
  HttpRequestParser q(Small());
  EXPECT_EQ(q.Feed("POST / HTTP/1.1\r\nHost: h\r\nExpect: magic\r\n\r\n"), Status::kError);
  EXPECT_EQ(q.error_status(), 417);
}

TEST(HttpParser, ChunkDataMustEndWithCrlf) {
  HttpRequestParser p(Small());
  EXPECT_EQ(p.Feed("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n"), Status::kError);
  EXPECT_EQ(p.error_status(), 400);
}

}  // namespace
}  // namespace gemma4::server
