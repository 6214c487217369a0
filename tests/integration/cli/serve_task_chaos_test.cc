// Chaos over a consumer task (issue #11): 10,000 work items through a robot task
// (`for item in workitems.inputs`) served by `robotni serve --tasks` in a worker process,
// while 100 of its worker processes and 3 times the control process itself are killed
// with SIGKILL (the control process is then started again on the same store). Every
// input ends DONE exactly once, each with exactly one output (the output carries its
// input's id), and the time from each worker kill to its item running again is printed.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <thread>

#include "tests/integration/cli/chaos_util.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

constexpr int kItems = 10000;
constexpr int kWorkerKills = 100;
constexpr int kControlKills = 3;

const char kRobotYaml[] = R"(tasks:
  Consumer:
    shell: python -m robocorp.tasks run tasks.py -t consumer
artifactsDir: output
)";

// 2 ms of work per item, as in the jobs' chaos test: kills then land at random points
// of an item, and 100 of them fit in 10,000 items.
const char kTasksPy[] = R"(import time

from robocorp import workitems
from robocorp.tasks import task


@task
def consumer():
    for item in workitems.inputs:
        time.sleep(0.002)
        workitems.outputs.create(payload={"input_id": item.id, "n": item.payload["n"]})
        item.done()
)";

TEST(ServeTaskChaos, TenThousandItemsThroughAConsumerSurviveWorkerAndControlKills) {
  TempDir dir;
  const fs::path robot = dir / "robot";
  WriteFile(robot / "robot.yaml", kRobotYaml);
  WriteFile(robot / "tasks.py", kTasksPy);
  const fs::path db_path = dir / "data" / "wi.db";
  fs::create_directories(db_path.parent_path());  // --store makes the file, not its directory

  // The inputs, before serve starts: one import (all or nothing), attempts enough for
  // an item to be hit by several kills.
  {
    std::string lines;
    for (int n = 0; n < kItems; ++n)
      lines += R"({"queue": "consumer", "max_attempts": 20, "payload": {"n": )" +
               std::to_string(n) + "}}\n";
    WriteFile(dir / "inputs.jsonl", lines);
    RunResult imported = RunRobotni(
        {"items", "import", (dir / "inputs.jsonl").string(), "--store", db_path.string()});
    ASSERT_EQ(imported.exit_code, 0) << imported;
  }

  auto start_serve = [&] {
    auto p = std::make_unique<Process>(
        std::vector<std::string>{"serve", "-r", (robot / "robot.yaml").string(), "--store",
                                 db_path.string(), "--listen", "127.0.0.1:0", "--no-auth",
                                 "--tasks", "Consumer", "--isolation", "process"},
        RunOptions{.timeout_seconds = 600});
    EXPECT_TRUE(p->WaitForOutput("serving on", 60)) << p->output();
    return p;
  };
  auto server = start_serve();

  auto done_count = [&] {
    Db db(db_path);
    return db.Int("SELECT count(*) FROM items WHERE queue='consumer' AND state='DONE'");
  };
  std::mt19937 rng(20261207);
  // Worker kills are spread over the run: the next one once 40 to 100 more items are done,
  // so each lands on a worker that has been working, at a random point of an item.
  auto next_gap = [&] { return 40 + static_cast<int64_t>(rng() % 61); };
  std::vector<int64_t> kill_ms;
  int control_kills = 0;
  int64_t next_kill_at = next_gap();
  auto until = std::chrono::steady_clock::now() + std::chrono::minutes(5);
  int64_t done = 0;
  while ((done = done_count()) < kItems && std::chrono::steady_clock::now() < until) {
    server->Pump(1);
    // Control-process kills at about 25%, 50% and 75% done, then a restart.
    if (control_kills < kControlKills && done >= (control_kills + 1) * kItems / 4) {
      server->Kill(SIGKILL);
      server->Wait();
      ++control_kills;
      server = start_serve();
      continue;
    }
    if (static_cast<int>(kill_ms.size()) < kWorkerKills && done >= next_kill_at) {
      std::vector<pid_t> workers = ChildrenOf(server->pid());
      if (!workers.empty()) {
        pid_t victim = workers[rng() % workers.size()];
        if (kill(victim, SIGKILL) == 0) {
          kill_ms.push_back(NowMs());
          next_kill_at = done + next_gap();
        }
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(2 + rng() % 8));
  }
  server->Kill(SIGTERM);
  RunResult last = server->Wait();
  EXPECT_EQ(last.exit_code, 0) << last;
  ASSERT_EQ(done, kItems) << "not every item was done in time; serve's log:\n" << last.err;
  EXPECT_EQ(static_cast<int>(kill_ms.size()), kWorkerKills);
  EXPECT_EQ(control_kills, kControlKills);

  Db db(db_path);
  // Every input DONE, once: DONE is reached only under the current lease (fenced).
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consumer'"), kItems);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consumer' AND state='DONE'"), kItems);
  EXPECT_EQ(db.Int("SELECT count(DISTINCT json_extract(payload, '$.n')) FROM items WHERE "
                   "queue='consumer'"),
            kItems);
  // Exactly one output per input, carrying its input's id: an attempt's outputs commit
  // with its release, and an attempt that died committed none.
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE parent_id IS NOT NULL"), kItems);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items o JOIN items i ON o.parent_id = i.id WHERE "
                   "i.queue = 'consumer' AND json_extract(o.payload, '$.input_id') = i.id AND "
                   "json_extract(o.payload, '$.n') = json_extract(i.payload, '$.n')"),
            kItems);
  EXPECT_EQ(db.Int("SELECT count(*) FROM (SELECT parent_id FROM items WHERE parent_id IS NOT "
                   "NULL GROUP BY parent_id HAVING count(*) > 1)"),
            0)
      << "duplicate outputs";
  // Worker deaths were recorded as such, never as expired leases.
  EXPECT_GT(db.Int("SELECT count(*) FROM timeline WHERE event='retry' AND message LIKE "
                   "'%signal 9 (SIGKILL)%'"),
            0);
  EXPECT_EQ(db.Int("SELECT count(*) FROM timeline WHERE event='reaped' AND message LIKE "
                   "'lease expired%'"),
            0)
      << "an item waited for its lease to expire";
  // The items the killed control process held went back when it was started again.
  EXPECT_GT(db.Int("SELECT count(*) FROM timeline WHERE event='reaped' AND message LIKE "
                   "'holder % died%'"),
            0);

  // Kill -> the item the worker held running again (a new worker, a new run, and the
  // item's retry backoff).
  std::vector<int64_t> to_rerun;
  for (int64_t k : kill_ms) {
    int64_t at = db.Int(
        "SELECT coalesce(min(at), -1) FROM timeline WHERE event='retry' AND message LIKE "
        "'%signal 9%' AND at >= " +
        std::to_string(k));
    if (at < 0 || at - k > 5000) continue;  // the worker held no item (starting, between runs)
    int64_t item =
        db.Int("SELECT item_id FROM timeline WHERE event='retry' AND at = " + std::to_string(at) +
               " LIMIT 1");
    int64_t started = db.Int("SELECT started FROM items WHERE id = " + std::to_string(item));
    if (started >= at) to_rerun.push_back(started - k);
  }
  printf("task chaos: %d items, %zu worker kills (%zu hit a held item), %d control kills\n", kItems,
         kill_ms.size(), to_rerun.size(), control_kills);
  printf("task chaos: kill -> item running again: median %.0f ms, p90 %.0f ms, max %.0f ms\n",
         Percentile(to_rerun, 0.5), Percentile(to_rerun, 0.9), Percentile(to_rerun, 1.0));
  EXPECT_FALSE(to_rerun.empty());
}

}  // namespace
}  // namespace robotni::testing
