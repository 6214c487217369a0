#include "http/response.h"
#include "http/source_etag.h"

#include <gtest/gtest.h>

namespace robotni::http {
namespace {

TEST(ResponseTest, JsonAndError) {
  Response r = Response::Json(201, {{"id", "x"}});
  EXPECT_EQ(r.status, 201);
  EXPECT_EQ(r.headers.Get("content-type"), "application/json");
  EXPECT_EQ(r.body, R"({"id":"x"})");
  Response e = Response::Error(413, "too big");
  auto j = nlohmann::json::parse(e.body);
  EXPECT_EQ(j["error"]["status"], 413);
  EXPECT_EQ(j["error"]["message"], "too big");
  // Invalid UTF-8 from a handler is replaced, not thrown.
  Response bad = Response::Json(200, {{"s", std::string("\xff\xfe")}});
  EXPECT_EQ(bad.status, 200);
}

TEST(ResponseTest, StrongEtagAndIfNoneMatch) {
  std::string a = StrongEtag("hello");
  EXPECT_EQ(a, StrongEtag("hello"));
  EXPECT_NE(a, StrongEtag("hellp"));
  EXPECT_EQ(a.front(), '"');
  EXPECT_EQ(a.back(), '"');
  EXPECT_TRUE(IfNoneMatchMatches(a, a));
  EXPECT_TRUE(IfNoneMatchMatches("\"zz\", " + a, a));
  EXPECT_TRUE(IfNoneMatchMatches("W/" + a, a));
  EXPECT_TRUE(IfNoneMatchMatches("*", a));
  EXPECT_FALSE(IfNoneMatchMatches("\"zz\"", a));
  EXPECT_FALSE(IfNoneMatchMatches("", a));

  Request req;
  req.method = "GET";
  Response r = Response::Json(200, {{"k", 1}});
  EXPECT_FALSE(ApplyEtag(req, &r));
  std::string etag(r.headers.Get("ETag"));
  ASSERT_FALSE(etag.empty());
  req.headers.Add("If-None-Match", etag);
  Response again = Response::Json(200, {{"k", 1}});
  EXPECT_TRUE(ApplyEtag(req, &again));
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.headers.Get("ETag"), etag);
  req.method = "POST";
  Response post = Response::Json(200, {{"k", 1}});
  EXPECT_FALSE(ApplyEtag(req, &post));
}

TEST(ResponseTest, SourceEtagNamesItsInputs) {
  auto tag = [](std::string_view a, std::string_view b, int64_t n) {
    return SourceEtag().Add(a).Add(b).Add(n).Tag();
  };
  EXPECT_EQ(tag("ab", "c", 1), tag("ab", "c", 1));
  EXPECT_NE(tag("ab", "c", 1), tag("a", "bc", 1));  // values are length-prefixed
  EXPECT_NE(tag("ab", "c", 1), tag("ab", "c", 2));
  EXPECT_NE(tag("", "", 0), SourceEtag().Tag());
  std::string t = tag("x", "y", 3);
  ASSERT_EQ(t.size(), 20u) << t;  // "r-" and 16 hex digits, quoted
  EXPECT_EQ(t.substr(0, 3), "\"r-");
  EXPECT_EQ(t.back(), '"');
  EXPECT_TRUE(IfNoneMatchMatches("W/" + t, t));
}

TEST(ResponseTest, SerializeFramesTheBody) {
  Response r = Response::Text(200, "abc");
  r.headers.Add("Content-Length", "999");         // ignored: framing is the server's
  r.headers.Add("X-Evil", "a\r\nSet-Cookie: x");  // dropped: would split the response
  std::string wire = SerializeResponse(r, true, false, false, "", "robotni");
  EXPECT_EQ(wire.rfind("HTTP/1.1 200 OK\r\n", 0), 0u);
  EXPECT_NE(wire.find("Content-Length: 3\r\n"), std::string::npos);
  EXPECT_EQ(wire.find("999"), std::string::npos);
  EXPECT_EQ(wire.find("Set-Cookie"), std::string::npos);
  EXPECT_EQ(wire.substr(wire.size() - 7), "\r\n\r\nabc");
  std::string head = SerializeResponse(r, false, false, true, "", "");
  EXPECT_NE(head.find("Content-Length: 3\r\nConnection: close\r\n\r\n"), std::string::npos);
  EXPECT_EQ(head.substr(head.size() - 4), "\r\n\r\n");
  std::string nc = SerializeResponse(Response::Empty(304), true, false, false, "", "");
  EXPECT_EQ(nc.find("Content-Length"), std::string::npos);
}

}  // namespace
}  // namespace robotni::http
