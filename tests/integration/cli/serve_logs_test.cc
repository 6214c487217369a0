// serve's log, end to end on 127.0.0.1: an info line per finished job (id, type, outcome,
// duration), --access-log's line per request, progress lines while draining at shutdown, and
// the `type` label on the job metrics.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;
using ::testing::Not;

const char kJobs[] = R"(import time
from robotni import BusinessError, job

@job("quick")
def quick():
    return 1

@job("nap")
def nap(seconds):
    time.sleep(seconds)
    return seconds

@job("broken")
def broken():
    raise BusinessError("refused on purpose", "NOPE")
)";

// The JSON log lines of `text` whose event is `event`.
std::vector<json> Events(const std::string& text, const std::string& event) {
  std::vector<json> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    json j = json::parse(line, nullptr, false);
    if (j.is_object() && j.value("event", "") == event) out.push_back(j);
  }
  return out;
}

class ServeLogs : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra) {
    WriteFile(tmp_ / "robot" / "robot.yaml",
              "tasks:\n  A:\n    shell: python -c pass\nartifactsDir: output\njobs: [jobs.py]\n");
    WriteFile(tmp_ / "robot" / "jobs.py", kJobs);
    std::vector<std::string> args = {"serve",
                                     "-r",
                                     (tmp_ / "robot" / "robot.yaml").string(),
                                     "--no-auth",
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--public-metrics",
                                     "--workers",
                                     "2"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<Process>(args, RunOptions{});
    ASSERT_TRUE(server_->WaitForOutput("serving on", 60)) << server_->output();
    port_ = ServingPort(*server_);
  }
  std::string Submit(const std::string& body) {
    auto r = SendHttp(port_, "POST", "/api/worker/jobs", body);
    EXPECT_EQ(r.status, 202) << r.body.dump();
    return r.body.value("job_id", "");
  }
  json Wait(const std::string& id) {
    return SendHttp(port_, "GET", "/api/worker/jobs/" + id + "/wait?timeout=30").body;
  }

