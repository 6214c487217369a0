// Chaos (issue #11): 10,000 jobs through serve's worker processes while 100 random workers
// and 3 times the control process itself are killed with SIGKILL (the control process is
// then started again on the same store). Every job ends DONE exactly once with its own
// result; the time from each worker kill to its job's death being recorded, and to the
// job running again, is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "tests/integration/cli/chaos_util.h"
#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

constexpr int kJobs = 10000;
constexpr int kWorkerKills = 100;
constexpr int kControlKills = 3;

const char kJobs_py[] = R"(import time
from robotni import job

@job("chaos")
def chaos(n):
    time.sleep(0.002)
    return n * 2
)";

TEST(ServeChaos, TenThousandJobsSurviveWorkerAndControlKills) {
  TempDir dir;
  WriteFile(dir / "jobs.py", kJobs_py);
  const fs::path db_path = dir / "wi.db";
  auto start_serve = [&] {
    auto p = std::make_unique<Process>(
        std::vector<std::string>{"serve", "-r", (SourceDir() / "robot.yaml").string(), "--store",
                                 db_path.string(), "--jobs", (dir / "jobs.py").string(), "--listen",
                                 "127.0.0.1:0", "--no-auth", "--workers", "2"},
        RunOptions{.timeout_seconds = 600});
    EXPECT_TRUE(p->WaitForOutput("serving on", 60)) << p->output();
    return p;
  };
  auto server = start_serve();
  int port = ServingPort(*server);
  ASSERT_GT(port, 0);
  for (int first = 0; first < kJobs; first += 1000) {
    json batch = json::array();
    for (int n = first; n < first + 1000; ++n)
      batch.push_back({{"type", "chaos"}, {"params", {{"n", n}}}, {"max_attempts", 20}});
    auto r = SendHttp(port, "POST", "/api/worker/jobs/batch", batch.dump());
    ASSERT_TRUE(r.status == 200 || r.status == 201 || r.status == 202) << r.raw;
  }

  std::mt19937 rng(20261206);
  std::vector<int64_t> kill_ms;
  int control_kills = 0;
  auto done_count = [&] {
    Db db(db_path);
    return db.Int("SELECT count(*) FROM items WHERE queue='chaos' AND state='DONE'");
  };
  auto until = std::chrono::steady_clock::now() + std::chrono::minutes(8);
  int64_t done = 0;
  while ((done = done_count()) < kJobs && std::chrono::steady_clock::now() < until) {
    server->Pump(1);
    // Control-process kills at about 25%, 50% and 75% done, then a restart.
    if (control_kills < kControlKills && done >= (control_kills + 1) * kJobs / 4) {
      server->Kill(SIGKILL);
      server->Wait();
      ++control_kills;
      server = start_serve();
      continue;
    }
    if (static_cast<int>(kill_ms.size()) < kWorkerKills) {
      std::vector<pid_t> workers = ChildrenOf(server->pid());
      if (!workers.empty()) {
        pid_t victim = workers[rng() % workers.size()];
        if (kill(victim, SIGKILL) == 0) kill_ms.push_back(NowMs());
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(30 + rng() % 60));
  }
  server->Kill(SIGTERM);
  RunResult last = server->Wait();
  EXPECT_EQ(last.exit_code, 0) << last;
  ASSERT_EQ(done, kJobs) << "not every job finished in time";
  EXPECT_EQ(static_cast<int>(kill_ms.size()), kWorkerKills);
  EXPECT_EQ(control_kills, kControlKills);

  Db db(db_path);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='chaos'"), kJobs);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='chaos' AND state='DONE'"), kJobs);
  // Each job's own result, once: DONE is reached only under the current lease (fenced).
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='chaos' AND CAST(result AS INTEGER) = "
                   "2 * json_extract(payload, '$.n')"),
            kJobs);
  EXPECT_EQ(db.Int("SELECT count(DISTINCT json_extract(payload, '$.n')) FROM items"), kJobs);
  // Worker deaths were recorded as such, never as expired leases.
  int64_t died = db.Int(
      "SELECT count(*) FROM timeline WHERE event='retry' AND message LIKE '%signal 9 (SIGKILL)%'");
  EXPECT_GT(died, 0);
  EXPECT_EQ(db.Int("SELECT count(*) FROM timeline WHERE event='reaped' AND message LIKE "
                   "'lease expired%'"),
            0)
      << "a job waited for its lease to expire";
  // The jobs the killed control process held went back when it was started again.
  EXPECT_GT(db.Int("SELECT count(*) FROM timeline WHERE event='reaped' AND message LIKE "
                   "'holder % died%'"),
            0);

  // Kill -> death recorded, and kill -> the job started again (including its retry backoff).
  std::vector<int64_t> to_recorded, to_rerun;
  for (int64_t k : kill_ms) {
    int64_t at = db.Int(
        "SELECT coalesce(min(at), -1) FROM timeline WHERE event='retry' AND message LIKE "
        "'%signal 9%' AND at >= " +
        std::to_string(k));
    if (at < 0 || at - k > 5000) continue;  // the worker was idle or starting: no job died
    int64_t item =
        db.Int("SELECT item_id FROM timeline WHERE event='retry' AND at = " + std::to_string(at) +
               " LIMIT 1");
    int64_t started = db.Int("SELECT started FROM items WHERE id = " + std::to_string(item));
    to_recorded.push_back(at - k);
    if (started >= at) to_rerun.push_back(started - k);
  }
  printf("chaos: %d jobs, %zu worker kills (%zu hit a running job), %d control kills\n", kJobs,
         kill_ms.size(), to_recorded.size(), control_kills);
  printf("chaos: kill -> death recorded: median %.0f ms, p90 %.0f ms, max %.0f ms\n",
         Percentile(to_recorded, 0.5), Percentile(to_recorded, 0.9), Percentile(to_recorded, 1.0));
  printf("chaos: kill -> job running again (incl. retry backoff): median %.0f ms, max %.0f ms\n",
         Percentile(to_rerun, 0.5), Percentile(to_rerun, 1.0));
  EXPECT_FALSE(to_recorded.empty());
}

}  // namespace
}  // namespace robotni::testing
