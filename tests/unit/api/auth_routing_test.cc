// What a client without a token learns from unknown paths and wrong methods: under /api the
// auth filter answers 401 before the router's 404 / 405 / OPTIONS 204; outside /api the router
// answers 404 / 405 as for anyone. The real Router and Auth, wired as serve wires them.
#include <gtest/gtest.h>

#include <memory>
#include <optional>
#include <string>

#include "api/auth.h"
#include "api/dashboard_api.h"
#include "http/router.h"

namespace robotni::api {
namespace {

class CaptureSink : public ResponseSink {
 public:
  void Send(Response response) noexcept override { got = std::move(response); }
  std::optional<Response> got;
};

Handler Ok() {
  return [](const Request&, Responder respond) { respond(Response::Text(200, "handled")); };
}

class AuthRoutingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    AuthOptions opts;
    opts.rate_limit = rate_limit_;
    opts.now = [this] { return now_; };
    for (const std::string& p : DashboardOpenPaths()) opts.open_paths.insert(p);
    auth_ = std::make_unique<Auth>(opts);
    ASSERT_TRUE(auth_->AddTokens("read:r\nwrite:w\nrw\n", "\n").ok());
    for (const char* spec :
         {"GET /api/worker/jobs/{id}", "DELETE /api/worker/jobs/{id}", "POST /api/worker/jobs",
          "GET /healthz", "GET /openapi.json", "GET /", "GET /dashboard/{asset}", "GET /metrics"}) {
      ASSERT_TRUE(router_.Add(spec, Ok()).ok()) << spec;
    }
    router_.SetFilter([a = auth_.get()](const Request& req, const Responder& respond) {
      return a->Filter(req, respond);
    });
  }

  Response Send(const std::string& method, const std::string& target,
                const std::string& token = "") {
    Request req;
    req.method = method;
    std::string error;
    EXPECT_TRUE(ParseTarget(target, &req, &error)) << error;
    if (!token.empty()) req.headers.Add("Authorization", "Bearer " + token);
    auto sink = std::make_shared<CaptureSink>();
    router_.Dispatch(&req, Responder(sink));
    EXPECT_TRUE(sink->got) << method << " " << target << ": no answer";
    return sink->got.value_or(Response::Empty(0));
  }

  double rate_limit_ = 0;
  double now_ = 100;
  std::unique_ptr<Auth> auth_;
  Router router_;
};

TEST_F(AuthRoutingTest, UnderApiTheTokenComesBeforeTheRoute) {
  // Without a token every /api request is a 401, known path or not, any method.
  for (auto [method, target] : std::initializer_list<std::pair<const char*, const char*>>{
           {"GET", "/api/worker/jobs/1"},       // a route
           {"GET", "/api/nope"},                // unknown path
           {"GET", "/api"},                     // the prefix itself
           {"PUT", "/api/worker/jobs/1"},       // known path, wrong method
           {"OPTIONS", "/api/worker/jobs/1"},   // would list the methods
           {"GET", "/api/worker/jobs/1/nope"},  // one segment too many
           {"GET", "/%61pi/nope"}}) {           // decoded before the check
    Response r = Send(method, target);
    EXPECT_EQ(r.status, 401) << method << " " << target;
    EXPECT_EQ(r.headers.Get("WWW-Authenticate"), "Bearer realm=\"robotni\"")
        << method << " " << target;
    EXPECT_EQ(r.headers.Get("Allow"), "") << "no method list for a stranger";
  }
  EXPECT_EQ(Send("GET", "/api/nope", "wrong").status, 401);

  // With a valid token the router answers as usual.
  EXPECT_EQ(Send("GET", "/api/worker/jobs/1", "r").body, "handled");
  EXPECT_EQ(Send("GET", "/api/nope", "r").status, 404);
  Response wrong_method = Send("PUT", "/api/worker/jobs/1", "w");
  EXPECT_EQ(wrong_method.status, 405);
  EXPECT_EQ(wrong_method.headers.Get("Allow"), "DELETE, GET, HEAD, OPTIONS");
  Response options = Send("OPTIONS", "/api/worker/jobs/1", "r");
  EXPECT_EQ(options.status, 204);
  EXPECT_EQ(options.headers.Get("Allow"), "DELETE, GET, HEAD, OPTIONS");
  // The scope follows the method, matched or not: PUT needs write even to learn it is a 405.
  EXPECT_EQ(Send("PUT", "/api/worker/jobs/1", "r").status, 403);
  EXPECT_EQ(Send("POST", "/api/nope", "r").status, 403);
  EXPECT_EQ(Send("POST", "/api/nope", "w").status, 404);
}

TEST_F(AuthRoutingTest, OutsideApiUnknownPathsAre404WithoutAToken) {
  EXPECT_EQ(Send("GET", "/nope").status, 404);
  EXPECT_EQ(Send("GET", "/apix").status, 404);               // not under /api
  EXPECT_EQ(Send("GET", "/dashboard/nope.js").status, 200);  // the open asset route answers
  Response post_health = Send("POST", "/healthz");
  EXPECT_EQ(post_health.status, 405);
  EXPECT_EQ(post_health.headers.Get("Allow"), "GET, HEAD, OPTIONS");
  EXPECT_EQ(Send("OPTIONS", "/healthz").status, 204);
  // Open routes, and the ones that are not.
  EXPECT_EQ(Send("GET", "/").status, 200);
  EXPECT_EQ(Send("GET", "/healthz").status, 200);
  EXPECT_EQ(Send("HEAD", "/openapi.json").status, 200);
  EXPECT_EQ(Send("GET", "/metrics").status, 401);
  EXPECT_EQ(Send("GET", "/metrics", "r").status, 200);
}

class RateLimitedRoutingTest : public AuthRoutingTest {
 protected:
  RateLimitedRoutingTest() { rate_limit_ = 1; }  // burst of 2
};

TEST_F(RateLimitedRoutingTest, ProbingUnknownApiPathsSpendsTheTokensBucket) {
  EXPECT_EQ(Send("GET", "/api/nope", "r").status, 404);
  EXPECT_EQ(Send("GET", "/api/nope2", "r").status, 404);
  Response limited = Send("GET", "/api/nope3", "r");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(limited.headers.Get("Retry-After"), "1");
  // Outside /api nothing is spent: the router answers 404 for anyone.
  EXPECT_EQ(Send("GET", "/nope", "r").status, 404);
  now_ += 1;
  EXPECT_EQ(Send("GET", "/api/worker/jobs/1", "r").status, 200);
}

}  // namespace
}  // namespace robotni::api
