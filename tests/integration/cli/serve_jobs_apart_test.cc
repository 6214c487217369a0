// `robotni serve` over a store the example robot filled first (issue #16): jobs and a robot's
// work items share the store and its ids, but the job API answers for jobs only. A real
// `robotni run` of Producer -> Consumer -> Reporter, then a real server on 127.0.0.1 probed by
// a real client (POSIX sockets), on each store backend (SQLite, PostgreSQL).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

constexpr const char* kToken = "serve-jobs-apart-test-token-0123456789abcdef";

class ServeJobsApartTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.ok()) << store_.error(); }
  // The repository's example robot in tmp.
  fs::path ExampleRobot() { return CopyExampleRobot(dir_.path() / "example"); }
  void Serve() {
    fs::path jobs = FixtureDir("jobs_http");
    RunOptions opts;
    opts.env["ROBOTNI_TOKENS"] = kToken;
    server_ = std::make_unique<Process>(
        std::vector<std::string>{"serve", "-r", (jobs / "robot.yaml").string(), "--jobs", "jobs.py",
                                 "--listen", "127.0.0.1:0", "--store", store_.url(), "--grace",
                                 "1"},
        opts);
    ASSERT_TRUE(server_->WaitForOutput("serving on", 30)) << "server did not start";
    port_ = ServingPort(*server_);
  }
  void TearDown() override {
    if (!server_) return;
    server_->Kill(SIGTERM);
    RunResult r = server_->Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
  }
  HttpReply Call(const std::string& method, const std::string& path, const std::string& body = "") {
    return SendHttp(port_, method, path, body, kToken);
  }
  std::set<std::string> JobIds(const std::string& query = "") {
    auto r = Call("GET", "/api/worker/jobs?limit=1000" + query);
    EXPECT_EQ(r.status, 200) << r.raw;
    std::set<std::string> ids;
    for (const auto& j : r.body.value("jobs", json::array())) ids.insert(j["job_id"]);
    return ids;
  }

  TempDir dir_;
  TestStore store_{GetParam(), dir_.path()};
  std::unique_ptr<Process> server_;
  int port_ = 0;
};

ROBOTNI_STORE_BACKENDS(ServeJobsApartTest);

TEST_P(ServeJobsApartTest, JobRoutesNeverAnswerWithARobotsWorkItem) {
  // scripts/run-example.sh's run, into the store serve then opens: item 1 is the Producer's.
  fs::path root = ExampleRobot();
  RunResult run =
      RunRobotni({"run", "-r", (root / "robot.yaml").string(), "-t", "Producer", "-t", "Consumer",
                  "-t", "Reporter", "--input", "devdata/work-items-in/orders/work-items.json",
                  "--store", store_.url()},
                 {.cwd = root, .timeout_seconds = 180});
  ASSERT_EQ(run.exit_code, 0) << run;
  ASSERT_NO_FATAL_FAILURE(Serve());

  auto item = Call("GET", "/api/work-items/1");
  ASSERT_EQ(item.status, 200) << item.raw;
  EXPECT_EQ(item.body["queue_name"], "producer") << item.raw;

  // Every job route: 404 "no job 1", pointing at the work item; nothing changed by the writes.
  for (auto [method, path] : std::vector<std::pair<std::string, std::string>>{
           {"GET", "/api/worker/jobs/1"},
           {"GET", "/api/worker/jobs/1/wait?timeout=0"},
           {"GET", "/api/worker/jobs/1/log"},
           {"GET", "/api/worker/jobs/1/timeline"},
           {"POST", "/api/worker/jobs/1/retry"},
           {"POST", "/api/worker/jobs/1/revoke"},
           {"DELETE", "/api/worker/jobs/1"}}) {
    auto r = Call(method, path);
    EXPECT_EQ(r.status, 404) << method << " " << path << ": " << r.raw;
    EXPECT_NE(r.raw.find("no job 1"), std::string::npos) << method << " " << path;
    EXPECT_NE(r.raw.find("/api/work-items/1"), std::string::npos) << method << " " << path;
  }
  // A consumer item that failed (a rejected order) is not retried through the job API either.
  auto failed = Call("GET", "/api/work-items?queue_name=consumer&state=FAILED&limit=1");
  ASSERT_EQ(failed.status, 200) << failed.raw;
  ASSERT_EQ(failed.body["items"].size(), 1u) << failed.raw;
  std::string failed_id = failed.body["items"][0]["id"];
  EXPECT_EQ(Call("POST", "/api/worker/jobs/" + failed_id + "/retry").status, 404);
  EXPECT_EQ(Call("GET", "/api/work-items/" + failed_id).body["state"], "FAILED");
  EXPECT_EQ(Call("GET", "/api/work-items/1").body["state"], "DONE");

  // The job list holds no robot item.
  EXPECT_TRUE(JobIds().empty());
  EXPECT_TRUE(JobIds("&type=consumer").empty());

  // A submitted job is found, listed, and runs; the work items stay listed where they were.
  auto sub = Call("POST", "/api/worker/jobs", R"({"type":"add","params":{"x":2,"y":40}})");
  ASSERT_EQ(sub.status, 202) << sub.raw;
  std::string id = sub.body["job_id"];
  EXPECT_NE(id, "1");
  auto done = Call("GET", "/api/worker/jobs/" + id + "/wait?timeout=30");
  ASSERT_EQ(done.status, 200) << done.raw;
  EXPECT_EQ(done.body["status"], "done") << done.raw;
  EXPECT_EQ(done.body["result"], 42) << done.raw;
  EXPECT_EQ(Call("GET", "/api/worker/jobs/" + id).status, 200);
  EXPECT_EQ(Call("GET", "/api/worker/jobs/" + id + "/timeline").status, 200);
  EXPECT_EQ(JobIds(), (std::set<std::string>{id}));
  auto all = Call("GET", "/api/work-items?limit=10000");
  ASSERT_EQ(all.status, 200) << all.raw;
  EXPECT_EQ(all.body["total"], 62) << "61 robot items and the job";  // 1 + 30 + 30 + 1
}

}  // namespace
}  // namespace robotni::testing
