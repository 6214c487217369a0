// `robotni serve` webhooks end to end: a receiver on 127.0.0.1 in this test gets the signed
// POSTs; the job's JSON shows every delivery attempt. Loopback is refused by default, so most
// tests open 127.0.0.1 with webhooks.allow; ServeWebhookPolicyTest runs with the defaults.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>

#include "core/hmac_sha256.h"
#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/webhook_receiver.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

constexpr char kSecret[] = "whsec-test-7f3a";

// What a receiver does: HMAC-SHA256(secret, timestamp + "." + raw body), compared in hex.
bool SignatureValid(const ReceivedRequest& r) {
  std::string ts = r.Header("x-robotni-timestamp");
  return !ts.empty() &&
         r.Header("x-robotni-signature") == "sha256=" + HmacSha256Hex(kSecret, ts + "." + r.body);
}

class ServeWebhooksTest : public ::testing::Test {
 protected:
  // The webhooks: map of serve.yaml, after the secret.
  virtual std::string WebhookSettings() const {
    return "  max_attempts: 3\n"
           "  timeout_seconds: 5\n"
           "  allow: [127.0.0.1, localhost]\n";
  }
  void SetUp() override {
    std::ofstream(dir_.path() / "serve.yaml") << "webhooks:\n  secret: " << kSecret << "\n"
                                              << WebhookSettings();
    std::vector<std::string> args = ServeExampleArgs(
        db(), {"--grace", "1", "--config", (dir_.path() / "serve.yaml").string(), "--no-auth"});
    server_ = std::make_unique<Process>(args, RunOptions{});
    ASSERT_TRUE(server_->WaitForOutput("serving on", 30)) << "server did not start";
    port_ = ServingPort(*server_);
  }
  std::string db() const { return (dir_.path() / "wi.db").string(); }

  std::string Submit(const json& job) {
    auto r = SendHttp(port_, "POST", "/api/worker/jobs", job.dump());
    EXPECT_EQ(r.status, 202) << r.raw;
    return r.body.value("job_id", "");
  }

