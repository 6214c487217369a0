#include "http/request_parser.h"

#include <gtest/gtest.h>

namespace robotni::http {
namespace {

using Result = RequestParser::Result;

// Feeds `wire` in pieces of `step` bytes and collects the requests.
std::vector<Request> ParseAll(const std::string& wire, size_t step, RequestParser* p,
                              Result* last) {
  std::vector<Request> out;
  std::string pending;
  *last = Result::kNeedMore;
  for (size_t off = 0; off < wire.size(); off += step) {
    pending.append(wire.substr(off, step));
    while (!pending.empty()) {
      size_t used = 0;
      *last = p->Feed(pending.data(), pending.size(), &used);
      pending.erase(0, used);
      if (*last == Result::kError) return out;
      if (*last == Result::kRequest) {
        out.push_back(p->TakeRequest());
        continue;
      }
      break;
    }
  }
  return out;
}

TEST(RequestParserTest, ParsesByteByByteAndPipelined) {
  std::string wire =
      "POST /echo?x=1 HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\nX-Test:  v  \r\n\r\nhello"
      "GET /two HTTP/1.1\r\nHost: h\r\n\r\n"
      "POST /c HTTP/1.1\r\nHost: h\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n";
  for (size_t step : {size_t{1}, size_t{2}, size_t{7}, wire.size()}) {
    RequestParser p;
    Result last;
    std::vector<Request> reqs = ParseAll(wire, step, &p, &last);
    ASSERT_EQ(reqs.size(), 3u) << "step " << step;
    EXPECT_EQ(reqs[0].method, "POST");
    EXPECT_EQ(reqs[0].path, "/echo");
    EXPECT_EQ(reqs[0].Query("x").value(), "1");
    EXPECT_EQ(reqs[0].body, "hello");
    EXPECT_EQ(reqs[0].Header("x-test"), "v");
    EXPECT_TRUE(reqs[0].keep_alive);
    EXPECT_EQ(reqs[1].path, "/two");
    EXPECT_TRUE(reqs[1].keep_alive);
    EXPECT_EQ(reqs[2].body, "abcde");
    EXPECT_FALSE(reqs[2].keep_alive);
    EXPECT_FALSE(p.in_message());
  }
}

TEST(RequestParserTest, Limits) {
  ParserLimits limits;
  limits.max_header_bytes = 100;
  limits.max_body_bytes = 10;
  {
    RequestParser p(limits);
    Result last;
    ParseAll("GET / HTTP/1.1\r\nHost: h\r\nX-Big: " + std::string(200, 'a') + "\r\n\r\n", 1000, &p,
             &last);
    EXPECT_EQ(last, Result::kError);
    EXPECT_EQ(p.error_status(), 431);
  }
  {
    RequestParser p(limits);
    Result last;
    ParseAll("GET /" + std::string(200, 'a') + " HTTP/1.1\r\n", 1000, &p, &last);
    EXPECT_EQ(p.error_status(), 414);
  }
  {
    RequestParser p(limits);
    Result last;
    ParseAll("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 11\r\n\r\n", 1000, &p, &last);
    EXPECT_EQ(last, Result::kError);
    EXPECT_EQ(p.error_status(), 413);
  }
  {
    RequestParser p(limits);
    Result last;
    ParseAll(
        "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n8\r\n12345678\r\n"
        "8\r\n12345678\r\n0\r\n\r\n",
        1000, &p, &last);
    EXPECT_EQ(last, Result::kError);
    EXPECT_EQ(p.error_status(), 413);
  }
}

TEST(RequestParserTest, TruncatedAndExpectContinue) {
  RequestParser p;
  Result last;
  ParseAll("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 3\r\n\r\n", 5, &p,
           &last);
  EXPECT_EQ(last, Result::kNeedMore);
  EXPECT_TRUE(p.TakeExpectContinue());
  EXPECT_FALSE(p.TakeExpectContinue());
  EXPECT_TRUE(p.in_message());
  EXPECT_EQ(p.Finish(), Result::kError);
  EXPECT_EQ(p.error_status(), 400);
  EXPECT_EQ(p.error_name(), "truncated");
}

TEST(RequestParserTest, MissingHostAndBadVersion) {
  {
    RequestParser p;
    Result last;
    ParseAll("GET / HTTP/1.1\r\n\r\n", 100, &p, &last);
    EXPECT_EQ(p.error_status(), 400);
  }
  {
    RequestParser p;
    Result last;
    auto reqs = ParseAll("GET / HTTP/1.0\r\n\r\n", 100, &p, &last);
    ASSERT_EQ(reqs.size(), 1u);
    EXPECT_FALSE(reqs[0].keep_alive);
  }
}

}  // namespace
}  // namespace robotni::http
