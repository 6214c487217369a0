#include "http/server.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "core/log.h"
#include "tests/unit/http/test_client.h"

namespace robotni::http {
namespace {

using testing::Client;
using testing::ClientResponse;
using testing::Get;
using testing::Post;
using testing::ServerThread;

// Threads started by handlers; joined before the server stops.
class Workers {
 public:
  ~Workers() { JoinAll(); }
  void Start(std::function<void()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    threads_.emplace_back(std::move(fn));
  }
  void JoinAll() {
    std::vector<std::thread> all;
    {
      std::lock_guard<std::mutex> lock(mu_);
      all.swap(threads_);
    }
    for (auto& t : all) t.join();
  }

 private:
  std::mutex mu_;
  std::vector<std::thread> threads_;
};

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(ServerOptions()); }

  void Start(ServerOptions options) {
    server_.reset();
    server_ = std::make_unique<ServerThread>(MakeRouter(), std::move(options));
    ASSERT_TRUE(server_->listen_status().ok()) << server_->listen_status().message();
    ASSERT_GT(server_->port(), 0);
  }

  void TearDown() override {
    workers_.JoinAll();
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << "uv_loop_close: handles left open";
    }
  }

  Router MakeRouter() {
    Router r;
    auto ok = [](Status s) { EXPECT_TRUE(s.ok()) << s.message(); };
    ok(r.Add("GET /hello",
             [](const Request&, Responder respond) { respond(Response::Text(200, "hello")); }));
    ok(r.Add("POST /echo", [](const Request& req, Responder respond) {
      nlohmann::json body = req.JsonBody();
      if (body.is_discarded()) {
        respond(Response::Error(400, "body is not JSON"));
        return;
      }
      nlohmann::json query = nlohmann::json::object();
      for (const auto& [k, v] : req.query_params) query[k] = v;
      respond(Response::Json(200, {{"got", body}, {"query", query}}));
    }));
    ok(r.Add("GET /api/worker/jobs/{id}", [](const Request& req, Responder respond) {
      respond(Response::Json(200, {{"id", req.Param("id")}, {"route", req.route}}));
    }));
    ok(r.Add("GET /api/worker/jobs/stats", [](const Request&, Responder respond) {
      respond(Response::Json(200, {{"stats", true}}));
    }));
    ok(r.Add("DELETE /api/worker/jobs/{id}",
             [](const Request&, Responder respond) { respond(Response::Empty(204)); }));
    ok(r.Add("GET /etag", [](const Request& req, Responder respond) {
      Response resp = Response::Json(200, {{"items", {1, 2, 3}}});
      ApplyEtag(req, &resp);
      respond(std::move(resp));
    }));
    ok(r.Add("GET /async", [this](const Request& req, Responder respond) {
      std::string who(req.Query("who").value_or("nobody"));
      std::shared_ptr<loop::LoopPoster> poster = server_->server().poster();
      // Work on another thread; the answer comes back through Post.
      workers_.Start([poster, respond = std::move(respond), who]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
        std::string result = "done by worker for " + who;
        poster->Post([respond = std::move(respond), result]() {
          respond(Response::Json(200, {{"result", result}}));
        });
      });
    }));
    ok(r.Add("GET /slow", [this](const Request&, Responder respond) {
      slow_started_ = true;
      std::shared_ptr<loop::LoopPoster> poster = server_->server().poster();
      workers_.Start([poster, respond = std::move(respond)]() mutable {
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        poster->Post([respond = std::move(respond)] { respond(Response::Text(200, "slow")); });
      });
    }));
    ok(r.Add("GET /throw",
             [](const Request&, Responder) -> void { throw std::runtime_error("boom"); }));
    ok(r.Add("GET /drop", [](const Request&, Responder) {}));
    return r;
  }

  int port() { return server_->port(); }

  std::unique_ptr<ServerThread> server_;
  Workers workers_;
  std::atomic<bool> slow_started_{false};
};

TEST_F(HttpServerTest, GetText) {
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Get("/hello"), &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "hello");
  EXPECT_EQ(r.headers.Get("content-type"), "text/plain; charset=utf-8");
  EXPECT_FALSE(r.headers.Get("Date").empty());
  EXPECT_EQ(r.headers.Get("Server"), "robotni");
}