  // Polls GET /api/worker/jobs/{id} until `done(job)` holds (or about 60 s passed).
  json PollJob(const std::string& id, const std::function<bool(const json&)>& done) {
    json last;
    for (int i = 0; i < 1200; ++i) {
      auto r = SendHttp(port_, "GET", "/api/worker/jobs/" + id);
      last = r.body;
      if (r.status == 200 && done(r.body)) return r.body;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ADD_FAILURE() << "job " << id << " never got there: " << last.dump();
    return last;
  }
  static bool Settled(const json& job) {
    if (!job.contains("webhooks")) return false;
    for (const auto& w : job["webhooks"])
      if (w["outcome"] != "retrying") return true;
    return false;
  }

  void StopServer() {
    server_->Kill(SIGTERM);
    RunResult r = server_->Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

TEST_F(ServeWebhooksTest, SignedCompletionIsRetriedAfter500ThenDelivered) {
  WebhookReceiver receiver([](int n) { return n == 0 ? 500 : 200; });
  std::string id = Submit({{"type", "add"},
                           {"params", {{"x", 2}, {"y", 40}}},
                           {"on_complete_url", receiver.Url("/done")}});
  ASSERT_FALSE(id.empty());
  auto got = receiver.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].method, "POST");
    EXPECT_EQ(got[i].path, "/done");
    EXPECT_TRUE(SignatureValid(got[i])) << got[i].Header("x-robotni-signature");
    EXPECT_EQ(got[i].Header("x-robotni-event"), "complete");
    EXPECT_EQ(got[i].Header("x-robotni-job-id"), id);
    EXPECT_EQ(got[i].Header("x-robotni-attempt"), std::to_string(i + 1));
    json body = json::parse(got[i].body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << got[i].body;
    EXPECT_EQ(body["job_id"], id);
    EXPECT_EQ(body["status"], "done");
    EXPECT_EQ(body["result"], 42);
    EXPECT_EQ(body["event"], "complete");
  }
  EXPECT_EQ(got[0].Header("x-robotni-delivery"), got[1].Header("x-robotni-delivery"));
  // A tampered body does not verify.
  ReceivedRequest tampered = got[1];
  tampered.body.replace(tampered.body.find("42"), 2, "43");
  EXPECT_FALSE(SignatureValid(tampered));

  json job = PollJob(id, Settled);
  EXPECT_EQ(job["on_complete_url"], receiver.Url("/done"));
  ASSERT_EQ(job["webhooks"].size(), 2u) << job.dump();
  const json& first = job["webhooks"][0];
  const json& second = job["webhooks"][1];
  EXPECT_EQ(first["event"], "complete");
  EXPECT_EQ(first["outcome"], "retrying");
  EXPECT_EQ(first["attempt"], 1);
  EXPECT_EQ(first["http_status"], 500);
  EXPECT_TRUE(first["error"].is_string());
  EXPECT_EQ(second["outcome"], "delivered");
  EXPECT_EQ(second["attempt"], 2);
  EXPECT_EQ(second["http_status"], 200);
  EXPECT_TRUE(second["error"].is_null());
  EXPECT_EQ(second["url"], receiver.Url("/done"));
  EXPECT_EQ(second["delivery_id"], got[0].Header("x-robotni-delivery"));
  StopServer();
}

TEST_F(ServeWebhooksTest, UnreachableUrlIsRecordedFailedAfterMaxAttempts) {
  std::string url = "http://127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/hook";
  std::string id =
      Submit({{"type", "add"}, {"params", {{"x", 1}, {"y", 1}}}, {"on_complete_url", url}});
  json job = PollJob(id, Settled);
  EXPECT_EQ(job["status"], "done") << "a webhook failure does not change the job";
  ASSERT_EQ(job["webhooks"].size(), 3u) << job.dump();
  for (int i = 0; i < 3; ++i) {
    const json& w = job["webhooks"][i];
    EXPECT_EQ(w["attempt"], i + 1);
    EXPECT_EQ(w["outcome"], i < 2 ? "retrying" : "failed");
    EXPECT_TRUE(w["http_status"].is_null());
    EXPECT_EQ(w["error"], "unreachable") << "no connection detail in the job's record";
  }
  StopServer();
}

TEST_F(ServeWebhooksTest, InvalidUrlsAreRefusedAtSubmit) {
  auto post = [&](const json& body, const std::string& path = "/api/worker/jobs") {
    return SendHttp(port_, "POST", path, body.dump());
  };
  json add = {{"type", "add"}, {"params", {{"x", 1}, {"y", 2}}}};
  struct Case {
    const char* field;
    json value;
  };
  for (const Case& c :
       {Case{"on_complete_url", "ftp://127.0.0.1/x"}, Case{"on_complete_url", "not a url"},
        Case{"on_progress_url", 5}, Case{"on_progress_url", "file:///etc/passwd"},
        Case{"on_complete_url", "http://" + std::string(3000, 'a') + "/"}}) {
    json job = add;
    job[c.field] = c.value;
    auto r = post(job);
    EXPECT_EQ(r.status, 400) << c.value.dump().substr(0, 60);
    std::string msg = r.body["error"].value("message", "");
    EXPECT_EQ(msg.rfind(std::string(c.field) + ": ", 0), 0u) << msg;
  }
  json good = add;
  good["on_complete_url"] = "https://example.invalid/hook";
  json bad = add;
  bad["on_progress_url"] = "gopher://x/";
  auto batch = post({{"jobs", {good, bad}}}, "/api/worker/jobs/batch");
  EXPECT_EQ(batch.status, 400);
  EXPECT_EQ(batch.body["error"]["index"], 1);
  EXPECT_EQ(batch.body["error"].value("message", "").rfind("jobs[1]: on_progress_url: ", 0), 0u)
      << batch.raw;
  StopServer();
}

TEST_F(ServeWebhooksTest, ProgressAndCompletionBothArrive) {
  WebhookReceiver receiver;
  // fakejob with delay_seconds 1 reports progress once, then finishes.
  std::string id = Submit({{"type", "fakejob"},
                           {"params", {{"delay_seconds", 1}}},
                           {"on_progress_url", receiver.Url("/progress")},
                           {"on_complete_url", receiver.Url("/complete")}});
  auto got = receiver.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  const ReceivedRequest* progress = nullptr;
  const ReceivedRequest* complete = nullptr;
  for (const auto& r : got) (r.path == "/progress" ? progress : complete) = &r;
  ASSERT_TRUE(progress && complete);
  EXPECT_EQ(progress->Header("x-robotni-event"), "progress");
  EXPECT_TRUE(SignatureValid(*progress));
  json p = json::parse(progress->body, nullptr, false);
  EXPECT_EQ(p["job_id"], id);
  EXPECT_EQ(p["status"], "running");
  EXPECT_EQ(p["progress"]["message"], "waited 0 of 1 s");
  json c = json::parse(complete->body, nullptr, false);
  EXPECT_EQ(c["status"], "done");
  EXPECT_EQ(c["result"]["waited"], 1);
  json job = PollJob(
      id, [](const json& j) { return j.contains("webhooks") && j["webhooks"].size() == 2; });
  for (const auto& w : job["webhooks"]) EXPECT_EQ(w["outcome"], "delivered") << w.dump();
  StopServer();
}

TEST_F(ServeWebhooksTest, SigtermStillAttemptsAWaitingRetryAndRecordsIt) {
  WebhookReceiver receiver([](int n) { return n == 0 ? 503 : 204; });
  std::string id = Submit(
      {{"type", "add"}, {"params", {{"x", 1}, {"y", 2}}}, {"on_complete_url", receiver.Url()}});
  ASSERT_EQ(receiver.WaitFor(1).size(), 1u);
  // The retry waits about a second; SIGTERM skips the wait: it is attempted within the grace.
  StopServer();
  EXPECT_EQ(receiver.WaitFor(2).size(), 2u);
  RunResult show = RunRobotni({"items", "show", id, "--store", db(), "--json"});
  ASSERT_EQ(show.exit_code, 0) << show;
  json item = json::parse(show.out, nullptr, false);
  std::vector<std::string> outcomes;
  for (const auto& e : item["timeline"])
    if (e["event"] == "webhook")
      outcomes.push_back(json::parse(e["message"].get<std::string>())["outcome"]);
  EXPECT_EQ(outcomes, (std::vector<std::string>{"retrying", "delivered"})) << show.out;
}

TEST_F(ServeWebhooksTest, SighupSwapsTheSecretAndWaitShowsTheDeliveries) {
  WebhookReceiver receiver;
  std::string first = Submit(
      {{"type", "add"}, {"params", {{"x", 1}, {"y", 1}}}, {"on_complete_url", receiver.Url()}});
  ASSERT_EQ(receiver.WaitFor(1).size(), 1u);
  EXPECT_TRUE(SignatureValid(receiver.requests()[0]));

  // A new secret and one attempt per delivery, applied by a reload without a restart.
  const std::string next_secret = "whsec-rotated-91c2";
  std::ofstream(dir_.path() / "serve.yaml")
      << "webhooks:\n  secret: " << next_secret << "\n  max_attempts: 1\n  allow: [127.0.0.1]\n";
  server_->Kill(SIGHUP);
  ASSERT_TRUE(server_->WaitForOutput("reload finished", 60)) << server_->output();
  EXPECT_EQ(server_->output().err.find("webhooks changed"), std::string::npos) << server_->output();

  std::string second = Submit(
      {{"type", "add"}, {"params", {{"x", 2}, {"y", 2}}}, {"on_complete_url", receiver.Url()}});
  auto got = receiver.WaitFor(2);
  ASSERT_EQ(got.size(), 2u);
  std::string ts = got[1].Header("x-robotni-timestamp");
  EXPECT_FALSE(SignatureValid(got[1])) << "still signed with the old secret";
  EXPECT_EQ(got[1].Header("x-robotni-signature"),
            "sha256=" + HmacSha256Hex(next_secret, ts + "." + got[1].body));

  // /wait answers with the job's JSON, webhook deliveries included.
  PollJob(second, Settled);
  auto waited = SendHttp(port_, "GET", "/api/worker/jobs/" + second + "/wait?timeout=5");
  ASSERT_EQ(waited.status, 200) << waited.raw;
  ASSERT_EQ(waited.body["webhooks"].size(), 1u) << waited.raw;
  EXPECT_EQ(waited.body["webhooks"][0]["outcome"], "delivered");
  StopServer();
}

TEST_F(ServeWebhooksTest, ReceiverRetryAfterIsRecordedAsTheWait) {
  WebhookReceiver receiver([](int n) { return n == 0 ? 429 : 200; },
                           [](int n) { return n == 0 ? "Retry-After: 2\r\n" : ""; });
  std::string id = Submit(
      {{"type", "add"}, {"params", {{"x", 3}, {"y", 4}}}, {"on_complete_url", receiver.Url()}});
  json job = PollJob(id, [](const json& j) {
    return j.contains("webhooks") && j["webhooks"].size() == 2 &&
           j["webhooks"][1]["outcome"] != "retrying";
  });
  ASSERT_EQ(job["webhooks"].size(), 2u) << job.dump();
  EXPECT_EQ(job["webhooks"][0]["http_status"], 429);
  EXPECT_EQ(job["webhooks"][0]["retry_in_ms"], 2000) << "the receiver asked for 2 s";
  EXPECT_EQ(job["webhooks"][1]["outcome"], "delivered");
  StopServer();
}

// The case: a completion webhook into serve's own API made 12,411 jobs in 6 s. Serve's
// own address is refused even where loopback is allowed (here 127.0.0.1 and localhost).
TEST_F(ServeWebhooksTest, WebhookIntoServesOwnApiIsRefused) {
  for (std::string host : {"127.0.0.1", "localhost"}) {
    std::string id = Submit(
        {{"type", "add"},
         {"params", {{"x", 1}, {"y", 1}}},
         {"on_complete_url", "http://" + host + ":" + std::to_string(port_) + "/api/worker/jobs"}});
    json job = PollJob(id, Settled);
    ASSERT_EQ(job["webhooks"].size(), 1u) << job.dump();
    EXPECT_EQ(job["webhooks"][0]["outcome"], "failed");
    EXPECT_NE(job["webhooks"][0]["error"].get<std::string>().find("this server's own address"),
              std::string::npos)
        << job.dump();
  }
  RunResult list = RunRobotni({"items", "list", "--store", db(), "--json"});
  ASSERT_EQ(list.exit_code, 0) << list;
  json listed = json::parse(list.out, nullptr, false);
  ASSERT_TRUE(listed.is_object() && listed["items"].is_array()) << list.out;
  const json& items = listed["items"];
  EXPECT_EQ(items.size(), 2u) << "the webhooks made jobs: " << list.out.substr(0, 400);
  StopServer();
}

TEST_F(ServeWebhooksTest, RedirectsAreNotFollowed) {
  WebhookReceiver elsewhere;
  WebhookReceiver receiver([](int) { return 302; },
                           [&](int) { return "Location: " + elsewhere.Url("/moved") + "\r\n"; });
  std::string id = Submit(
      {{"type", "add"}, {"params", {{"x", 1}, {"y", 1}}}, {"on_complete_url", receiver.Url()}});
  json job = PollJob(id, Settled);
  ASSERT_EQ(job["webhooks"].size(), 1u) << job.dump();
  EXPECT_EQ(job["webhooks"][0]["outcome"], "failed") << "a 3xx is final";
  EXPECT_EQ(job["webhooks"][0]["http_status"], 302);
  EXPECT_EQ(receiver.requests().size(), 1u);
  EXPECT_TRUE(elsewhere.requests().empty()) << "the redirect was followed";
  StopServer();
}

// An internal service's answer must not become readable to whoever submitted the job: only
// the status and the attempt's duration are recorded.
TEST_F(ServeWebhooksTest, AnswerBodiesAreNotStored) {
  const std::string secret = "internal-secret-5f1e9a";
  WebhookReceiver receiver([](int) { return 403; }, nullptr,
                           [&](int) { return "{\"token\": \"" + secret + "\"}"; });
  std::string id = Submit(
      {{"type", "add"}, {"params", {{"x", 1}, {"y", 1}}}, {"on_complete_url", receiver.Url()}});
  json job = PollJob(id, Settled);
  ASSERT_EQ(job["webhooks"].size(), 1u) << job.dump();
  const json& w = job["webhooks"][0];
  EXPECT_EQ(w["http_status"], 403);
  EXPECT_EQ(w["error"], "HTTP 403");
  EXPECT_TRUE(w["duration_ms"].is_number_integer()) << w.dump();
  EXPECT_EQ(job.dump().find(secret), std::string::npos) << job.dump();
  RunResult show = RunRobotni({"items", "show", id, "--store", db(), "--json"});
  EXPECT_EQ(show.out.find(secret), std::string::npos) << "stored on the timeline: " << show.out;
  StopServer();
}

// Serve with the default webhook settings: no allowlist.
class ServeWebhookPolicyTest : public ServeWebhooksTest {
 protected:
  std::string WebhookSettings() const override {
    return "  max_attempts: 3\n"
           "  timeout_seconds: 2\n";
  }
};

// Loopback, link-local (cloud metadata), private, shared and unspecified targets are refused
// at connect time, whatever the URL spells: a decimal or IPv4-in-IPv6 address and a name that
// resolves to loopback are refused as 127.0.0.1 is. Refusals are final (no retry) and nothing
// reaches the receiver.
TEST_F(ServeWebhookPolicyTest, PrivateTargetsAreRefusedByDefault) {
  WebhookReceiver receiver;
  std::string p = std::to_string(receiver.port());
  struct Case {
    std::string url, kind;
  };
  std::vector<Case> cases = {
      {receiver.Url(), "loopback"},
      {"http://localhost:" + p + "/hook", "loopback"},
      {"http://2130706433:" + p + "/hook", "loopback"},
      {"http://[::ffff:127.0.0.1]:" + p + "/hook", "loopback"},
      {"http://[::1]:" + p + "/hook", "loopback"},
      {"http://0.0.0.0:" + p + "/hook", "unspecified"},
      {"http://169.254.169.254/latest/meta-data/", "link-local"},
      {"http://[fe80::1]/hook", "link-local"},
      {"http://10.1.2.3/hook", "private"},
      {"http://172.16.0.1/hook", "private"},
      {"http://192.168.1.1/hook", "private"},
      {"http://[fd00::1]/hook", "private"},
      {"http://100.64.0.1/hook", "shared"},
  };
  std::vector<std::string> ids;
  for (const Case& c : cases)
    ids.push_back(
        Submit({{"type", "add"}, {"params", {{"x", 1}, {"y", 1}}}, {"on_complete_url", c.url}}));
  for (size_t i = 0; i < cases.size(); ++i) {
    json job = PollJob(ids[i], Settled);
    ASSERT_EQ(job["webhooks"].size(), 1u) << cases[i].url << ": " << job.dump();
    const json& w = job["webhooks"][0];
    EXPECT_EQ(w["outcome"], "failed") << cases[i].url;
    EXPECT_EQ(w["attempt"], 1) << cases[i].url;
    std::string error = w["error"].is_string() ? w["error"].get<std::string>() : "";
    EXPECT_NE(error.find("refused: the target resolves to a " + cases[i].kind + " address"),
              std::string::npos)
        << cases[i].url << ": " << error;
  }
  EXPECT_TRUE(receiver.requests().empty()) << "a refused webhook reached the receiver";
  StopServer();
}

TEST_F(ServeWebhookPolicyTest, BadAllowEntryIsRefusedAtStart) {
  // An answer means the loop runs, with its SIGTERM handler installed.
  EXPECT_EQ(SendHttp(port_, "GET", "/healthz").status, 200);
  StopServer();
  std::ofstream(dir_.path() / "bad.yaml") << "webhooks:\n  allow: [10.0.0.0/33]\n";
  RunResult r = RunRobotni(
      ServeExampleArgs(db(), {"--no-auth", "--config", (dir_.path() / "bad.yaml").string()}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("webhooks.allow: '10.0.0.0/33'"), std::string::npos) << r;
  r = RunRobotni(ServeExampleArgs(db(), {"--no-auth", "--webhook-allow", "not a host"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("'not a host' is not a host name"), std::string::npos) << r;
}

// Allowed by --webhook-allow; one quick attempt each.
class ServeWebhookUnreachableTest : public ServeWebhooksTest {
 protected:
  std::string WebhookSettings() const override {
    return "  max_attempts: 1\n"
           "  timeout_seconds: 1\n"
           "  allow: [127.0.0.0/8]\n";
  }
};

// A closed port and a port that accepts but never answers look the same in the job's record
// ("unreachable"): the records cannot be used to scan ports.
TEST_F(ServeWebhookUnreachableTest, RefusedAndTimedOutAreBothUnreachable) {
  int silent = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(bind(silent, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(silent, 16), 0);  // the kernel completes handshakes; nobody answers
  socklen_t len = sizeof(addr);
  getsockname(silent, reinterpret_cast<sockaddr*>(&addr), &len);
  std::string closed_id = Submit(
      {{"type", "add"},
       {"params", {{"x", 1}, {"y", 1}}},
       {"on_complete_url", "http://127.0.0.1:" + std::to_string(ClosedLoopbackPort()) + "/hook"}});
  std::string silent_id = Submit(
      {{"type", "add"},
       {"params", {{"x", 1}, {"y", 1}}},
       {"on_complete_url", "http://127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/hook"}});
  json closed = PollJob(closed_id, Settled);
  json quiet = PollJob(silent_id, Settled);
  close(silent);
  ASSERT_EQ(closed["webhooks"].size(), 1u) << closed.dump();
  ASSERT_EQ(quiet["webhooks"].size(), 1u) << quiet.dump();
  EXPECT_EQ(closed["webhooks"][0]["error"], "unreachable") << closed.dump();
  EXPECT_EQ(quiet["webhooks"][0]["error"], "unreachable") << quiet.dump();
  StopServer();
}

}  // namespace
}  // namespace robotni::testing
