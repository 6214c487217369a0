#include "api/auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace robotni::api {
namespace {

// Captures what a filter answered.
class CaptureSink : public ResponseSink {
 public:
  void Send(Response response) noexcept override { got = std::move(response); }
  std::optional<Response> got;
};

struct FilterResult {
  bool passed = false;
  std::optional<Response> response;
};

FilterResult Filtered(Auth* auth, const std::string& method, const std::string& route,
                      const std::string& authorization = "") {
  Request req;
  req.method = method;
  req.route = route;
  if (!authorization.empty()) req.headers.Add("Authorization", authorization);
  auto sink = std::make_shared<CaptureSink>();
  FilterResult r;
  r.passed = auth->Filter(req, Responder(sink));
  r.response = sink->got;
  return r;
}

TEST(ConstantTimeEqualsTest, ComparesWholeStrings) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("abc", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "abd"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "xbc"));
  EXPECT_FALSE(ConstantTimeEquals("abc", "ab"));
  EXPECT_FALSE(ConstantTimeEquals("ab", "abc"));
  EXPECT_FALSE(ConstantTimeEquals("", "a"));
  EXPECT_FALSE(ConstantTimeEquals(std::string_view("a\0b", 3), std::string_view("a\0c", 3)));
}

TEST(GenerateTokenTest, SixtyFourLowercaseHexDigitsEachTimeNew) {
  auto a = GenerateToken();
  auto b = GenerateToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 64u);
  EXPECT_EQ(a->find_first_not_of("0123456789abcdef"), std::string::npos) << *a;
  EXPECT_NE(*a, *b);
}

TEST(LoopbackTest, RecognisesLoopbackHosts) {
  EXPECT_TRUE(IsLoopbackHost("127.0.0.1"));
  EXPECT_TRUE(IsLoopbackHost("127.1.2.3"));
  EXPECT_TRUE(IsLoopbackHost("::1"));
  EXPECT_TRUE(IsLoopbackHost("localhost"));
  EXPECT_FALSE(IsLoopbackHost("0.0.0.0"));
  EXPECT_FALSE(IsLoopbackHost("::"));
  EXPECT_FALSE(IsLoopbackHost("10.0.0.1"));
  EXPECT_FALSE(IsLoopbackHost("127.example.com"));
}

TEST(GenerateTokenTest, Gives64HexDigitsAndDiffers) {
  auto a = GenerateToken();
  auto b = GenerateToken();
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a.value().size(), 64u);
  EXPECT_EQ(a.value().find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(a.value(), b.value());
}

