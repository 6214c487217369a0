// Crash safety of `robotni run` (DESIGN invariants 1 and 2): kill -9 of a run in the
// middle of a consumer over 10,000 items, then reruns: every input ends DONE exactly
// once, no output is duplicated, none is lost.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;

constexpr int kItems = 10000;

int64_t CountOrZero(const fs::path& db_path, const std::string& sql) {
  if (!fs::exists(db_path)) return 0;
  try {
    Db db(db_path);
    return db.Int(sql);
  } catch (const std::exception&) {
    return 0;  // schema not created yet
  }
}

TEST(CrashSafety, KillNineMidConsumerThenRerunLosesAndDuplicatesNothing) {
  TempDir tmp;
  fs::path root = CopyFixture("run_crash", tmp / "robot");
  WriteFile(tmp / "items.json", NumberedItemsJson(kItems));
  fs::path db_path = root / ".robotni" / "workitems.db";
  const std::string robot = (root / "robot.yaml").string();

  // Run 1: seed 10,000 inputs and consume; SIGKILL when about half are done.
  Process first({"run", "-r", robot, "--input", (tmp / "items.json").string()},
                {.cwd = tmp.path(), .timeout_seconds = 120});
  int64_t done = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until && first.Running()) {
    first.Pump(20);
    done =
        CountOrZero(db_path, "SELECT count(*) FROM items WHERE queue='consume' AND state='DONE'");
    if (done >= kItems / 2) break;
  }
  ASSERT_TRUE(first.Running()) << "the consumer finished before it could be killed (done=" << done
                               << ")\n"
                               << first.out() << first.err();
  first.Kill(SIGKILL);
  RunResult killed = first.Wait();
  ASSERT_EQ(killed.term_signal, SIGKILL) << killed;
  {
    Db db(db_path);
    int64_t done_at_kill =
        db.Int("SELECT count(*) FROM items WHERE queue='consume' AND state='DONE'");
    EXPECT_GT(done_at_kill, 0);
    EXPECT_LT(done_at_kill, kItems) << "the kill did not land mid-way";
    EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consume'"), kItems);
    // Outputs committed with their parent's completion: never ahead of DONE inputs.
    EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consume_output'"), done_at_kill);
  }

  // Reruns (no --input: nothing is seeded again) until nothing is left to do.
  for (int attempt = 0; attempt < 5; ++attempt) {
    int64_t open = CountOrZero(db_path,
                               "SELECT count(*) FROM items WHERE queue='consume' AND state IN "
                               "('PENDING','RESERVED')");
    if (open == 0) break;
    RunResult again = RunRobotni(
        {"run", "-r", robot},
        {.cwd = tmp.path(), .env = {{"FIXTURE_ITEM_DELAY", "0"}}, .timeout_seconds = 120});
    ASSERT_EQ(again.exit_code, 0) << again;
    if (attempt == 0) {
      EXPECT_THAT(again.err, HasSubstr("went back to the queue")) << again;
    }
  }

  Db db(db_path);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consume'"), kItems);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consume' AND state='DONE'"), kItems);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consume' AND state<>'DONE'"), 0);
  // Each input finished once: DONE is only reachable from RESERVED under the current
  // lease (fenced), every input has its finish time, and no attempt ended FAILED.
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consume' AND finished > 0"), kItems);
  EXPECT_EQ(db.Int("SELECT count(*) FROM timeline t JOIN items i ON i.id = t.item_id "
                   "WHERE i.queue='consume' AND t.event='finished'"),
            0);
  // One output per DONE input: none lost, none duplicated.
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consume_output'"), kItems);
  EXPECT_EQ(db.Int("SELECT count(DISTINCT parent_id) FROM items WHERE queue='consume_output'"),
            kItems);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items o JOIN items p ON o.parent_id = p.id "
                   "WHERE o.queue='consume_output' AND p.queue='consume' AND p.state='DONE' "
                   "AND json_extract(o.payload,'$.from') = json_extract(p.payload,'$.n')"),
            kItems);
}

}  // namespace
}  // namespace robotni::testing
