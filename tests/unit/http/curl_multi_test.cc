#include "http/curl_multi.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "tests/support/webhook_receiver.h"

namespace robotni::http {
namespace {

using robotni::testing::ClosedLoopbackPort;
using robotni::testing::WebhookReceiver;

// A loopback socket that accepts connections (the kernel's backlog) and never answers.
class SilentServer {
 public:
  SilentServer() {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    listen(fd_, 16);
    socklen_t len = sizeof(addr);
    getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
  }
  ~SilentServer() { close(fd_); }
  std::string Url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/"; }

 private:
  int fd_ = -1;
  int port_ = 0;
};

class CurlMultiTest : public ::testing::Test {
 public:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    multi_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);  // the close callbacks
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
  }
  CurlMulti& multi() {
    if (!multi_) multi_ = std::make_unique<CurlMulti>(&loop_);
    return *multi_;
  }
  uv_loop_t loop_;
  std::unique_ptr<CurlMulti> multi_;
};

TEST_F(CurlMultiTest, PostReachesTheReceiverAndReportsItsStatus) {
  WebhookReceiver receiver([](int) { return 201; });
  std::vector<HttpClientResult> results;
  HttpClientRequest req;
  req.url = receiver.Url("/in?x=1");
  req.headers = {"Content-Type: application/json", "X-Test: yes"};
  req.body = std::string(5000, 'a');  // over 1 KiB: no Expect: 100-continue wait
  ASSERT_NE(multi().Start(req, [&](HttpClientResult r) { results.push_back(std::move(r)); }), 0u);
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_TRUE(results[0].responded) << results[0].error;
  EXPECT_EQ(results[0].status, 201);
  EXPECT_EQ(results[0].body, "ok");
  auto got = receiver.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].method, "POST");
  EXPECT_EQ(got[0].path, "/in?x=1");
  EXPECT_EQ(got[0].Header("x-test"), "yes");
  EXPECT_EQ(got[0].Header("expect"), "");
  EXPECT_EQ(got[0].body, req.body);
}

TEST_F(CurlMultiTest, ManyTransfersAtOnceAllComplete) {
  WebhookReceiver receiver;
  int done = 0, ok = 0;
  for (int i = 0; i < 20; ++i) {
    HttpClientRequest req;
    req.url = receiver.Url("/n" + std::to_string(i));
    req.body = std::to_string(i);
    multi().Start(req, [&](HttpClientResult r) {
      ++done;
      if (r.responded && r.status == 200) ++ok;
    });
  }
  EXPECT_EQ(multi().active(), 20u);
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(done, 20);
  EXPECT_EQ(ok, 20);
  EXPECT_EQ(receiver.WaitFor(20).size(), 20u);
  EXPECT_EQ(multi().active(), 0u);
}

TEST_F(CurlMultiTest, RefusedConnectionIsAnErrorWithoutStatus) {
  HttpClientRequest req;
  req.url = "http://127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/";
  std::vector<HttpClientResult> results;
  multi().Start(req, [&](HttpClientResult r) { results.push_back(std::move(r)); });
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].responded);
  EXPECT_EQ(results[0].status, 0);
  EXPECT_FALSE(results[0].error.empty());
  EXPECT_FALSE(results[0].timed_out);
}

TEST_F(CurlMultiTest, SilentServerTimesOut) {
  SilentServer silent;
  HttpClientRequest req;
  req.url = silent.Url();
  req.timeout_ms = 200;
  std::vector<HttpClientResult> results;
  multi().Start(req, [&](HttpClientResult r) { results.push_back(std::move(r)); });
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_FALSE(results[0].responded);
  EXPECT_TRUE(results[0].timed_out) << results[0].error;
}

TEST_F(CurlMultiTest, OnlyHttpAndHttpsSchemes) {
  std::vector<HttpClientResult> results;
  for (const char* url : {"file:///etc/passwd", "ftp://127.0.0.1/", "gopher://127.0.0.1/"}) {
    HttpClientRequest req;
    req.url = url;
    req.method = "GET";
    multi().Start(req, [&](HttpClientResult r) { results.push_back(std::move(r)); });
  }
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_EQ(results.size(), 3u);
  for (const auto& r : results) {
    EXPECT_FALSE(r.responded);
    EXPECT_FALSE(r.error.empty());
  }
}

TEST_F(CurlMultiTest, CloseAbortsRunningTransfersAndFreesEveryHandle) {
  SilentServer silent;
  std::vector<HttpClientResult> results;
  HttpClientRequest req;
  req.url = silent.Url();
  req.timeout_ms = 60'000;
  multi().Start(req, [&](HttpClientResult r) { results.push_back(std::move(r)); });
  multi().Start(req, [&](HttpClientResult r) { results.push_back(std::move(r)); });
  // Close from the loop once the connections are up (a few turns in).
  uv_timer_t timer;
  uv_timer_init(&loop_, &timer);
  timer.data = this;
  uv_timer_start(
      &timer,
      [](uv_timer_t* t) {
        static_cast<CurlMultiTest*>(t->data)->multi().Close();
        uv_close(reinterpret_cast<uv_handle_t*>(t), nullptr);
      },
      100, 0);
  uv_run(&loop_, UV_RUN_DEFAULT);
  ASSERT_EQ(results.size(), 2u);
  for (const auto& r : results) EXPECT_TRUE(r.aborted);
  EXPECT_EQ(multi().Start(req, [](HttpClientResult) {}), 0u) << "closed: no new transfers";
}

TEST_F(CurlMultiTest, CancelEndsOneTransferAndItsCompletionRunsOnce) {
  SilentServer silent;
  WebhookReceiver receiver;
  int aborted = 0, answered = 0;
  HttpClientRequest stuck;
  stuck.url = silent.Url();
  stuck.timeout_ms = 60'000;
  uint64_t id = multi().Start(stuck, [&](HttpClientResult r) { aborted += r.aborted; });
  HttpClientRequest fine;
  fine.url = receiver.Url();
  // When the good one answers, cancel the stuck one: the loop then has nothing left.
  multi().Start(fine, [&](HttpClientResult r) {
    answered += r.status == 200;
    multi().Cancel(id);
  });
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_EQ(answered, 1);
  EXPECT_EQ(aborted, 1);
  multi().Cancel(id);  // again: no-op
  EXPECT_EQ(aborted, 1);
}

}  // namespace
}  // namespace robotni::http
