#include "http/router.h"

#include <gtest/gtest.h>

namespace robotni::http {
namespace {

Handler Named(std::string name) {
  return [name](const Request&, Responder respond) { respond(Response::Text(200, name)); };
}

TEST(RouterTest, MatchesLiteralAndParams) {
  Router r;
  ASSERT_TRUE(r.Add("GET /api/worker/jobs/{id}", Named("job")).ok());
  ASSERT_TRUE(r.Add("GET /api/worker/jobs/stats", Named("stats")).ok());
  ASSERT_TRUE(r.Add("POST /api/worker/jobs", Named("create")).ok());

  Router::Match m = r.Find("GET", "/api/worker/jobs/a%20b");
  EXPECT_EQ(m.status, 200);
  EXPECT_EQ(m.route, "GET /api/worker/jobs/{id}");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].first, "id");
  EXPECT_EQ(m.params[0].second, "a b");

  // A literal segment wins over a parameter, whatever the order of registration.
  EXPECT_EQ(r.Find("GET", "/api/worker/jobs/stats").route, "GET /api/worker/jobs/stats");
  // An encoded slash stays inside the parameter.
  m = r.Find("GET", "/api/worker/jobs/x%2Fy");
  ASSERT_EQ(m.params.size(), 1u);
  EXPECT_EQ(m.params[0].second, "x/y");
}

TEST(RouterTest, NotFoundAndMethodNotAllowed) {
  Router r;
  ASSERT_TRUE(r.Add("GET /a/{id}", Named("get")).ok());
  ASSERT_TRUE(r.Add("DELETE /a/{id}", Named("del")).ok());
  EXPECT_EQ(r.Find("GET", "/b").status, 404);
  EXPECT_EQ(r.Find("GET", "/a/").status, 404);     // empty parameter
  EXPECT_EQ(r.Find("GET", "/a/1/2").status, 404);  // too many segments
  Router::Match m = r.Find("PUT", "/a/1");
  EXPECT_EQ(m.status, 405);
  EXPECT_EQ(m.allow, "DELETE, GET, HEAD, OPTIONS");
  EXPECT_EQ(r.Find("HEAD", "/a/1").status, 200);  // HEAD falls back to GET
  EXPECT_EQ(r.Find("OPTIONS", "/a/1").status, 204);
}

TEST(RouterTest, RejectsBadSpecs) {
  Router r;
  EXPECT_FALSE(r.Add("GET", Named("x")).ok());
  EXPECT_FALSE(r.Add("get /x", Named("x")).ok());
  EXPECT_FALSE(r.Add("GET x", Named("x")).ok());
  EXPECT_FALSE(r.Add("GET /x/{}", Named("x")).ok());
  EXPECT_FALSE(r.Add("GET /x/a{id}", Named("x")).ok());
  EXPECT_FALSE(r.Add("GET /x/{id}/{id}", Named("x")).ok());
  EXPECT_FALSE(r.Add("GET /x", nullptr).ok());
  ASSERT_TRUE(r.Add("GET /x/{id}", Named("x")).ok());
  EXPECT_FALSE(r.Add("GET /x/{other}", Named("x")).ok());  // same shape
  EXPECT_TRUE(r.Add("POST /x/{other}", Named("x")).ok());
}

TEST(RouterTest, DispatchAnswers404WithJson) {
  Router r;
  Request req;
  req.method = "GET";
  std::string err;
  ASSERT_TRUE(ParseTarget("/nope", &req, &err));
  Response got;
  struct Sink : ResponseSink {
    Response* out;
    explicit Sink(Response* o) : out(o) {}
    void Send(Response resp) noexcept override { *out = std::move(resp); }
  };
  r.Dispatch(&req, Responder(std::make_shared<Sink>(&got)));
  EXPECT_EQ(got.status, 404);
  auto j = nlohmann::json::parse(got.body);
  EXPECT_EQ(j["error"]["status"], 404);
}

TEST(RequestTest, TargetAndQueryDecoding) {
  Request req;
  std::string err;
  ASSERT_TRUE(ParseTarget("/p%41th/x?a=1&b=x+y%21&c&a=2#frag", &req, &err));
  EXPECT_EQ(req.raw_path, "/p%41th/x");
  EXPECT_EQ(req.path, "/pAth/x");
  EXPECT_EQ(req.query, "a=1&b=x+y%21&c&a=2");
  EXPECT_EQ(req.Query("a").value(), "1");
  EXPECT_EQ(req.Query("b").value(), "x y!");
  EXPECT_EQ(req.Query("c").value(), "");
  EXPECT_FALSE(req.Query("d").has_value());
  EXPECT_EQ(req.query_params.size(), 4u);

  ASSERT_TRUE(ParseTarget("http://example.com/abs?q=1", &req, &err));
  EXPECT_EQ(req.path, "/abs");
  EXPECT_EQ(req.Query("q").value(), "1");
  ASSERT_TRUE(ParseTarget("http://example.com?q=2", &req, &err));
  EXPECT_EQ(req.path, "/");

  EXPECT_FALSE(ParseTarget("/bad%zz", &req, &err));
  EXPECT_FALSE(ParseTarget("/bad%4", &req, &err));
  EXPECT_FALSE(ParseTarget("/nul%00", &req, &err));
  EXPECT_FALSE(ParseTarget("/q?x=%", &req, &err));
  EXPECT_FALSE(ParseTarget("relative", &req, &err));
}

TEST(RequestTest, HeadersAreCaseInsensitive) {
  Headers h;
  h.Add("Content-Type", "a");
  h.Add("X-Multi", "1");
  h.Add("x-multi", "2");
  EXPECT_EQ(h.Get("content-type"), "a");
  EXPECT_EQ(h.Count("X-MULTI"), 2u);
  h.Set("X-MULTI", "3");
  EXPECT_EQ(h.Count("x-multi"), 1u);
  EXPECT_EQ(h.Get("x-multi"), "3");
  EXPECT_EQ(h.Remove("X-Multi"), 1u);
  EXPECT_FALSE(h.Has("x-multi"));
  EXPECT_EQ(h.Get("missing", "fallback"), "fallback");
}

}  // namespace
}  // namespace robotni::http