TEST(WriteTokenFileTest, ModeIs0600) {
  std::string path = ::testing::TempDir() + "/api-token-" + std::to_string(getpid());
  ASSERT_TRUE(WriteTokenFile(path, "secret").ok());
  struct stat st;
  ASSERT_EQ(stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  unlink(path.c_str());
}

TEST(AuthTest, ParsesScopesFromEntries) {
  Auth auth;
  ASSERT_TRUE(auth.AddTokens("# comment\nread:r1\nwrite:w1\n\nread,write:rw1\nbare1\n", "\n").ok());
  EXPECT_EQ(auth.token_count(), 4u);
  EXPECT_EQ(auth.ScopesOf("r1"), kScopeRead);
  EXPECT_EQ(auth.ScopesOf("w1"), kScopeWrite);
  EXPECT_EQ(auth.ScopesOf("rw1"), kScopeAll);
  EXPECT_EQ(auth.ScopesOf("bare1"), kScopeAll);
  EXPECT_EQ(auth.ScopesOf("read:r1"), 0u);
  EXPECT_EQ(auth.ScopesOf("nope"), 0u);
  // A colon that does not follow a scope list is part of the token.
  ASSERT_TRUE(auth.AddTokens("ab:cd; read:e", " ;").ok());
  EXPECT_EQ(auth.ScopesOf("ab:cd"), kScopeAll);
  EXPECT_EQ(auth.ScopesOf("e"), kScopeRead);
  EXPECT_FALSE(auth.AddTokens("read:\n", "\n").ok());
}

TEST(AuthTest, FilterAnswers401403AndPasses) {
  Auth auth;
  ASSERT_TRUE(auth.AddTokens("read:r\nwrite:w\nrw", "\n").ok());
  auto none = Filtered(&auth, "GET", "GET /api/worker/jobs/{id}");
  EXPECT_FALSE(none.passed);
  ASSERT_TRUE(none.response);
  EXPECT_EQ(none.response->status, 401);
  EXPECT_EQ(none.response->headers.Get("WWW-Authenticate"), "Bearer realm=\"robotni\"");
  auto bad = Filtered(&auth, "GET", "GET /api/worker/types", "Bearer nope");
  EXPECT_EQ(bad.response->status, 401);
  EXPECT_NE(bad.response->headers.Get("WWW-Authenticate").find("invalid_token"), std::string::npos);
  auto basic = Filtered(&auth, "GET", "GET /api/worker/types", "Basic cjpy");
  EXPECT_EQ(basic.response->status, 401);

  EXPECT_TRUE(Filtered(&auth, "GET", "GET /api/worker/types", "Bearer r").passed);
  EXPECT_TRUE(Filtered(&auth, "HEAD", "GET /api/worker/types", "bearer  r ").passed);
  auto post_read = Filtered(&auth, "POST", "POST /api/worker/jobs", "Bearer r");
  EXPECT_FALSE(post_read.passed);
  EXPECT_EQ(post_read.response->status, 403);
  EXPECT_TRUE(Filtered(&auth, "POST", "POST /api/worker/jobs", "Bearer w").passed);
  EXPECT_EQ(Filtered(&auth, "GET", "GET /api/worker/types", "Bearer w").response->status, 403);
  EXPECT_TRUE(Filtered(&auth, "DELETE", "DELETE /api/worker/jobs/{id}", "Bearer rw").passed);
  EXPECT_TRUE(Filtered(&auth, "GET", "GET /api/worker/types", "Bearer rw").passed);
}

TEST(AuthTest, HealthIsOpenMetricsConfigurable) {
  Auth closed;
  ASSERT_TRUE(closed.AddToken("t", kScopeAll).ok());
  EXPECT_TRUE(Filtered(&closed, "GET", "GET /healthz").passed);
  EXPECT_TRUE(Filtered(&closed, "HEAD", "GET /readyz").passed);
  EXPECT_EQ(Filtered(&closed, "GET", "GET /metrics").response->status, 401);
  // Open for reading only.
  EXPECT_EQ(Filtered(&closed, "POST", "POST /healthz").response->status, 401);
  AuthOptions o;
  o.metrics_open = true;
  Auth open(o);
  ASSERT_TRUE(open.AddToken("t", kScopeAll).ok());
  EXPECT_TRUE(Filtered(&open, "GET", "GET /metrics").passed);
}

FilterResult FilteredRequest(Auth* auth, Request req) {
  auto sink = std::make_shared<CaptureSink>();
  FilterResult r;
  r.passed = auth->Filter(req, Responder(sink));
  r.response = sink->got;
  return r;
}

Request MakeRequest(const std::string& route,
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
  Request req;
  req.method = route.substr(0, route.find(' '));
  req.route = route;
  req.path = route.substr(route.find(' ') + 1);
  req.remote_address = "127.0.0.1";
  for (auto& [k, v] : headers) req.headers.Add(k, v);
  return req;
}

TEST(AuthTest, NoAuthPassesWhatAnOwnClientSends) {
  AuthOptions o;
  o.enabled = false;
  Auth auth(o);
  EXPECT_TRUE(FilteredRequest(&auth, MakeRequest("POST /api/worker/jobs",
                                                 {{"Host", "127.0.0.1:8000"},
                                                  {"Content-Type", "application/json"}}))
                  .passed);
  EXPECT_TRUE(
      FilteredRequest(&auth, MakeRequest("GET /metrics", {{"Host", "localhost:8000"}})).passed);
  // The dashboard from the server itself: its own origin, JSON with a charset.
  EXPECT_TRUE(
      FilteredRequest(&auth, MakeRequest("POST /api/worker/queues/{queue}/flush",
                                         {{"Host", "localhost:8000"},
                                          {"Origin", "http://localhost:8000"},
                                          {"Content-Type", "application/json; charset=utf-8"}}))
          .passed);
  EXPECT_TRUE(
      FilteredRequest(&auth, MakeRequest("GET /api/worker/jobs", {{"Host", "[::1]:8000"}})).passed);
  // DELETE carries no body and a browser preflights it cross-origin.
  EXPECT_TRUE(
      FilteredRequest(&auth, MakeRequest("DELETE /api/worker/jobs/{id}", {{"Host", "127.0.0.1"}}))
          .passed);
  // Uploads take multipart on their route only.
  EXPECT_TRUE(
      FilteredRequest(&auth, MakeRequest("POST /api/work-items/{id}/files",
                                         {{"Host", "127.0.0.1"},
                                          {"Content-Type", "multipart/form-data; boundary=x"}}))
          .passed);
  // No route: the router answers 404 / 405 as for anyone.
  Request unmatched = MakeRequest("POST /api/nothing", {{"Host", "127.0.0.1"}});
  unmatched.route.clear();
  EXPECT_TRUE(FilteredRequest(&auth, unmatched).passed);
}

TEST(AuthTest, NoAuthRefusesWhatAForeignPageCanSend) {
  AuthOptions o;
  o.enabled = false;
  Auth auth(o);
  // A form or a fetch without preflight: text/plain, form-urlencoded, no type, multipart.
  for (const char* type : {"text/plain", "application/x-www-form-urlencoded", "",
                           "multipart/form-data; boundary=x", "application/jsonx"}) {
    std::vector<std::pair<std::string, std::string>> h = {{"Host", "127.0.0.1:8000"}};
    if (*type) h.push_back({"Content-Type", type});
    FilterResult r = FilteredRequest(&auth, MakeRequest("POST /api/worker/jobs", h));
    EXPECT_FALSE(r.passed) << type;
    ASSERT_TRUE(r.response) << type;
    EXPECT_EQ(r.response->status, 415) << type;
    EXPECT_NE(r.response->body.find("application/json"), std::string::npos);
  }
  // DNS rebinding: a foreign name resolving to 127.0.0.1; any method.
  for (const char* route : {"GET /api/worker/jobs", "GET /", "GET /healthz"}) {
    FilterResult r = FilteredRequest(&auth, MakeRequest(route, {{"Host", "evil.example:8000"}}));
    EXPECT_FALSE(r.passed) << route;
    ASSERT_TRUE(r.response);
    EXPECT_EQ(r.response->status, 403);
  }
  // Another origin, even one on loopback, or "null".
  for (const char* origin :
       {"http://evil.example", "http://localhost:3000", "null", "https://127.0.0.1:8000"}) {
    FilterResult r = FilteredRequest(
        &auth, MakeRequest("POST /api/worker/jobs", {{"Host", "127.0.0.1:8000"},
                                                     {"Origin", origin},
                                                     {"Content-Type", "application/json"}}));
    EXPECT_FALSE(r.passed) << origin;
    ASSERT_TRUE(r.response);
    EXPECT_EQ(r.response->status, 403) << origin;
  }
}

TEST(AuthTest, WrongTokensAreLimitedPerClientAddress) {
  double now = 100;
  AuthOptions o;
  o.failures_per_minute = 3;
  o.now = [&now] { return now; };
  Auth auth(o);
  ASSERT_TRUE(auth.AddToken("right", kScopeAll).ok());
  auto from = [&](const std::string& address, const std::string& token) {
    Request req = MakeRequest("GET /api/worker/jobs", {{"Authorization", "Bearer " + token}});
    req.remote_address = address;
    return FilteredRequest(&auth, req);
  };
  for (int i = 0; i < 3; ++i) EXPECT_EQ(from("10.0.0.1", "guess").response->status, 401) << i;
  // The burst is spent: 429 with Retry-After, whatever the token (guessing learns nothing).
  FilterResult r = from("10.0.0.1", "guess");
  ASSERT_TRUE(r.response);
  EXPECT_EQ(r.response->status, 429);
  EXPECT_EQ(r.response->headers.Get("Retry-After"), "20");  // one failure refills in 60/3 s
  EXPECT_EQ(from("10.0.0.1", "right").response->status, 429);
  // Another address is not affected, and a right token is never counted.
  EXPECT_TRUE(from("10.0.0.2", "right").passed);
  EXPECT_EQ(from("10.0.0.2", "guess").response->status, 401);
  // Without a token it is a plain 401 (a browser opening the dashboard), not a failure.
  Request bare = MakeRequest("GET /api/worker/jobs");
  bare.remote_address = "10.0.0.3";
  for (int i = 0; i < 10; ++i) EXPECT_EQ(FilteredRequest(&auth, bare).response->status, 401);
  // Time refills the address's bucket.
  now += 20;
  EXPECT_TRUE(from("10.0.0.1", "right").passed);
}

TEST(TokenBucketTest, BurstThenRefillAtRate) {
  TokenBucket b(2, 4);  // 2/s, burst 4
  double retry = 0;
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(b.Take(10.0, &retry)) << i;
  EXPECT_FALSE(b.Take(10.0, &retry));
  EXPECT_DOUBLE_EQ(retry, 0.5);  // one token at 2/s
  EXPECT_FALSE(b.Take(10.25, &retry));
  EXPECT_DOUBLE_EQ(retry, 0.25);
  EXPECT_TRUE(b.Take(10.5, &retry));
  EXPECT_FALSE(b.Take(10.5, &retry));
  // A long pause refills up to the burst only.
  for (int i = 0; i < 4; ++i) EXPECT_TRUE(b.Take(100.0, &retry)) << i;
  EXPECT_FALSE(b.Take(100.0, &retry));
  // Time going backwards does not mint tokens.
  EXPECT_FALSE(b.Take(50.0, &retry));
}

TEST(AuthTest, RateLimitPerTokenWithInjectedClock) {
  double now = 1000;
  AuthOptions o;
  o.rate_limit = 1;  // burst 2
  o.now = [&now] { return now; };
  Auth auth(o);
  ASSERT_TRUE(auth.AddTokens("a\nb", "\n").ok());
  EXPECT_TRUE(Filtered(&auth, "GET", "GET /x", "Bearer a").passed);
  EXPECT_TRUE(Filtered(&auth, "GET", "GET /x", "Bearer a").passed);
  auto limited = Filtered(&auth, "GET", "GET /x", "Bearer a");
  EXPECT_FALSE(limited.passed);
  EXPECT_EQ(limited.response->status, 429);
  EXPECT_EQ(limited.response->headers.Get("Retry-After"), "1");
  // Another token has its own bucket.
  EXPECT_TRUE(Filtered(&auth, "GET", "GET /x", "Bearer b").passed);
  // Unauthenticated requests do not spend a token's budget.
  EXPECT_EQ(Filtered(&auth, "GET", "GET /x").response->status, 401);
  now += 1;
  EXPECT_TRUE(Filtered(&auth, "GET", "GET /x", "Bearer a").passed);
  EXPECT_FALSE(Filtered(&auth, "GET", "GET /x", "Bearer a").passed);
}

// The token of serve's `dashboard: URL/#token=...` line: the first read+write one, else the
// first that reads; never a write-only token.
TEST(AuthTest, SignInTokenIsTheFirstReadWriteTokenElseTheFirstReader) {
  Auth none;
  EXPECT_EQ(none.sign_in_token(), "");
  Auth a;
  ASSERT_TRUE(a.AddTokens("write:w-only\nread:r-first\nread:r-second\nread,write:rw-first\n"
                          "rw-second",
                          "\n")
                  .ok());
  EXPECT_EQ(a.sign_in_token(), "rw-first");
  Auth b;
  ASSERT_TRUE(b.AddTokens("write:w-only\nread:r-first\nread:r-second", "\n").ok());
  EXPECT_EQ(b.sign_in_token(), "r-first");
  Auth c;
  ASSERT_TRUE(c.AddTokens("write:w-only", "\n").ok());
  EXPECT_EQ(c.sign_in_token(), "");
}

}  // namespace
}  // namespace robotni::api
