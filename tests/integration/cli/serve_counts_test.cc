// `robotni serve` counts and running jobs, end to end: real serve processes on 127.0.0.1 over
// a real store (a SQLite file, a PostgreSQL schema), probed by a real client (POSIX sockets).
//
// - The queue counts of /api/worker/status, /api/work-items/stats and /metrics add up to the
//   jobs of each queue, none negative, under a mixed load: scheduled (run_at in the future),
//   retried (backoff), cancelled, running and done jobs, and items of a queue nobody serves.
//   (Status showed queued -2 with two scheduled jobs; stats left scheduled ones out.)
// - Two serve processes on one store both run jobs, and a job shows running only from its
//   handler's start: no runner holds jobs it has not started. (A runner used to reserve
//   four ahead: a 2 s job showed running for 37 s, five running at concurrency 2, and one
//   serve took a whole batch while another on the same store idled.)
#include <gtest/gtest.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

// `robotni serve` of the jobs_counts fixture on a free loopback port over `store`, with two
// worker processes (two runners).
std::unique_ptr<Process> StartServe(const std::string& store) {
  fs::path robot = FixtureDir("jobs_counts");
  std::vector<std::string> args = {"serve",       "-r",       (robot / "robot.yaml").string(),
                                   "--jobs",      "jobs.py",  "--listen",
                                   "127.0.0.1:0", "--store",  store,
                                   "--workers",   "2",        "--grace",
                                   "1",           "--no-auth"};
  RunOptions opts;
  opts.timeout_seconds = 120;
  auto p = std::make_unique<Process>(args, opts);
  EXPECT_TRUE(p->WaitForOutput("serving on", 30)) << p->output();
  return p;
}

void Stop(Process& p) {
  p.Kill(SIGTERM);
  RunResult r = p.Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
}

// "2026-12-07T04:09:10.186Z" -> ms since the epoch; -1 for "".
int64_t IsoMs(const std::string& s) {
  if (s.empty()) return -1;
  struct tm tm {};
  int ms = 0;
  if (sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec, &ms) < 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// robotni_work_items{queue="Q",state="S"} N of a /metrics text: queue -> state -> N.
std::map<std::string, std::map<std::string, int64_t>> WorkItemGauges(const std::string& text) {
  std::map<std::string, std::map<std::string, int64_t>> out;
  const std::string head = "robotni_work_items{queue=\"";
  for (size_t at = text.find(head); at != std::string::npos; at = text.find(head, at + 1)) {
    size_t q0 = at + head.size(), q1 = text.find('"', q0);
    size_t s0 = text.find("state=\"", q1) + 7, s1 = text.find('"', s0);
    size_t v0 = text.find("} ", s1) + 2;
    out[text.substr(q0, q1 - q0)][text.substr(s0, s1 - s0)] = std::atoll(text.c_str() + v0);
  }
  return out;
}

const char* const kStates[] = {"queued", "scheduled", "running", "done", "failed", "cancelled"};

// Every count of every queue in /api/worker/status, /api/work-items/stats and /metrics is
// >= 0 and they add up to the queue's total, which is the number of jobs put in it.
void ExpectCountsAddUp(int port, const std::map<std::string, int64_t>& jobs_in,
                       const std::string& when) {
  auto status = SendHttp(port, "GET", "/api/worker/status");
  ASSERT_EQ(status.status, 200) << status.raw;
  auto metrics = SendHttp(port, "GET", "/metrics");
  ASSERT_EQ(metrics.status, 200) << metrics.raw;
  auto gauges = WorkItemGauges(metrics.raw);
  for (const auto& [queue, n] : jobs_in) {
    SCOPED_TRACE(when + ", queue " + queue);
    const json& c = status.body["queues"][queue];
    ASSERT_TRUE(c.is_object()) << status.raw;
    int64_t sum = 0, metric_sum = 0;
    for (const char* s : kStates) {
      EXPECT_GE(c[s].get<int64_t>(), 0) << s << ": " << c.dump();
      sum += c[s].get<int64_t>();
      EXPECT_GE(gauges[queue][s], 0) << s;
      metric_sum += gauges[queue][s];
    }
    EXPECT_EQ(sum, n) << c.dump();
    EXPECT_EQ(c["total"], n) << c.dump();
    EXPECT_EQ(metric_sum, n) << metrics.raw;
    auto stats = SendHttp(port, "GET", "/api/work-items/stats?queue_name=" + queue);
    ASSERT_EQ(stats.status, 200) << stats.raw;
    int64_t stats_sum = 0;
    for (const char* s : {"pending", "in_progress", "done", "failed"}) {
      EXPECT_GE(stats.body[s].get<int64_t>(), 0) << s << ": " << stats.raw;
      stats_sum += stats.body[s].get<int64_t>();
    }
    EXPECT_EQ(stats_sum, n) << stats.raw;
    EXPECT_EQ(stats.body["total"], n) << stats.raw;
  }
}

std::string Submit(int port, const std::string& body) {
  auto r = SendHttp(port, "POST", "/api/worker/jobs", body);
  EXPECT_EQ(r.status, 202) << r.raw;
  return r.body.value("job_id", "");
}

class ServeCountsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.ok()) << store_.error(); }

  TempDir dir_;
  TestStore store_{GetParam(), dir_.path()};
};

