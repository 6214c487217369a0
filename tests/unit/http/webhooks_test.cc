#include "http/webhooks.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/job_webhooks.h"
#include "core/hmac_sha256.h"
#include "tests/support/webhook_receiver.h"

namespace robotni::http {
namespace {

using robotni::testing::ClosedLoopbackPort;
using robotni::testing::ReceivedRequest;
using robotni::testing::WebhookReceiver;

TEST(WebhookPolicyTest, SignatureIsHmacOfTimestampDotBody) {
  // Expected value from Python: hmac.new(b'whsec_test', b'1700000000.{"job_id":"7"}', sha256).
  EXPECT_EQ(WebhookSignature("whsec_test", "1700000000", R"({"job_id":"7"})"),
            "sha256=bb39550982abfd805e5028089c4b717a1415f0c8b5ecc8af01c9825a3c78ab02");
  EXPECT_NE(WebhookSignature("whsec_test", "1700000001", R"({"job_id":"7"})"),
            WebhookSignature("whsec_test", "1700000000", R"({"job_id":"7"})"));
}

TEST(WebhookPolicyTest, ClassifiesResponses) {
  auto status = [](long s) {
    HttpClientResult r;
    r.responded = true;
    r.status = s;
    return ClassifyAttempt(r);
  };
  for (long s : {200, 201, 202, 204, 299}) EXPECT_EQ(status(s), AttemptClass::kDelivered) << s;
  for (long s : {408, 429, 500, 502, 503, 504}) EXPECT_EQ(status(s), AttemptClass::kRetry) << s;
  for (long s : {301, 302, 400, 401, 403, 404, 410, 422})
    EXPECT_EQ(status(s), AttemptClass::kFinal) << s;
  HttpClientResult no_answer;
  no_answer.error = "Connection refused";
  EXPECT_EQ(ClassifyAttempt(no_answer), AttemptClass::kRetry);
  no_answer.timed_out = true;
  EXPECT_EQ(ClassifyAttempt(no_answer), AttemptClass::kRetry);
}

TEST(WebhookPolicyTest, BackoffDoublesIsCappedAndJittered) {
  WebhookOptions o;
  o.base_delay_ms = 1000;
  o.max_delay_ms = 60'000;
  o.jitter = 0.2;
  EXPECT_EQ(RetryDelayMs(o, 1, 0.5), 1000);
  EXPECT_EQ(RetryDelayMs(o, 2, 0.5), 2000);
  EXPECT_EQ(RetryDelayMs(o, 4, 0.5), 8000);
  EXPECT_EQ(RetryDelayMs(o, 7, 0.5), 60'000);    // 64 s capped
  EXPECT_EQ(RetryDelayMs(o, 100, 0.5), 60'000);  // no overflow
  EXPECT_EQ(RetryDelayMs(o, 1, 0.0), 800);
  EXPECT_GE(RetryDelayMs(o, 1, 0.999999), 1199);
  EXPECT_LE(RetryDelayMs(o, 1, 0.999999), 1200);
}

TEST(WebhookPolicyTest, RetryAfterStretchesTheWaitUpToItsCap) {
  WebhookOptions o;  // base 1 s, cap 60 s, Retry-After cap 600 s
  HttpClientResult r;
  r.responded = true;
  r.status = 429;
  EXPECT_EQ(NextAttemptDelayMs(o, r, 1, 0.5), 1000);  // no Retry-After: the backoff
  r.retry_after_ms = 30'000;
  EXPECT_EQ(NextAttemptDelayMs(o, r, 1, 0.5), 30'000);
  EXPECT_EQ(NextAttemptDelayMs(o, r, 7, 0.5), 60'000);  // the backoff is longer
  r.retry_after_ms = 3'600'000;
  EXPECT_EQ(NextAttemptDelayMs(o, r, 1, 0.5), 600'000);  // capped
  r.responded = false;                                   // no response, no header to honour
  EXPECT_EQ(NextAttemptDelayMs(o, r, 1, 0.5), 1000);
}

TEST(WebhookUrlTest, AcceptsHttpAndHttpsOnly) {
  using nlohmann::json;
  EXPECT_EQ(api::ValidateWebhookUrl("http://127.0.0.1:9/hook", "on_complete_url"), "");
  EXPECT_EQ(api::ValidateWebhookUrl("HTTPS://example.com/a?b=c", "on_complete_url"), "");
  for (const char* bad :
       {"ftp://example.com/", "file:///etc/passwd", "example.com/hook", "http://", "http:///path",
        "http://exa mple.com/", "http://u:p@h/", "javascript:alert(1)", "http://:80/"}) {
    std::string why = api::ValidateWebhookUrl(bad, "on_progress_url");
    EXPECT_NE(why, "") << bad;
    EXPECT_EQ(why.rfind("on_progress_url: ", 0), 0u) << why;
  }
  EXPECT_NE(api::ValidateWebhookUrl(json(5), "on_complete_url"), "");
  EXPECT_NE(api::ValidateWebhookUrl("http://h/" + std::string(api::kMaxWebhookUrlBytes, 'a'), "x"),
            "");
}

TEST(WebhookUrlTest, DeliveriesJsonComesFromWebhookTimelineEvents) {
  std::vector<store::TimelineEntry> tl = {
      {1000, "queued", 0, ""},
      {2000, "webhook", 1, R"({"event":"complete","attempt":1,"outcome":"retrying"})"},
      {3000, "progress", 1, "half"},
      {4000, "webhook", 1, R"({"event":"complete","attempt":2,"outcome":"delivered"})"}};
  auto j = api::WebhookDeliveriesJson(tl);
  ASSERT_EQ(j.size(), 2u);
  EXPECT_EQ(j[0]["outcome"], "retrying");
  EXPECT_EQ(j[1]["outcome"], "delivered");
  EXPECT_EQ(j[1]["at"], "1970-01-01T00:00:04.000Z");
  auto urls =
      api::ParseWebhookUrls(R"({"on_complete_url":"http://a/","on_progress_url":"http://b/"})");
  EXPECT_EQ(urls.on_complete, "http://a/");
  EXPECT_EQ(urls.on_progress, "http://b/");
  EXPECT_FALSE(api::ParseWebhookUrls("").any());
  EXPECT_FALSE(api::ParseWebhookUrls("not json").any());
}

// A WebhookSender on a loop of the test's own, with every reported attempt kept.
class WebhookSenderTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(uv_loop_init(&loop_), 0); }
  void TearDown() override {
    sender_.reset();
    uv_run(&loop_, UV_RUN_DEFAULT);
    EXPECT_EQ(uv_loop_close(&loop_), 0) << "handles left open";
  }
  // The receivers listen on 127.0.0.1, which the default policy refuses: opened here unless
  // `keep_policy`.
  WebhookSender& Make(WebhookOptions o, bool keep_policy = false) {
    if (!keep_policy) o.policy = *AddressPolicy::Make({"127.0.0.1"});
    sender_ =
        std::make_unique<WebhookSender>(&loop_, std::move(o), [this](const WebhookAttempt& a) {
          attempts_.push_back(a);
          if (on_attempt_) on_attempt_(a);
        });
    return *sender_;
  }
  // Runs the loop until the sender has settled everything, then shuts it down.
  void RunUntilSettled() {
    uv_idle_t idle;
    uv_idle_init(&loop_, &idle);
    idle.data = this;
    uv_idle_start(&idle, [](uv_idle_t* h) {
      auto* self = static_cast<WebhookSenderTest*>(h->data);
      if (self->sender_->queued() == 0) {
        uv_idle_stop(h);
        uv_close(reinterpret_cast<uv_handle_t*>(h), nullptr);
        self->sender_->Shutdown(0, [self] { self->shut_down_ = true; });
      }
    });
    uv_run(&loop_, UV_RUN_DEFAULT);
  }

  uv_loop_t loop_;
  std::unique_ptr<WebhookSender> sender_;
  std::vector<WebhookAttempt> attempts_;
  std::function<void(const WebhookAttempt&)> on_attempt_;
  bool shut_down_ = false;
};

TEST_F(WebhookSenderTest, SignedDeliveryRetriedAfter500ThenDelivered) {
  WebhookReceiver receiver([](int n) { return n == 0 ? 500 : 200; });
  WebhookOptions o;
  o.secret = "s3cret";
  o.base_delay_ms = 20;
  std::string body = R"({"job_id":"42","status":"done"})";
  std::string id = Make(o).Enqueue({"42", "complete", receiver.Url(), body});
  RunUntilSettled();
  EXPECT_TRUE(shut_down_);

  ASSERT_EQ(attempts_.size(), 2u);
  EXPECT_EQ(attempts_[0].outcome, WebhookOutcome::kRetrying);
  EXPECT_EQ(attempts_[0].http_status, 500);
  EXPECT_EQ(attempts_[0].attempt, 1);
  EXPECT_NE(attempts_[0].error, "");
  EXPECT_EQ(attempts_[1].outcome, WebhookOutcome::kDelivered);
  EXPECT_EQ(attempts_[1].http_status, 200);
  EXPECT_EQ(attempts_[1].attempt, 2);
  EXPECT_EQ(attempts_[1].delivery_id, id);

  auto got = receiver.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  for (size_t i = 0; i < got.size(); ++i) {
    const ReceivedRequest& r = got[i];
    EXPECT_EQ(r.method, "POST");
    EXPECT_EQ(r.body, body);
    EXPECT_EQ(r.Header("content-type"), "application/json");
    EXPECT_EQ(r.Header("x-robotni-event"), "complete");
    EXPECT_EQ(r.Header("x-robotni-job-id"), "42");
    EXPECT_EQ(r.Header("x-robotni-delivery"), id);  // the same for every attempt
    EXPECT_EQ(r.Header("x-robotni-attempt"), std::to_string(i + 1));
    // The receiver's check: HMAC-SHA256(secret, timestamp + "." + body), in hex.
    std::string ts = r.Header("x-robotni-timestamp");
    ASSERT_FALSE(ts.empty());
    EXPECT_EQ(r.Header("x-robotni-signature"),
              "sha256=" + HmacSha256Hex("s3cret", ts + "." + r.body));
    EXPECT_NE(r.Header("x-robotni-signature"),
              "sha256=" + HmacSha256Hex("other", ts + "." + r.body));
  }
}

TEST_F(WebhookSenderTest, RetryAfterOfA429IsHonoured) {
  WebhookReceiver receiver([](int n) { return n == 0 ? 429 : 200; },
                           [](int n) { return n == 0 ? "Retry-After: 1\r\n" : ""; });
  WebhookOptions o;
  o.base_delay_ms = 20;  // without the header the retry would follow after ~20 ms
  Make(o).Enqueue({"7", "complete", receiver.Url(), "{}"});
  auto started = std::chrono::steady_clock::now();
  RunUntilSettled();
  auto took = std::chrono::steady_clock::now() - started;
  ASSERT_EQ(attempts_.size(), 2u);
  EXPECT_EQ(attempts_[0].outcome, WebhookOutcome::kRetrying);
  EXPECT_EQ(attempts_[0].http_status, 429);
  EXPECT_EQ(attempts_[0].retry_in_ms, 1000);
  EXPECT_EQ(attempts_[1].outcome, WebhookOutcome::kDelivered);
  // The second attempt waited for the receiver's second (a correctness bound, not a timing).
  EXPECT_GE(took, std::chrono::milliseconds(1000));
}

TEST_F(WebhookSenderTest, NoSecretNoSignatureHeader) {
  WebhookReceiver receiver;
  Make(WebhookOptions{}).Enqueue({"1", "complete", receiver.Url(), "{}"});
  RunUntilSettled();
  auto got = receiver.WaitFor(1);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].Header("x-robotni-signature"), "");
  EXPECT_NE(got[0].Header("x-robotni-timestamp"), "");
}

TEST_F(WebhookSenderTest, ClientErrorIsFinalAtOnce) {
  WebhookReceiver receiver([](int) { return 404; });
  WebhookOptions o;
  o.base_delay_ms = 10;
  Make(o).Enqueue({"1", "complete", receiver.Url(), "{}"});
  RunUntilSettled();
  ASSERT_EQ(attempts_.size(), 1u);
  EXPECT_EQ(attempts_[0].outcome, WebhookOutcome::kFailed);
  EXPECT_EQ(attempts_[0].http_status, 404);
  EXPECT_EQ(receiver.WaitFor(1).size(), 1u);
}

TEST_F(WebhookSenderTest, UnreachableUrlFailsAfterMaxAttempts) {
  WebhookOptions o;
  o.max_attempts = 3;
  o.base_delay_ms = 10;
  Make(o).Enqueue(
      {"9", "complete", "http://127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/", "{}"});
  RunUntilSettled();
  ASSERT_EQ(attempts_.size(), 3u);
  EXPECT_EQ(attempts_[0].outcome, WebhookOutcome::kRetrying);
  EXPECT_EQ(attempts_[1].outcome, WebhookOutcome::kRetrying);
  EXPECT_EQ(attempts_[2].outcome, WebhookOutcome::kFailed);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(attempts_[i].attempt, i + 1);
    EXPECT_EQ(attempts_[i].http_status, 0);
    EXPECT_EQ(attempts_[i].error, "unreachable");
    EXPECT_NE(attempts_[i].detail, "") << "curl's reason, for the log";
  }
  EXPECT_GT(attempts_[1].retry_in_ms, 0);
}

TEST_F(WebhookSenderTest, ProgressEventsCoalesceWhileOneIsInFlight) {
  WebhookReceiver receiver;
  WebhookOptions o;
  o.max_in_flight = 1;
  auto& s = Make(o);
  // All enqueued in one loop turn: the first starts at once, the rest fold into one.
  for (int i = 1; i <= 5; ++i)
    s.Enqueue({"7", "progress", receiver.Url(), "{\"p\":" + std::to_string(i) + "}"});
  s.Enqueue({"7", "complete", receiver.Url(), "{\"done\":true}"});
  EXPECT_EQ(s.coalesced(), 3u);
  RunUntilSettled();
  auto got = receiver.WaitFor(3);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].body, "{\"p\":1}");
  EXPECT_EQ(got[1].body, "{\"p\":5}");
  EXPECT_EQ(got[2].body, "{\"done\":true}");
  EXPECT_EQ(got[2].Header("x-robotni-event"), "complete");
  for (const auto& a : attempts_) EXPECT_EQ(a.outcome, WebhookOutcome::kDelivered);
}

TEST_F(WebhookSenderTest, ShutdownAttemptsWaitingRetriesOnceThenAbandons) {
  WebhookReceiver receiver([](int) { return 503; });
  WebhookOptions o;
  o.base_delay_ms = 3'600'000;  // the retry would be an hour away
  o.max_delay_ms = 3'600'000;
  auto& s = Make(o);
  s.Enqueue({"3", "complete", receiver.Url(), "{}"});
  on_attempt_ = [this](const WebhookAttempt& a) {
    if (a.outcome == WebhookOutcome::kRetrying)
      sender_->Shutdown(30'000, [this] { shut_down_ = true; });
  };
  uv_run(&loop_, UV_RUN_DEFAULT);
  EXPECT_TRUE(shut_down_);
  ASSERT_EQ(attempts_.size(), 2u);
  EXPECT_EQ(attempts_[0].outcome, WebhookOutcome::kRetrying);
  EXPECT_EQ(attempts_[1].outcome, WebhookOutcome::kAbandoned);
  EXPECT_EQ(attempts_[1].attempt, 2);
  EXPECT_EQ(attempts_[1].http_status, 503);
  EXPECT_EQ(receiver.WaitFor(2).size(), 2u);
}

TEST_F(WebhookSenderTest, ShutdownDeadlineAbortsAttemptsInFlight) {
  // Accepts connections and never answers.
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  listen(fd, 16);
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string url = "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/";
  WebhookOptions o;
  o.timeout_ms = 600'000;
  o.max_in_flight = 1;
  auto& s = Make(o);
  s.Enqueue({"4", "complete", url, "{}"});
  s.Enqueue({"5", "complete", url, "{}"});  // waits behind the first: never started
  s.Shutdown(100, [this] { shut_down_ = true; });
  uv_run(&loop_, UV_RUN_DEFAULT);
  close(fd);
  EXPECT_TRUE(shut_down_);
  ASSERT_EQ(attempts_.size(), 2u);
  for (const auto& a : attempts_) EXPECT_EQ(a.outcome, WebhookOutcome::kAbandoned);
  EXPECT_EQ(attempts_[0].job_id, "4");
  EXPECT_EQ(attempts_[0].attempt, 1);
  EXPECT_EQ(attempts_[1].job_id, "5");
  EXPECT_EQ(attempts_[1].attempt, 0);
}

TEST_F(WebhookSenderTest, DefaultPolicyRefusesLoopbackAtOnceWithoutRetry) {
  WebhookReceiver receiver;
  WebhookOptions o;
  o.max_attempts = 3;
  o.base_delay_ms = 10;
  Make(o, /*keep_policy=*/true).Enqueue({"1", "complete", receiver.Url(), "{}"});
  RunUntilSettled();
  ASSERT_EQ(attempts_.size(), 1u);
  EXPECT_EQ(attempts_[0].outcome, WebhookOutcome::kFailed);
  EXPECT_EQ(attempts_[0].http_status, 0);
  EXPECT_NE(attempts_[0].error.find("refused: the target resolves to a loopback address"),
            std::string::npos)
      << attempts_[0].error;
  EXPECT_TRUE(receiver.requests().empty());
}

TEST_F(WebhookSenderTest, AnswerBodyIsNotPartOfTheRecord) {
  WebhookReceiver receiver([](int) { return 500; }, nullptr,
                           [](int) { return "db password: hunter2"; });
  WebhookOptions o;
  o.max_attempts = 1;
  Make(o).Enqueue({"1", "complete", receiver.Url(), "{}"});
  RunUntilSettled();
  ASSERT_EQ(attempts_.size(), 1u);
  EXPECT_EQ(attempts_[0].error, "HTTP 500");
  EXPECT_EQ(attempts_[0].detail, "");
  EXPECT_GE(attempts_[0].duration_ms, 0);
}

sockaddr_storage Addr(const std::string& ip, int port = 80) {
  sockaddr_storage ss{};
  if (ip.find(':') == std::string::npos) {
    auto* in = reinterpret_cast<sockaddr_in*>(&ss);
    in->sin_family = AF_INET;
    in->sin_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET, ip.c_str(), &in->sin_addr);
  } else {
    auto* in6 = reinterpret_cast<sockaddr_in6*>(&ss);
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons(static_cast<uint16_t>(port));
    inet_pton(AF_INET6, ip.c_str(), &in6->sin6_addr);
  }
  return ss;
}

std::string RangeOf(const std::string& ip) {
  sockaddr_storage ss = Addr(ip);
  return ReservedRangeOf(reinterpret_cast<const sockaddr*>(&ss));
}

TEST(AddressPolicyTest, ReservedRanges) {
  struct Case {
    const char* ip;
    const char* kind;
  };
  for (const Case& c : {Case{"127.0.0.1", "loopback"},
                        Case{"127.255.0.9", "loopback"},
                        Case{"::1", "loopback"},
                        Case{"::ffff:127.0.0.1", "loopback"},
                        Case{"64:ff9b::7f00:1", "loopback"},
                        Case{"169.254.169.254", "link-local"},
                        Case{"fe80::1", "link-local"},
                        Case{"10.0.0.1", "private"},
                        Case{"172.16.0.1", "private"},
                        Case{"172.31.255.255", "private"},
                        Case{"192.168.0.1", "private"},
                        Case{"fd12:3456::1", "private"},
                        Case{"fc00::1", "private"},
                        Case{"100.64.0.1", "shared"},
                        Case{"100.127.255.255", "shared"},
                        Case{"0.0.0.0", "unspecified"},
                        Case{"::", "unspecified"},
                        Case{"224.0.0.1", "multicast"},
                        Case{"ff02::1", "multicast"},
                        Case{"255.255.255.255", "broadcast"},
                        Case{"::ffff:10.1.1.1", "private"},
                        Case{"8.8.8.8", ""},
                        Case{"172.32.0.1", ""},
                        Case{"100.128.0.1", ""},
                        Case{"169.255.0.1", ""},
                        Case{"2606:4700::1111", ""},
                        Case{"::ffff:93.184.216.34", ""}})
    EXPECT_EQ(RangeOf(c.ip), c.kind) << c.ip;
}

TEST(AddressPolicyTest, AllowlistOpensHostsAddressesAndRanges) {
  auto p = AddressPolicy::Make({"127.0.0.1", "10.0.0.0/8", "fd00::/8", "Hooks.Internal"});
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  auto check = [&](const std::string& ip, const std::string& host = "x.example") {
    sockaddr_storage ss = Addr(ip);
    return p->Check(reinterpret_cast<const sockaddr*>(&ss), host);
  };
  EXPECT_EQ(check("127.0.0.1"), "");
  EXPECT_EQ(check("::ffff:127.0.0.1"), "") << "the IPv4 inside is what is judged";
  EXPECT_NE(check("127.0.0.2"), "");
  EXPECT_NE(check("::1"), "");
  EXPECT_EQ(check("10.200.3.4"), "");
  EXPECT_NE(check("192.168.1.1"), "");
  EXPECT_EQ(check("fd00::5"), "");
  EXPECT_EQ(check("192.168.1.1", "hooks.internal"), "") << "allowed by name";
  EXPECT_EQ(check("8.8.8.8"), "") << "public addresses need no allowlist";
  AddressPolicy none;
  sockaddr_storage lo = Addr("127.0.0.1");
  EXPECT_NE(none.Check(reinterpret_cast<const sockaddr*>(&lo), "localhost"), "");
}

TEST(AddressPolicyTest, OwnPortOnALocalAddressIsRefusedEvenWhenAllowed) {
  auto p = AddressPolicy::Make({"127.0.0.0/8", "localhost"});
  ASSERT_TRUE(p.ok());
  p->set_self_port(8000);
  sockaddr_storage own = Addr("127.0.0.1", 8000);
  sockaddr_storage other_port = Addr("127.0.0.1", 8001);
  sockaddr_storage any = Addr("0.0.0.0", 8000);
  EXPECT_NE(p->Check(reinterpret_cast<const sockaddr*>(&own), "localhost").find("own address"),
            std::string::npos);
  EXPECT_NE(p->Check(reinterpret_cast<const sockaddr*>(&any), "x").find("own address"),
            std::string::npos);
  EXPECT_EQ(p->Check(reinterpret_cast<const sockaddr*>(&other_port), "localhost"), "");
}

TEST(AddressPolicyTest, BadEntriesAreRefusedByName) {
  for (const char* bad : {"10.0.0.0/33", "::1/129", "10.0.0.0/x", "a b", "http://x/", ""}) {
    auto p = AddressPolicy::Make({bad});
    if (std::string(bad).empty()) {
      EXPECT_TRUE(p.ok()) << "an empty entry is skipped";
      continue;
    }
    ASSERT_FALSE(p.ok()) << bad;
    EXPECT_NE(p.status().message().find(std::string("'") + bad + "'"), std::string::npos)
        << p.status().message();
  }
}

TEST(AddressPolicyTest, UrlHost) {
  EXPECT_EQ(UrlHost("http://Example.COM:8080/x?y"), "example.com");
  EXPECT_EQ(UrlHost("https://[::1]:9/"), "::1");
  EXPECT_EQ(UrlHost("http://user@host/"), "host");
  EXPECT_EQ(UrlHost("http://2130706433/"), "2130706433");
}

}  // namespace
}  // namespace robotni::http