TEST_F(HttpServerTest, PostJsonWithQuery) {
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Post("/echo?a=1&b=x+y%21", R"({"n": 5, "s": "é"})"), &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("Content-Type"), "application/json");
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["got"]["n"], 5);
  EXPECT_EQ(j["got"]["s"], "é");
  EXPECT_EQ(j["query"]["a"], "1");
  EXPECT_EQ(j["query"]["b"], "x y!");
  ASSERT_TRUE(c.RoundTrip(Post("/echo", "{not json"), &r));
  EXPECT_EQ(r.status, 400);
}

TEST_F(HttpServerTest, PathParams) {
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Get("/api/worker/jobs/job%201"), &r));
  EXPECT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["id"], "job 1");
  EXPECT_EQ(j["route"], "GET /api/worker/jobs/{id}");
  ASSERT_TRUE(c.RoundTrip(Get("/api/worker/jobs/stats"), &r));
  EXPECT_EQ(nlohmann::json::parse(r.body)["stats"], true);
  ASSERT_TRUE(c.RoundTrip("DELETE /api/worker/jobs/7 HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  EXPECT_EQ(r.status, 204);
  EXPECT_FALSE(r.headers.Has("Content-Length"));
}

TEST_F(HttpServerTest, NotFoundAndMethodNotAllowed) {
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Get("/nope"), &r));
  EXPECT_EQ(r.status, 404);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["status"], 404);
  ASSERT_TRUE(c.RoundTrip(Post("/hello", "{}"), &r));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.Get("Allow"), "GET, HEAD, OPTIONS");
  ASSERT_TRUE(
      c.RoundTrip("PUT /api/worker/jobs/1 HTTP/1.1\r\nHost: t\r\nContent-Length: 0\r\n\r\n", &r));
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.headers.Get("Allow"), "DELETE, GET, HEAD, OPTIONS");
  ASSERT_TRUE(c.RoundTrip("OPTIONS /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  EXPECT_EQ(r.status, 204);
  EXPECT_EQ(r.headers.Get("Allow"), "GET, HEAD, OPTIONS");
  ASSERT_TRUE(c.RoundTrip("HEAD /hello HTTP/1.1\r\nHost: t\r\n\r\n", &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.headers.Get("Content-Length"), "5");
  ASSERT_TRUE(c.RoundTrip(Get("/hello"), &r));  // the HEAD left no body on the wire
  EXPECT_EQ(r.body, "hello");

  HttpCounters counters = server_->Counters();
  EXPECT_EQ((counters.responses[{"(unmatched)", 404}]), 1u);
  EXPECT_EQ((counters.responses[{"(unmatched)", 405}]), 2u);
  EXPECT_EQ((counters.responses[{"GET /hello", 200}]), 2u);
}

TEST_F(HttpServerTest, KeepAliveReusesOneConnectionFor100Requests) {
  Client c(port());
  for (int i = 0; i < 100; ++i) {
    ClientResponse r;
    ASSERT_TRUE(c.RoundTrip(Get("/api/worker/jobs/" + std::to_string(i)), &r)) << i;
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(nlohmann::json::parse(r.body)["id"], std::to_string(i));
    ASSERT_FALSE(r.headers.Has("Connection"));
  }
  HttpCounters counters = server_->Counters();
  EXPECT_EQ(counters.connections_accepted, 1u);
  EXPECT_EQ(counters.requests, 100u);
  EXPECT_EQ((counters.responses[{"GET /api/worker/jobs/{id}", 200}]), 100u);
}

TEST_F(HttpServerTest, PipelinedRequestsAnswerInOrder) {
  Client c(port());
  std::string batch;
  for (int i = 0; i < 20; ++i) batch += Get("/api/worker/jobs/p" + std::to_string(i));
  batch += Get("/async?who=pipeline");  // an asynchronous one in the middle
  batch += Post("/echo", R"({"last": true})");
  ASSERT_TRUE(c.Send(batch));
  for (int i = 0; i < 20; ++i) {
    ClientResponse r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(nlohmann::json::parse(r.body)["id"], "p" + std::to_string(i));
  }
  ClientResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(nlohmann::json::parse(r.body)["result"], "done by worker for pipeline");
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(nlohmann::json::parse(r.body)["got"]["last"], true);
}

TEST_F(HttpServerTest, RequestSplitByteByByte) {
  Client c(port());
  std::string req = Post("/echo?split=1", R"({"bytes": "one at a time"})");
  for (char ch : req) {
    ASSERT_TRUE(c.Send(std::string(1, ch)));
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ClientResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  auto j = nlohmann::json::parse(r.body);
  EXPECT_EQ(j["got"]["bytes"], "one at a time");
  EXPECT_EQ(j["query"]["split"], "1");
}

TEST_F(HttpServerTest, OversizedHeaderIs431) {
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Get("/hello", "X-Big: " + std::string(32 * 1024, 'a') + "\r\n"), &r));
  EXPECT_EQ(r.status, 431);
  EXPECT_EQ(r.headers.Get("Connection"), "close");
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["status"], 431);
  EXPECT_TRUE(c.ReadEof());
  Client next(port());
  ASSERT_TRUE(next.RoundTrip(Get("/hello"), &r));
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpServerTest, OversizedBodyIs413) {
  ServerOptions options;
  options.limits.max_body_bytes = 1000;
  Start(options);
  {
    Client c(port());
    ClientResponse r;
    // The whole body is sent: the server answers after the headers and drains the rest.
    ASSERT_TRUE(c.Send(Post("/echo", std::string(200 * 1000, 'x'))));
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.status, 413);
    EXPECT_EQ(r.headers.Get("Connection"), "close");
  }
  {
    Client c(port());
    ClientResponse r;
    std::string chunk(600, 'y');
    ASSERT_TRUE(
        c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
               "258\r\n" +
               chunk + "\r\n258\r\n" + chunk + "\r\n0\r\n\r\n"));
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.status, 413);
  }
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Post("/echo", "[1]"), &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(server_->Counters().parse_errors["body_too_large"], 2u);
}

