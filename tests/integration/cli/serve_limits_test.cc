// `robotni serve` under hostile input (issue 12): JSON nested past the limit in every JSON
// route, results past the store's limits, numbers out of range, list limits, and a job
// cancelled while it runs when serve stops. A real server on 127.0.0.1, a real client.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

constexpr const char* kToken = "serve-limits-test-token-0123456789abcdef";

std::string Arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

class ServeLimitsTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(); }
  void TearDown() override { Stop(); }
  void Start() {
    fs::path robot = FixtureDir("jobs_limits");
    std::vector<std::string> args = {"serve",       "-r",      (robot / "robot.yaml").string(),
                                     "--jobs",      "jobs.py", "--listen",
                                     "127.0.0.1:0", "--store", (dir_.path() / "wi.db").string(),
                                     "--grace",     "1"};
    RunOptions opts;
    opts.env["ROBOTNI_TOKENS"] = kToken;
    server_ = std::make_unique<Process>(args, opts);
    ASSERT_TRUE(server_->WaitForOutput("serving on", 30)) << "server did not start";
    port_ = ServingPort(*server_);
  }
  RunResult Stop() {
    if (!server_) return {};
    server_->Kill(SIGTERM);
    RunResult r = server_->Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
    server_.reset();
    return r;
  }
  HttpReply Get(const std::string& path) { return SendHttp(port_, "GET", path, "", kToken); }
  HttpReply Post(const std::string& path, const std::string& body) {
    return SendHttp(port_, "POST", path, body, kToken);
  }
  json Wait(const std::string& id, double timeout = 30) {
    return Get("/api/worker/jobs/" + id + "/wait?timeout=" + std::to_string(timeout)).body;
  }
  std::string Submit(const std::string& body) {
    HttpReply r = Post("/api/worker/jobs", body);
    EXPECT_EQ(r.status, 202) << r.raw;
    return r.body.value("job_id", "");
  }
  // The 400 answer's message, after checking it is a 400.
  std::string Refused(const HttpReply& r) {
    EXPECT_EQ(r.status, 400) << r.raw;
    return r.body.is_object() ? r.body["error"].value("message", "") : r.raw;
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

// Issue 12 point 1: 70,000 nested arrays (~140 KB) in a job's params overflowed serve's
// stack. Every JSON route refuses JSON nested past 128 levels with a 400 naming the limit,
// and serve keeps answering; up to the limit is accepted and runs.
TEST_F(ServeLimitsTest, DeeplyNestedBodiesAreRefusedNamingTheLimit) {
  const std::string deep = Arrays(70000);
  const std::string too_deep = "body is nested deeper than 128 levels (the limit)";
  EXPECT_EQ(Refused(Post("/api/worker/jobs", R"({"type":"echo","params":{"a":)" + deep + "}}")),
            too_deep);
  EXPECT_EQ(Refused(Post("/api/worker/jobs/batch",
                         R"({"jobs":[{"type":"echo","params":{"a":)" + deep + "}}]}")),
            too_deep);
  EXPECT_EQ(Refused(Post("/api/work-items", R"({"payload":{"a":)" + deep + "}}")), too_deep);
  // Unfinished text that is already too deep: the same answer.
  EXPECT_EQ(Refused(Post("/api/worker/jobs", std::string(70000, '['))), too_deep);
  ASSERT_EQ(Get("/healthz").status, 200) << "serve died";

  // {"type", "params": {"a": 126 arrays}}: 128 levels, accepted and run.
  std::string id = Submit(R"({"type":"echo","params":{"a":)" + Arrays(126) + "}}");
  json done = Wait(id);
  EXPECT_EQ(done["status"], "done") << done.dump();
  EXPECT_EQ(
      Refused(Post("/api/worker/jobs", R"({"type":"echo","params":{"a":)" + Arrays(127) + "}}")),
      too_deep);
}

// Issue 12 point 7: a result over the limit was refused with a debug line, and the job ran
// again at each lease expiry until it failed "lease expired" minutes later. Now it fails at
// once, on its first attempt, saying why; so does a result nested past the limit.
TEST_F(ServeLimitsTest, ResultPastTheLimitFailsTheJobAtOnce) {
  std::string big = Submit(R"({"type":"big","params":{}})");
  std::string deep = Submit(R"({"type":"deep","params":{"depth":500}})");
  json b = Wait(big);
  EXPECT_EQ(b["status"], "failed") << b.dump();
  EXPECT_EQ(b["attempts"], 1);
  EXPECT_EQ(b["error"]["code"], "OUTCOME_REFUSED");
  EXPECT_NE(b["error"]["message"].get<std::string>().find("the limit is 1048576"),
            std::string::npos)
      << b.dump();
  json d = Wait(deep);
  EXPECT_EQ(d["status"], "failed") << d.dump();
  EXPECT_EQ(d["attempts"], 1);
  EXPECT_NE(d["error"]["message"].get<std::string>().find("nested deeper than 128 levels"),
            std::string::npos)
      << d.dump();
  // A result under the limit still lands.
  json ok = Wait(Submit(R"({"type":"big","params":{"size":1000}})"));
  EXPECT_EQ(ok["status"], "done");
  EXPECT_EQ(ok["result"].get<std::string>().size(), 1000u);
}

// Issue 12 point 10: numbers were coerced silently (delay_seconds 1e300 ran at once, a huge
// priority was stored as -1, max_attempts 4294967297 became 1). Each is a 400 naming the
// field and its range; query numbers too.
TEST_F(ServeLimitsTest, NumbersOutOfRangeAre400sNamingTheField) {
  auto job = [&](const std::string& extra) {
    return Refused(Post("/api/worker/jobs", R"({"type":"echo","params":{},)" + extra + "}"));
  };
  EXPECT_EQ(job(R"("delay_seconds":1e300)"),
            "delay_seconds: expected a number from 0 to 315360000 (10 years)");
  EXPECT_EQ(job(R"("delay_seconds":-1)"),
            "delay_seconds: expected a number from 0 to 315360000 (10 years)");
  EXPECT_EQ(job(R"("priority":1099511627776)"),
            "priority: expected an integer from -2147483648 to 2147483647");
  EXPECT_EQ(job(R"("priority":18446744073709551615)"),
            "priority: expected an integer from -2147483648 to 2147483647");
  EXPECT_EQ(job(R"("priority":1.5)"),
            "priority: expected an integer from -2147483648 to "
            "2147483647");
  EXPECT_EQ(job(R"("max_attempts":4294967297)"),
            "max_attempts: expected an integer from 1 to 1000");
  EXPECT_EQ(job(R"("max_attempts":0)"), "max_attempts: expected an integer from 1 to 1000");
  EXPECT_EQ(job(R"("run_at":"9999-01-01T00:00:00Z")"), "run_at: at most 10 years ahead");
  std::string batch = Refused(
      Post("/api/worker/jobs/batch", R"([{"type":"echo"},{"type":"echo","priority":1e300}])"));
  EXPECT_EQ(batch, "jobs[1]: priority: expected an integer from -2147483648 to 2147483647");

  // In range: kept exactly.
  json j = Wait(Submit(R"({"type":"echo","priority":-2147483648,"max_attempts":1000})"));
  EXPECT_EQ(j["priority"], -2147483648LL);
  EXPECT_EQ(j["max_attempts"], 1000);

  EXPECT_EQ(Refused(Get("/api/worker/queues/echo/pending?limit=1001")),
            "limit: expected an integer from 1 to 1000");
  EXPECT_EQ(Refused(Get("/api/worker/queues/echo/scheduled?limit=99999999999")),
            "limit: expected an integer from 1 to 1000");
  EXPECT_EQ(Refused(Get("/api/work-items?limit=10001")),
            "limit: expected an integer from 1 to 10000");
  EXPECT_EQ(Refused(Get("/api/worker/jobs?limit=1001")),
            "limit: expected an integer from 1 to 1000");
  EXPECT_EQ(Refused(Get("/api/worker/jobs?offset=99999999999")),
            "offset: expected an integer from 0 to 2147483647");
}

// The pending and scheduled listings filter by schedule in SQL, under `limit`.
TEST_F(ServeLimitsTest, PendingAndScheduledListingsHonourLimit) {
  for (int i = 0; i < 12; ++i)
    ASSERT_EQ(Post("/api/work-items", R"({"queue_name":"idle","payload":{}})").status, 200);
  json pending = Get("/api/worker/queues/idle/pending?limit=5").body;
  EXPECT_EQ(pending["count"], 5);
  EXPECT_EQ(Get("/api/worker/queues/idle/scheduled").body["count"], 0);
  for (int i = 0; i < 3; ++i) Submit(R"({"type":"echo","delay_seconds":3600})");
  json scheduled = Get("/api/worker/queues/echo/scheduled?limit=2").body;
  EXPECT_EQ(scheduled["count"], 2);
  EXPECT_EQ(scheduled["scheduled"][0]["status"], "queued");
  EXPECT_EQ(Get("/api/worker/queues/echo/pending").body["count"], 0);
}

// Issue 12 point 10: a job cancelled while it ran and given back when serve stopped stayed
// queued for ever (reserve skips cancel-requested items). It ends CANCELLED.
TEST_F(ServeLimitsTest, JobCancelledWhileRunningEndsCancelledAtShutdown) {
  std::string id = Submit(R"({"type":"long","params":{"seconds":120}})");
  for (int i = 0; i < 300 && Get("/api/worker/jobs/" + id).body["status"] != "running"; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  ASSERT_EQ(Get("/api/worker/jobs/" + id).body["status"], "running");
  HttpReply cancel = SendHttp(port_, "DELETE", "/api/worker/jobs/" + id, "", kToken);
  ASSERT_EQ(cancel.status, 200) << cancel.raw;
  EXPECT_EQ(cancel.body["cancel_requested"], true);
  Stop();
  Start();
  json j = Get("/api/worker/jobs/" + id).body;
  EXPECT_EQ(j["status"], "cancelled") << j.dump();
}

}  // namespace
}  // namespace robotni::testing
