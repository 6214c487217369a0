// Crash safety of `robotni run` (DESIGN invariants 1 and 2): kill -9 of a run in the
// middle of a consumer over 10,000 items, then reruns: every input ends DONE exactly
// once, no output is duplicated, none is lost. On each store backend (SQLite: the run's
// default store; PostgreSQL: a schema of the ctest fixture's server).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using store::State;
using ::testing::HasSubstr;

constexpr int kItems = 10000;

class CrashSafety : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.ok()) << store_.error(); }
  bool IsPostgres() const { return GetParam() == Backend::kPostgres; }

  TempDir tmp_;
  TestStore store_{GetParam(), tmp_.path()};
};

ROBOTNI_STORE_BACKENDS(CrashSafety);

TEST_P(CrashSafety, KillNineMidConsumerThenRerunLosesAndDuplicatesNothing) {
  fs::path root = CopyFixture("run_crash", tmp_ / "robot");
  WriteFile(tmp_ / "items.json", NumberedItemsJson(kItems));
  const std::string url =
      IsPostgres() ? store_.url() : (root / ".robotni" / "workitems.db").string();
  const std::string robot = (root / "robot.yaml").string();
  std::vector<std::string> store_flag;  // SQLite: the run's default store
  if (IsPostgres()) store_flag = {"--store", url};

  // Run 1: seed 10,000 inputs and consume; SIGKILL when about half are done.
  std::vector<std::string> args = {"run", "-r", robot, "--input", (tmp_ / "items.json").string()};
  args.insert(args.end(), store_flag.begin(), store_flag.end());
  Process first(args, {.cwd = tmp_.path(), .timeout_seconds = 120});
  std::unique_ptr<store::WorkItemStore> db;  // opened once the run has made it
  int64_t done = 0;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < until && first.Running()) {
    first.Pump(20);
    if (!db) db = OpenStore(url);
    done = db ? CountItems(*db, "consume", State::kDone) : 0;
    if (done >= kItems / 2) break;
  }
  ASSERT_TRUE(first.Running()) << "the consumer finished before it could be killed (done=" << done
                               << ")\n"
                               << first.out() << first.err();
  first.Kill(SIGKILL);
  RunResult killed = first.Wait();
  ASSERT_EQ(killed.term_signal, SIGKILL) << killed;
  ASSERT_TRUE(db) << "no store after the first run";
  {
    int64_t done_at_kill = CountItems(*db, "consume", State::kDone);
    EXPECT_GT(done_at_kill, 0);
    EXPECT_LT(done_at_kill, kItems) << "the kill did not land mid-way";
    EXPECT_EQ(CountItems(*db, "consume"), kItems);
    // Outputs committed with their parent's completion: never ahead of DONE inputs.
    EXPECT_EQ(CountItems(*db, "consume_output"), done_at_kill);
  }

  // Reruns (no --input: nothing is seeded again) until nothing is left to do.
  for (int attempt = 0; attempt < 5; ++attempt) {
    int64_t open =
        CountItems(*db, "consume", State::kPending) + CountItems(*db, "consume", State::kReserved);
    if (open == 0) break;
    std::vector<std::string> rerun = {"run", "-r", robot};
    rerun.insert(rerun.end(), store_flag.begin(), store_flag.end());
    RunResult again = RunRobotni(
        rerun, {.cwd = tmp_.path(), .env = {{"FIXTURE_ITEM_DELAY", "0"}}, .timeout_seconds = 120});
    ASSERT_EQ(again.exit_code, 0) << again;
    if (attempt == 0) {
      EXPECT_THAT(again.err, HasSubstr("went back to the queue")) << again;
    }
  }

  std::map<std::string, store::Item> inputs;  // by id
  std::vector<store::Item> outputs;
  for (auto& it : AllItems(url)) {
    if (it.queue == "consume") inputs.emplace(it.id, it);
    if (it.queue == "consume_output") outputs.push_back(it);
  }
  EXPECT_EQ(inputs.size(), static_cast<size_t>(kItems));
  int64_t done_inputs = 0, finished_inputs = 0, finished_events = 0, other_finishes = 0;
  for (const auto& [id, it] : inputs) {
    done_inputs += it.state == State::kDone;
    finished_inputs += it.finished_ms > 0;
  }
  EXPECT_EQ(done_inputs, kItems);
  // Each input finished once: DONE is only reachable from RESERVED under the current
  // lease (fenced), every input has its finish time, and no attempt ended otherwise (its
  // timeline would have a "finished" that is not DONE).
  EXPECT_EQ(finished_inputs, kItems);
  for (const auto& [id, it] : inputs) {
    auto timeline = db->Timeline(id);
    ASSERT_TRUE(timeline.ok()) << timeline.status().ToString();
    for (const auto& e : *timeline) {
      if (e.event != "finished") continue;
      ++finished_events;
      other_finishes += e.message != "DONE";
    }
  }
  EXPECT_EQ(finished_events, kItems);
  EXPECT_EQ(other_finishes, 0);
  // One output per DONE input: none lost, none duplicated.
  EXPECT_EQ(outputs.size(), static_cast<size_t>(kItems));
  std::set<std::string> parents;
  int64_t matching = 0;
  for (const auto& o : outputs) {
    parents.insert(o.parent_id);
    auto p = inputs.find(o.parent_id);
    if (p == inputs.end() || p->second.state != State::kDone) continue;
    matching += nlohmann::json::parse(o.payload_json)["from"] ==
                nlohmann::json::parse(p->second.payload_json)["n"];
  }
  EXPECT_EQ(parents.size(), static_cast<size_t>(kItems));
  EXPECT_EQ(matching, kItems);
}

}  // namespace
}  // namespace robotni::testing