TEST_F(HttpServerTest, MalformedRequestsGet400AndTheServerKeepsServing) {
  struct Case {
    const char* name;
    std::string wire;
    bool half_close = false;
  };
  const std::vector<Case> cases = {
      {"bad method", "FOO / HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"lower-case method", "get / HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"bad version", "GET / HTTP/1.x\r\nHost: t\r\n\r\n"},
      {"bad protocol", "GET / HTXP/1.1\r\nHost: t\r\n\r\n"},
      {"CL and TE",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n"
       "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"},
      {"two content lengths",
       "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1\r\n"
       "Content-Length: 2\r\n\r\nab"},
      {"bad content length", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 1x\r\n\r\n"},
      {"bad chunk size",
       "POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
       "zz\r\nabc\r\n0\r\n\r\n"},
      {"NUL in header", std::string("GET /hello HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n", 41)},
      {"invalid header name", "GET /hello HTTP/1.1\r\nHost: t\r\nBad Name: v\r\n\r\n"},
      {"header name with paren", "GET /hello HTTP/1.1\r\nHost: t\r\nX(A): v\r\n\r\n"},
      {"space before colon", "GET /hello HTTP/1.1\r\nHost : t\r\n\r\n"},
      {"missing host", "GET /hello HTTP/1.1\r\n\r\n"},
      {"two hosts", "GET /hello HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"},
      {"bad escape in path", "GET /hel%zzlo HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"bad target", "GET hello HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"control char in target", "GET /a\x01 HTTP/1.1\r\nHost: t\r\n\r\n"},
      {"garbage", "\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"},
      {"truncated body", "POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc", true},
      {"truncated headers", "GET /hello HTTP/1.1\r\nHost: t\r\n", true},
  };
  for (const Case& tc : cases) {
    SCOPED_TRACE(tc.name);
    Client c(port());
    ASSERT_TRUE(c.connected());
    ASSERT_TRUE(c.Send(tc.wire));
    if (tc.half_close) c.ShutdownWrite();
    ClientResponse r;
    ASSERT_TRUE(c.Read(&r));
    EXPECT_EQ(r.status, 400) << r.body;
    EXPECT_EQ(r.headers.Get("Connection"), "close");
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << r.body;
    EXPECT_EQ(j["error"]["status"], 400);
    EXPECT_FALSE(j["error"]["message"].get<std::string>().empty());
    EXPECT_TRUE(c.ReadEof());
    // The next connection is served normally.
    Client next(port());
    ASSERT_TRUE(next.RoundTrip(Get("/hello"), &r));
    EXPECT_EQ(r.status, 200);
  }
  HttpCounters counters = server_->Counters();
  EXPECT_EQ((counters.responses[{"(malformed)", 400}]), cases.size());
  EXPECT_GE(counters.parse_errors["HPE_INVALID_METHOD"], 1u);
  EXPECT_EQ(counters.parse_errors["truncated"], 2u);
}

TEST_F(HttpServerTest, UnsupportedVersionIs505) {
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip("GET /hello HTTP/2.0\r\nHost: t\r\n\r\n", &r));
  EXPECT_EQ(r.status, 505);
}