  TempDir tmp_;
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

TEST_F(ServeLogs, EachFinishedJobIsAnInfoLineWithItsTypeOutcomeAndDuration) {
  Start({"--log-format", "json"});
  std::string done = Submit(R"({"type":"quick"})");
  std::string failed = Submit(R"({"type":"broken"})");
  EXPECT_EQ(Wait(done)["status"], "done");
  EXPECT_EQ(Wait(failed)["status"], "failed");
  ASSERT_TRUE(server_->WaitForOutput("\"job_id\":\"" + failed + "\"", 30)) << server_->output();
  server_->Kill(SIGTERM);
  RunResult r = server_->Wait();
  auto lines = Events(r.err, "job_finished");
  ASSERT_EQ(lines.size(), 2u) << r.err;
  std::map<std::string, json> by_id;
  for (const auto& l : lines) by_id[l["job_id"]] = l;
  EXPECT_EQ(by_id[done]["level"], "info") << r.err;
  EXPECT_EQ(by_id[done]["type"], "quick");
  EXPECT_EQ(by_id[done]["outcome"], "done");
  EXPECT_TRUE(by_id[done]["duration_seconds"].is_number()) << by_id[done].dump();
  EXPECT_THAT(by_id[done]["msg"].get<std::string>(),
              HasSubstr("job " + done + " (quick) done in "));
  EXPECT_EQ(by_id[failed]["level"], "warn");
  EXPECT_EQ(by_id[failed]["outcome"], "failed");
  EXPECT_EQ(by_id[failed]["error_code"], "NOPE");
}

TEST_F(ServeLogs, AccessLogHasALinePerRequest) {
  Start({"--access-log"});
  EXPECT_EQ(SendHttp(port_, "GET", "/healthz").status, 200);
  EXPECT_EQ(SendHttp(port_, "GET", "/api/worker/jobs/999999").status, 404);
  ASSERT_TRUE(server_->WaitForOutput("\"GET /api/worker/jobs/999999\" 404 ", 30))
      << server_->output();
  server_->Kill(SIGTERM);
  RunResult r = server_->Wait();
  // `CLIENT "METHOD TARGET" STATUS BYTES B DURATION ms`, in serve's log on stderr.
  EXPECT_THAT(r.err, ::testing::ContainsRegex("robotni: 127\\.0\\.0\\.1 \"GET /healthz\" 200 "
                                              "[0-9]+ B [0-9]+ ms"))
      << r.err;
  EXPECT_THAT(r.out, Not(HasSubstr("GET /healthz"))) << r;
}

TEST_F(ServeLogs, AccessLogInJsonHasTheFieldsAndIsOffByDefault) {
  Start({"--access-log", "--log-format", "json"});
  EXPECT_EQ(SendHttp(port_, "GET", "/healthz").status, 200);
  ASSERT_TRUE(server_->WaitForOutput("\"http_request\"", 30)) << server_->output();
  server_->Kill(SIGTERM);
  RunResult r = server_->Wait();
  auto lines = Events(r.err, "http_request");
  ASSERT_FALSE(lines.empty()) << r.err;
  const json& l = lines.front();
  EXPECT_EQ(l["method"], "GET");
  EXPECT_EQ(l["path"], "/healthz");
  EXPECT_EQ(l["status"], 200);
  EXPECT_GT(l["bytes"].get<int>(), 0);
  EXPECT_TRUE(l["duration_ms"].is_number());

  Start({"--log-format", "json"});  // without the flag: none
  EXPECT_EQ(SendHttp(port_, "GET", "/healthz").status, 200);
  server_->Kill(SIGTERM);
  RunResult quiet = server_->Wait();
  EXPECT_TRUE(Events(quiet.err, "http_request").empty()) << quiet.err;
}

TEST_F(ServeLogs, DrainingSaysWhatIsStillRunning) {
  Start({"--grace", "30"});
  std::string id = Submit(R"({"type":"nap","params":{"seconds":5}})");
  // Running (not just queued) before the drain begins.
  for (int i = 0; i < 400; ++i) {
    auto j = SendHttp(port_, "GET", "/api/worker/jobs/" + id).body;
    if (j.value("status", "") == "running") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  server_->Kill(SIGTERM);
  RunResult r = server_->Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  // One at the start of the drain and one after 3 s; the job then ends within its grace.
  std::string line = "draining: 1 job(s) still running: " + id + " (nap, ";
  size_t first = r.err.find(line);
  ASSERT_NE(first, std::string::npos) << r.err;
  EXPECT_NE(r.err.find(line, first + 1), std::string::npos) << r.err;
  EXPECT_THAT(r.err, HasSubstr("s of grace left")) << r.err;
  EXPECT_THAT(r.err, HasSubstr("job " + id + " (nap) done in ")) << r.err;
}

TEST_F(ServeLogs, JobMetricsHaveATypeLabel) {
  Start({});
  EXPECT_EQ(Wait(Submit(R"({"type":"quick"})"))["status"], "done");
  EXPECT_EQ(Wait(Submit(R"({"type":"broken"})"))["status"], "failed");
  std::string text;
  // The histogram is fed after the outcome is committed: wait for both.
  for (int i = 0; i < 400; ++i) {
    text = SendHttp(port_, "GET", "/metrics").raw;
    if (text.find("robotni_job_duration_seconds_count{type=\"broken\"} 1") != std::string::npos)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  for (const char* want : {
           "robotni_jobs_total{type=\"quick\",outcome=\"done\"} 1\n",
           "robotni_jobs_total{type=\"broken\",outcome=\"failed\"} 1\n",
           "robotni_job_duration_seconds_count{type=\"quick\"} 1\n",
           "robotni_job_duration_seconds_bucket{type=\"quick\",le=\"+Inf\"} 1\n",
       })
    EXPECT_THAT(text, HasSubstr(want)) << text;
  server_->Kill(SIGTERM);
  server_->Wait();
}

}  // namespace
}  // namespace robotni::testing
