// HttpServer under hostile clients: answers a peer does not read, bodies that never end,
// requests that trickle in, one address taking every connection, and a token checked before
// the body. Each is asserted by mechanism (counters, reading paused, 408, refused
// connections), never by wall time.

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "http/server.h"
#include "tests/unit/http/test_client.h"

namespace robotni::http {
namespace {

using testing::Client;
using testing::ClientResponse;
using testing::Get;
using testing::ServerThread;

constexpr size_t kBigBody = 64 * 1024;

// Polls `done` (on the test thread) until it holds; false after 20 s (a hang guard only).
bool WaitFor(const std::function<bool()>& done) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < until) {
    if (done()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return done();
}

Router MakeRouter(bool with_token_filter = false) {
  Router r;
  auto ok = [](Status s) { EXPECT_TRUE(s.ok()) << s.message(); };
  ok(r.Add("GET /hello",
           [](const Request&, Responder respond) { respond(Response::Text(200, "hello")); }));
  ok(r.Add("GET /big", [](const Request&, Responder respond) {
    respond(Response::Text(200, std::string(kBigBody, 'x')));
  }));
  ok(r.Add("POST /sink", [](const Request& req, Responder respond) {
    respond(Response::Text(200, std::to_string(req.body.size())));
  }));
  ok(r.Add("GET /peer", [](const Request& req, Responder respond) {
    respond(Response::Text(200, req.remote_address));
  }));
  if (with_token_filter) {
    r.SetFilter([](const Request& req, const Responder& respond) {
      if (req.Header("Authorization") == "Bearer good") return true;
      respond(Response::Error(401, "a bearer token is required"));
      return false;
    });
  }
  return r;
}

class ServerLimitsTest : public ::testing::Test {
 protected:
  void Start(ServerOptions options, bool with_token_filter = false) {
    server_ = std::make_unique<ServerThread>(MakeRouter(with_token_filter), std::move(options));
    ASSERT_TRUE(server_->listen_status().ok()) << server_->listen_status().message();
  }
  void TearDown() override {
    if (server_) {
      EXPECT_EQ(server_->Stop(), 0) << "uv_loop_close: handles left open";
    }
  }
  int port() { return server_->port(); }
  HttpCounters Counters() { return server_->Counters(); }

  std::unique_ptr<ServerThread> server_;
};

TEST_F(ServerLimitsTest, PipeliningWithoutReadingStopsAtTheUnsentBound) {
  ServerOptions o;
  o.max_unsent_bytes = 256 * 1024;
  Start(o);
  constexpr int kRequests = 2000;  // 2000 x 64 KiB answers: 128 MiB if nothing stopped them
  std::string burst;
  for (int i = 0; i < kRequests; ++i) burst += Get("/big");
  Client c(port(), 30'000);
  ASSERT_TRUE(c.connected());
  ASSERT_TRUE(c.Send(burst));
  // The server stops reading and parsing once its answers pile up unread.
  ASSERT_TRUE(WaitFor([&] { return Counters().reads_paused_output > 0; }));
  HttpCounters paused = Counters();
  EXPECT_LT(paused.requests, static_cast<uint64_t>(kRequests));
  // Never more queued than the bound plus the one answer that crossed it.
  EXPECT_LE(paused.unsent_bytes_max, o.max_unsent_bytes + kBigBody + 1024);
  // Reading the answers lets it go on: every request is answered, in order.
  for (int i = 0; i < kRequests; ++i) {
    ClientResponse r;
    ASSERT_TRUE(c.Read(&r)) << "response " << i;
    ASSERT_EQ(r.status, 200);
    ASSERT_EQ(r.body.size(), kBigBody);
  }
  HttpCounters after = Counters();
  EXPECT_EQ(after.requests, static_cast<uint64_t>(kRequests));
  EXPECT_LE(after.unsent_bytes_max, o.max_unsent_bytes + kBigBody + 1024);
}

TEST_F(ServerLimitsTest, UnreadAnswersAreFreedWhenThePeerLeaves) {
  ServerOptions o;
  o.max_unsent_bytes = 256 * 1024;
  Start(o);
  std::string burst;
  for (int i = 0; i < 500; ++i) burst += Get("/big");
  {
    Client c(port());
    ASSERT_TRUE(c.Send(burst));
    ASSERT_TRUE(WaitFor([&] { return Counters().reads_paused_output > 0; }));
    EXPECT_GT(Counters().unsent_bytes, 0u);
  }  // closed without reading
  ASSERT_TRUE(WaitFor([&] { return Counters().connections_active == 0; }));
  HttpCounters c = Counters();
  EXPECT_EQ(c.unsent_bytes, 0u);
  EXPECT_EQ(c.request_bytes, 0u);
  ASSERT_TRUE(WaitFor([&] { return Counters().memory_trims > 0; }));
}

TEST_F(ServerLimitsTest, BodiesInProgressShareOneBudget) {
  ServerOptions o;
  o.max_request_bytes = 512 * 1024;
  o.limits.max_body_bytes = 4 * 1024 * 1024;
  o.request_timeout_ms = 1'000;  // how waiting bodies end (their peers are not read meanwhile)
  Start(o);
  // Ten clients announce 1 MiB bodies; each sends 200 KiB of it and stops.
  std::vector<std::unique_ptr<Client>> clients;
  std::string head =
      "POST /sink HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
      "Content-Length: 1048576\r\n\r\n";
  for (int i = 0; i < 10; ++i) {
    clients.push_back(std::make_unique<Client>(port()));
    ASSERT_TRUE(clients.back()->Send(head));
  }
  ASSERT_TRUE(WaitFor([&] { return Counters().bytes_read >= 10 * head.size(); }));
  for (auto& c : clients) ASSERT_TRUE(c->Send(std::string(200 * 1024, 'a')));
  ASSERT_TRUE(WaitFor([&] { return Counters().reads_paused_budget > 0; }));
  // The budget holds whatever the clients send.
  EXPECT_LE(Counters().request_bytes_max, o.max_request_bytes);
  // A request without a body still gets through at once.
  Client other(port());
  ClientResponse r;
  ASSERT_TRUE(other.RoundTrip(Get("/hello"), &r));
  EXPECT_EQ(r.status, 200);
  // The waiting bodies end at their deadline (408) and their bytes are released.
  ASSERT_TRUE(clients[0]->Read(&r));
  EXPECT_EQ(r.status, 408);
  ASSERT_TRUE(WaitFor([&] { return Counters().requests_timed_out == 10; }));
  ASSERT_TRUE(WaitFor([&] { return Counters().request_bytes == 0; }));
  EXPECT_LE(Counters().request_bytes_max, o.max_request_bytes);
}

TEST_F(ServerLimitsTest, AWaitingBodyGoesOnWhenTheBudgetFrees) {
  ServerOptions o;
  o.max_request_bytes = 256 * 1024;
  // POST /hold keeps its 200 KiB body in flight until the test answers it.
  Router r = MakeRouter();
  auto held = std::make_shared<std::optional<Responder>>();
  ASSERT_TRUE(r.Add("POST /hold", [held](const Request&, Responder respond) {
                 *held = std::move(respond);
               }).ok());
  server_ = std::make_unique<ServerThread>(std::move(r), o);
  ASSERT_TRUE(server_->listen_status().ok());
  std::string big(200 * 1024, 'a');
  Client hog(port());
  ASSERT_TRUE(hog.Send("POST /hold HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                       std::to_string(big.size()) + "\r\n\r\n" + big));
  ASSERT_TRUE(WaitFor([&] { return server_->OnLoop([&] { return held->has_value(); }); }));
  Client next(port());
  std::string body(100 * 1024, 'b');
  ASSERT_TRUE(next.Send("POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: " +
                        std::to_string(body.size()) + "\r\n\r\n" + body));
  ASSERT_TRUE(WaitFor([&] { return Counters().reads_paused_budget > 0; }));
  // The held request is answered: its body is released and the waiting one goes on.
  server_->OnLoop([&] {
    (**held)(Response::Text(200, "done"));
    held->reset();
    return 0;
  });
  ClientResponse resp;
  ASSERT_TRUE(hog.Read(&resp));
  EXPECT_EQ(resp.status, 200);
  ASSERT_TRUE(next.Read(&resp));
  EXPECT_EQ(resp.status, 200);
  EXPECT_EQ(resp.body, std::to_string(body.size()));
}

TEST_F(ServerLimitsTest, TokenIsCheckedBeforeTheBody) {
  Start(ServerOptions(), /*with_token_filter=*/true);
  // Headers announcing a 1 MiB body, and no body: the 401 comes at once.
  Client c(port(), 5'000);
  std::string head =
      "POST /sink HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
      "Content-Length: 1048576\r\n\r\n";
  ASSERT_TRUE(c.Send(head));
  ClientResponse r;
  ASSERT_TRUE(c.Read(&r)) << "no answer before the body";
  EXPECT_EQ(r.status, 401);
  EXPECT_EQ(r.headers.Get("Connection"), "close");
  EXPECT_EQ(Counters().requests_refused, 1u);
  // Expect: 100-continue gets the refusal, not a 100.
  Client e(port(), 5'000);
  ASSERT_TRUE(e.Send(
      "POST /sink HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 1048576\r\n\r\n"));
  ASSERT_TRUE(e.Read(&r));
  EXPECT_EQ(r.status, 401);
  // The right token gets the body read and the handler run.
  Client ok(port());
  ASSERT_TRUE(
      ok.RoundTrip("POST /sink HTTP/1.1\r\nHost: t\r\nAuthorization: Bearer "
                   "good\r\nContent-Length: 3\r\n\r\nabc",
                   &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "3");
  EXPECT_LE(Counters().request_bytes_max, 64u * 1024);
}

TEST_F(ServerLimitsTest, ARefusedClientThatKeepsSendingIsClosedSoon) {
  Start(ServerOptions(), /*with_token_filter=*/true);
  Client c(port(), 5'000);
  ASSERT_TRUE(c.Send("POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n"));
  ClientResponse r;
  ASSERT_TRUE(c.Read(&r));
  EXPECT_EQ(r.status, 401);
  (void)c.Send(std::string(1024 * 1024, 'a'));  // fails once the server has closed
  ASSERT_TRUE(WaitFor([&] { return Counters().connections_active == 0; }));
  // Not the whole megabyte read and thrown away.
  EXPECT_LT(Counters().bytes_read, 512u * 1024);
}

TEST_F(ServerLimitsTest, HeadersTricklingInGet408AtTheHeaderDeadline) {
  ServerOptions o;
  o.header_timeout_ms = 300;
  o.idle_timeout_ms = 300;  // before: restarted by each byte, so it never fired
  Start(o);
  Client c(port());
  ASSERT_TRUE(c.Send("GET /hello HTTP/1.1\r\nHost: t\r\n"));
  std::thread trickle([&] {
    // One header byte every 50 ms for up to 10 s, until the server closes.
    for (int i = 0; i < 200; ++i) {
      if (!c.Send("X")) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  ClientResponse r;
  bool got = c.Read(&r);
  ::shutdown(c.fd(), SHUT_RDWR);
  trickle.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(r.status, 408);
  EXPECT_NE(r.body.find("header_timeout"), std::string::npos) << r.body;
  EXPECT_EQ(Counters().requests_timed_out, 1u);
}

TEST_F(ServerLimitsTest, ABodyTricklingInGets408AtTheRequestDeadline) {
  ServerOptions o;
  o.request_timeout_ms = 400;
  Start(o);
  Client c(port());
  ASSERT_TRUE(c.Send("POST /sink HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"));
  std::thread trickle([&] {
    for (int i = 0; i < 200; ++i) {
      if (!c.Send("a")) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  ClientResponse r;
  bool got = c.Read(&r);
  ::shutdown(c.fd(), SHUT_RDWR);
  trickle.join();
  ASSERT_TRUE(got);
  EXPECT_EQ(r.status, 408);
  EXPECT_NE(r.body.find("request_timeout"), std::string::npos) << r.body;
}

TEST_F(ServerLimitsTest, OneAddressCannotTakeEveryConnection) {
  ServerOptions o;
  o.max_connections_per_client = 3;
  Start(o);
  std::vector<std::unique_ptr<Client>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<Client>(port(), 5'000, "127.0.0.1"));
    ASSERT_TRUE(held.back()->Send("GET /hello HTTP/1.1\r\n"));  // half-sent
  }
  ASSERT_TRUE(WaitFor([&] { return Counters().connections_active == 3; }));
  Client fourth(port(), 5'000, "127.0.0.1");
  EXPECT_TRUE(fourth.ReadEof());
  EXPECT_EQ(Counters().connections_rejected_per_client, 1u);
  // Another address is served.
  Client other(port(), 5'000, "127.0.0.2");
  ClientResponse r;
  ASSERT_TRUE(other.RoundTrip(Get("/peer"), &r));
  EXPECT_EQ(r.status, 200);
  EXPECT_EQ(r.body, "127.0.0.2");
  // A slot freed is a slot for the same address again.
  held.pop_back();
  ASSERT_TRUE(WaitFor([&] { return Counters().connections_active == 3; }));
  Client again(port(), 5'000, "127.0.0.1");
  ASSERT_TRUE(again.RoundTrip(Get("/hello"), &r));
  EXPECT_EQ(r.status, 200);
}

}  // namespace
}  // namespace robotni::http