TEST_F(HttpServerTest, Http10ClosesUnlessKeepAlive) {
  {
    Client c(port());
    ClientResponse r;
    ASSERT_TRUE(c.RoundTrip("GET /hello HTTP/1.0\r\n\r\n", &r));
    EXPECT_EQ(r.status, 200);
    EXPECT_EQ(r.headers.Get("Connection"), "close");
    EXPECT_TRUE(c.ReadEof());
  }
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r));
  EXPECT_EQ(r.headers.Get("Connection"), "keep-alive");
  ASSERT_TRUE(c.RoundTrip("GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n", &r));
  EXPECT_EQ(r.body, "hello");
}

TEST_F(HttpServerTest, ExpectContinue) {
  Client c(port());
  ASSERT_TRUE(
      c.Send("POST /echo HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\n"
             "Content-Length: 2\r\n\r\n"));
  ClientResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 100);
  ASSERT_TRUE(c.Send("{}"));
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
}

TEST_F(HttpServerTest, EtagGives304) {
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Get("/etag"), &r));
  EXPECT_EQ(r.status, 200);
  std::string etag(r.headers.Get("ETag"));
  ASSERT_FALSE(etag.empty());
  ASSERT_TRUE(c.RoundTrip(Get("/etag", "If-None-Match: " + etag + "\r\n"), &r));
  EXPECT_EQ(r.status, 304);
  EXPECT_TRUE(r.body.empty());
  EXPECT_EQ(r.headers.Get("ETag"), etag);
  ASSERT_TRUE(c.RoundTrip(Get("/etag", "If-None-Match: \"other\", W/" + etag + "\r\n"), &r));
  EXPECT_EQ(r.status, 304);
  ASSERT_TRUE(c.RoundTrip(Get("/etag", "If-None-Match: \"other\"\r\n"), &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_FALSE(r.body.empty());
}

TEST_F(HttpServerTest, AsyncHandlerAnsweredViaPostFromAnotherThread) {
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Get("/async?who=test"), &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(nlohmann::json::parse(r.body)["result"], "done by worker for test");
  ASSERT_TRUE(c.RoundTrip(Get("/hello"), &r));  // the connection is still usable
  EXPECT_EQ(r.body, "hello");
}

TEST_F(HttpServerTest, ThrowingOrSilentHandlerGives500) {
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Get("/throw"), &r));
  EXPECT_EQ(r.status, 500);
  ASSERT_TRUE(c.RoundTrip(Get("/drop"), &r));
  EXPECT_EQ(r.status, 500);
  ASSERT_TRUE(c.RoundTrip(Get("/hello"), &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(server_->Counters().handler_exceptions, 1u);
}

// The transport's low-level errors go through core/log, so a host's sink gets them (they used
// to be printed to stderr directly).
TEST_F(HttpServerTest, TransportErrorsGoToTheLogSink) {
  std::mutex mu;
  std::vector<std::pair<log::Level, std::string>> lines;
  log::SetSink([&](log::Level level, std::string_view line) {
    std::lock_guard<std::mutex> l(mu);
    lines.emplace_back(level, std::string(line));
  });
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Get("/throw"), &r));
  EXPECT_EQ(r.status, 500);
  server_->server().poster()->Post([] { throw std::runtime_error("posted boom"); });
  auto count = [&] {
    std::lock_guard<std::mutex> l(mu);
    return lines.size();
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (count() < 2 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  log::SetSink({});
  std::lock_guard<std::mutex> l(mu);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(lines[0].first, log::Level::kError);
  EXPECT_EQ(lines[0].second, "robotni: http: GET /throw: boom");
  EXPECT_EQ(lines[1].first, log::Level::kError);
  EXPECT_EQ(lines[1].second, "robotni: http: posted function threw: posted boom");
}

TEST_F(HttpServerTest, StopClosesIdleKeepAliveConnections) {
  std::vector<std::unique_ptr<Client>> clients;
  for (int i = 0; i < 10; ++i) {
    clients.push_back(std::make_unique<Client>(port()));
    ClientResponse r;
    ASSERT_TRUE(clients.back()->RoundTrip(Get("/hello"), &r));
  }
  // One more connection that sent half a request.
  Client partial(port());
  ASSERT_TRUE(partial.Send("GET /hello HTTP/1.1\r\n"));
  EXPECT_EQ(server_->Stop(), 0);  // the loop ended by itself and every handle was closed
  for (auto& c : clients) EXPECT_TRUE(c->ReadEof());
  server_.reset();
}

TEST_F(HttpServerTest, StopLetsInFlightResponsesFinish) {
  const int bound_port = port();
  Client c(bound_port);
  ASSERT_TRUE(c.Send(Get("/slow")));
  while (!slow_started_) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread stopper([this] { EXPECT_EQ(server_->Stop(), 0); });
  ClientResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "slow");
  EXPECT_EQ(r.headers.Get("Connection"), "close");
  EXPECT_TRUE(c.ReadEof());
  stopper.join();
  // New connections are refused once the listener is closed.
  Client late(bound_port, 1000);
  EXPECT_FALSE(late.connected());
  workers_.JoinAll();
  server_.reset();
}

