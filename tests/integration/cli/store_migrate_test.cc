// `robotni store migrate`, the real binary: the example robot's store (producer, consumer,
// reporter: DONE and FAILED items, outputs, files, timelines) moved into a new store reads
// back the same through `robotni items`; a re-run writes nothing; usage errors exit 1 or 2.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

class StoreMigrateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = CopyExampleRobot(dir_.path() / "example");
    RunResult r = RunRobotni(
        {"run", "-r", (root_ / "robot.yaml").string(), "-t", "Producer", "-t", "Consumer", "-t",
         "Reporter", "--input", "devdata/work-items-in/orders/work-items.json"},
        {.cwd = root_});
    ASSERT_EQ(r.exit_code, 0) << r;
  }
  json Items(const std::string& store, const std::vector<std::string>& cmd) {
    std::vector<std::string> args = {"items"};
    args.insert(args.end(), cmd.begin(), cmd.end());
    args.insert(args.end(), {"--store", store, "--json"});
    RunResult r = RunRobotni(args);
    EXPECT_EQ(r.exit_code, 0) << r;
    return json::parse(r.out, nullptr, false);
  }

  TempDir dir_;
  fs::path root_;
};

TEST_F(StoreMigrateTest, TheExampleRobotsStoreReadsBackTheSameFromTheNewStore) {
  const std::string from = (root_ / ".robotni" / "workitems.db").string();
  const std::string to = "sqlite://" + (dir_.path() / "moved.db").string();
  RunResult r = RunRobotni({"store", "migrate", "--from", from, "--to", to, "--batch", "7"});
  ASSERT_EQ(r.exit_code, 0) << r;
  json report = json::parse(r.out);
  EXPECT_EQ(report["items"], 61);  // 1 producer input, 30 orders, 30 reports
  EXPECT_EQ(report["written"], 61);
  EXPECT_GT(report["timeline_entries"].get<int>(), 61);
  EXPECT_EQ(Items(from, {"stats"}), Items(to, {"stats"}));
  EXPECT_EQ(Items(from, {"list", "--limit", "100"}), Items(to, {"list", "--limit", "100"}));
  // One failed order in full: payload, error, files and timeline.
  json failed = Items(to, {"list", "--state", "FAILED", "--limit", "1"});
  ASSERT_EQ(failed["items"].size(), 1u);
  const std::string id = failed["items"][0]["id"];
  EXPECT_EQ(Items(from, {"show", id}), Items(to, {"show", id}));

  RunResult again = RunRobotni({"store", "migrate", "--from", from, "--to", to, "-q"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(json::parse(again.out)["written"], 0);
  EXPECT_EQ(json::parse(again.out)["already_there"], 61);
  EXPECT_EQ(again.err, "");
}

TEST_F(StoreMigrateTest, UsageErrorsSayWhatIsWrong) {
  const std::string from = (root_ / ".robotni" / "workitems.db").string();
  RunResult same = RunRobotni({"store", "migrate", "--from", from, "--to", from});
  EXPECT_EQ(same.exit_code, 2) << same;
  EXPECT_NE(same.err.find("the same store"), std::string::npos) << same;
  RunResult missing = RunRobotni({"store", "migrate", "--from", (dir_.path() / "no.db").string(),
                                  "--to", (dir_.path() / "x.db").string()});
  EXPECT_EQ(missing.exit_code, 1) << missing;
  EXPECT_NE(missing.err.find("--from: no work-item store at"), std::string::npos) << missing;
  EXPECT_FALSE(fs::exists(dir_.path() / "no.db"));
  RunResult nodir = RunRobotni(
      {"store", "migrate", "--from", from, "--to", (dir_.path() / "nodir" / "x.db").string()});
  EXPECT_EQ(nodir.exit_code, 2) << nodir;
  EXPECT_NE(nodir.err.find("--to"), std::string::npos) << nodir;
  RunResult scheme = RunRobotni({"store", "migrate", "--from", from, "--to", "mysql://x/y"});
  EXPECT_EQ(scheme.exit_code, 1) << scheme;
  EXPECT_NE(scheme.err.find("unknown store URL scheme"), std::string::npos) << scheme;
}

}  // namespace
}  // namespace robotni::testing