ROBOTNI_STORE_BACKENDS(ServeCountsTest);

TEST_P(ServeCountsTest, CountsAddUpForEveryQueueUnderAMixedLoad) {
  auto serve = StartServe(store_.url());
  int port = ServingPort(*serve);
  ASSERT_NE(port, 0);

  // Scheduled: an hour ahead; two of them then cancelled.
  std::vector<std::string> later;
  for (int i = 0; i < 5; ++i)
    later.push_back(Submit(port, R"({"type":"nap","delay_seconds":3600})"));
  for (int i = 0; i < 2; ++i)
    EXPECT_EQ(SendHttp(port, "DELETE", "/api/worker/jobs/" + later[i]).status, 200);
  // Retried: every attempt fails (application error), waits its backoff, then fails for good.
  std::vector<std::string> flaky = {Submit(port, R"({"type":"flaky"})"),
                                    Submit(port, R"({"type":"flaky"})")};
  // More jobs than runners: queued, running, done (the runners used to hold some ahead).
  std::vector<std::string> naps;
  for (int i = 0; i < 8; ++i)
    naps.push_back(Submit(port, R"({"type":"nap","params":{"seconds":0.3}})"));
  // A queue no runner serves: its items stay queued.
  for (int i = 0; i < 2; ++i) {
    auto r =
        SendHttp(port, "POST", "/api/work-items", R"({"queue_name":"inbox","payload":{"n":1}})");
    EXPECT_EQ(r.status, 200) << r.raw;
  }
  const std::map<std::string, int64_t> jobs_in = {{"nap", 13}, {"flaky", 2}, {"inbox", 2}};

  auto finished = [&](const std::string& id) {
    auto j = SendHttp(port, "GET", "/api/worker/jobs/" + id).body;
    return j.value("status", "") == "done" || j.value("status", "") == "failed";
  };
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);  // hang guard
  int round = 0;
  while (true) {
    ExpectCountsAddUp(port, jobs_in, "round " + std::to_string(round++));
    if (::testing::Test::HasFailure()) break;
    bool all = std::all_of(naps.begin(), naps.end(), finished) &&
               std::all_of(flaky.begin(), flaky.end(), finished);
    if (all || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ExpectCountsAddUp(port, jobs_in, "at the end");

  // At the end each count is known exactly.
  auto status = SendHttp(port, "GET", "/api/worker/status").body["queues"];
  EXPECT_EQ(status["nap"], json({{"queued", 0},
                                 {"scheduled", 3},
                                 {"running", 0},
                                 {"done", 8},
                                 {"failed", 0},
                                 {"cancelled", 2},
                                 {"total", 13}}));
  EXPECT_EQ(status["flaky"]["failed"], 2) << status.dump();
  EXPECT_EQ(status["inbox"]["queued"], 2) << status.dump();
  EXPECT_EQ(SendHttp(port, "GET", "/api/work-items/stats?queue_name=nap").body,
            json({{"queue_name", "nap"},
                  {"pending", 3},
                  {"in_progress", 0},
                  {"done", 8},
                  {"failed", 2},
                  {"total", 13}}));
  for (const auto& id : flaky) {
    auto j = SendHttp(port, "GET", "/api/worker/jobs/" + id).body;
    EXPECT_EQ(j["attempts"], 3) << j.dump();
  }
  Stop(*serve);
}

TEST_P(ServeCountsTest, TwoServesOnOneStoreShareJobsAndShowOnlyStartedOnesRunning) {
  auto a = StartServe(store_.url());
  auto b = StartServe(store_.url());
  int port_a = ServingPort(*a), port_b = ServingPort(*b);
  ASSERT_NE(port_a, 0);
  ASSERT_NE(port_b, 0);

  // A batch through one of them, fewer jobs than its runners used to reserve ahead (4 each).
  // Two runners each: that serve may hold two of these at a time, the other takes the rest
  // as it polls (every 200 ms; the jobs take 3 s).
  const int kJobs = 6;
  json batch = json::array();
  for (int i = 0; i < kJobs; ++i) batch.push_back({{"type", "nap"}, {"params", {{"seconds", 3}}}});
  auto sub = SendHttp(port_a, "POST", "/api/worker/jobs/batch", json{{"jobs", batch}}.dump());
  ASSERT_EQ(sub.status, 202) << sub.raw;
  std::vector<std::string> ids;
  for (const auto& j : sub.body["jobs"]) ids.push_back(j["job_id"]);

  // While they run: no serve ever shows more running jobs than it has runners, and a running
  // job has a start time and a holder.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(90);  // hang guard
  std::set<std::string> seen_running;
  std::string too_many;  // the first listing that showed more, if any
  while (std::chrono::steady_clock::now() < deadline) {
    auto running = SendHttp(port_b, "GET", "/api/worker/jobs?type=nap&state=running&limit=100");
    ASSERT_EQ(running.status, 200) << running.raw;
    std::map<std::string, int> per_worker;
    for (const auto& j : running.body["jobs"]) {
      EXPECT_NE(j["timeline"]["timeStarted"], "") << j.dump();
      ASSERT_TRUE(j["worker"].is_string()) << j.dump();
      per_worker[j["worker"]]++;
      seen_running.insert(j["job_id"].get<std::string>());
    }
    for (const auto& [worker, n] : per_worker)
      if (n > 2 && too_many.empty())
        too_many = worker + " shows " + std::to_string(n) + " running: " + running.raw;
    auto done = SendHttp(port_a, "GET", "/api/worker/jobs?type=nap&state=done&limit=100");
    if (done.body["jobs"].size() == static_cast<size_t>(kJobs)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  EXPECT_EQ(too_many, "") << "a serve with two runners showed more jobs running";
  EXPECT_FALSE(seen_running.empty());

  // Both ran some: the holder recorded per job.
  std::map<std::string, std::vector<json>> by_worker;
  for (const auto& id : ids) {
    auto j = SendHttp(port_a, "GET", "/api/worker/jobs/" + id).body;
    ASSERT_EQ(j["status"], "done") << j.dump();
    by_worker[j["worker"]].push_back(j);
  }
  EXPECT_EQ(by_worker.size(), 2u) << "jobs ran by one serve only";

  // Started when its handler started: timeStarted is at or before the handler's own clock
  // reading, and after the job its worker process ran before it ended (a job held behind
  // another showed that one's start instead).
  std::map<int64_t, std::vector<json>> by_pid;
  for (auto& [worker, jobs] : by_worker)
    for (auto& j : jobs) by_pid[j["result"]["pid"].get<int64_t>()].push_back(j);
  for (auto& [pid, jobs] : by_pid) {
    std::sort(jobs.begin(), jobs.end(), [](const json& x, const json& y) {
      return x["result"]["started"].get<double>() < y["result"]["started"].get<double>();
    });
    for (size_t i = 0; i < jobs.size(); ++i) {
      const json& j = jobs[i];
      int64_t started = IsoMs(j["timeline"]["timeStarted"]);
      double handler = j["result"]["started"].get<double>();
      EXPECT_LE(started, static_cast<int64_t>(std::floor(handler * 1000))) << j.dump();
      if (i == 0) continue;
      const json& prev = jobs[i - 1];
      double prev_end =
          prev["result"]["started"].get<double>() + prev["result"]["seconds"].get<double>();
      EXPECT_GE(started, static_cast<int64_t>(std::floor(prev_end * 1000)))
          << "job " << j["job_id"] << " shows started before worker " << pid << " finished job "
          << prev["job_id"] << ": " << j.dump() << "\n"
          << prev.dump();
    }
  }
  Stop(*a);
  Stop(*b);
}

}  // namespace
}  // namespace robotni::testing