TEST_F(HttpServerTest, IdleTimeoutClosesTheConnection) {
  ServerOptions options;
  options.idle_timeout_ms = 100;
  Start(options);
  Client c(port());
  ClientResponse r;
  ASSERT_TRUE(c.RoundTrip(Get("/hello"), &r));
  auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ReadEof());
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
  EXPECT_EQ(server_->Counters().connections_timed_out, 1u);
}

TEST_F(HttpServerTest, ListenOnBusyPortFails) {
  ServerOptions options;
  options.port = port();
  uv_loop_t loop;
  uv_loop_init(&loop);
  {
    HttpServer other(&loop, Router(), options);
    Status s = other.Listen();
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("EADDRINUSE"), std::string::npos) << s.message();
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  EXPECT_EQ(uv_loop_close(&loop), 0);
}

TEST_F(HttpServerTest, ManyConcurrentConnections) {
  constexpr int kConnections = 200;
  constexpr int kRequests = 20;
  std::atomic<int> ok{0};
  std::atomic<int> connected{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kConnections; ++t) {
    threads.emplace_back([&, t] {
      Client c(port(), 30'000);
      if (!c.connected()) return;
      connected++;
      // Hold every connection open at once before the requests start.
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      while (connected.load() < kConnections && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      for (int i = 0; i < kRequests; ++i) {
        std::string id = std::to_string(t) + "-" + std::to_string(i);
        ClientResponse r;
        if (!c.RoundTrip(Get("/api/worker/jobs/" + id), &r) || r.status != 200) return;
        if (nlohmann::json::parse(r.body)["id"] != id) return;
        ok++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(connected.load(), kConnections);
  EXPECT_EQ(ok.load(), kConnections * kRequests);
  HttpCounters counters = server_->Counters();
  EXPECT_EQ(counters.connections_accepted, static_cast<uint64_t>(kConnections));
  EXPECT_EQ(counters.requests, static_cast<uint64_t>(kConnections * kRequests));
}

}  // namespace
}  // namespace robotni::http
