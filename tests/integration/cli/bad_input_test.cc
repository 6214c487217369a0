// Bad input at the edge of `robotni run` (DESIGN invariant 3): malformed
// work-items.json for --input, unusable --store paths, a store from a newer robotni,
// an oversized payload from Python. Each is refused with a clear message and leaves
// the store as it was.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::AnyOf;
using ::testing::HasSubstr;
using ::testing::Not;

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = CopyFixture("run_single", tmp_ / "robot");  // a task that ignores work items
    robot_ = (root_ / "robot.yaml").string();
    db_path_ = root_ / ".robotni" / "workitems.db";
  }

  // Seeds three items through a valid --input; returns the item count.
  int64_t Seed() {
    WriteFile(tmp_ / "good.json", NumberedItemsJson(3));
    RunResult r = Run({"--input", (tmp_ / "good.json").string()});
    EXPECT_EQ(r.exit_code, 0) << r;
    return Count();
  }
  int64_t Count() {
    Db db(db_path_);
    return db.Int("SELECT count(*) FROM items");
  }
  RunResult Run(std::vector<std::string> extra) {
    std::vector<std::string> args{"run", "-r", robot_};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunRobotni(args, {.cwd = tmp_.path()});
  }
  // Runs --input on `json` (written to bad/work-items.json) against a seeded store.
  RunResult RunBadInput(const std::string& json) {
    int64_t before = Seed();
    EXPECT_EQ(before, 3);
    fs::path file = tmp_ / "bad" / "work-items.json";
    WriteFile(file, json);
    RunResult r = Run({"--input", file.string()});
    EXPECT_NE(r.exit_code, 0) << r;
    EXPECT_THAT(r.err, HasSubstr("--input")) << r;
    EXPECT_THAT(r.err, HasSubstr(file.string())) << r;
    EXPECT_THAT(r.out, Not(HasSubstr("the sole task ran"))) << r;
    EXPECT_EQ(Count(), before) << "a refused --input changed the store";
    return r;
  }

  TempDir tmp_;
  fs::path root_, db_path_;
  std::string robot_;
};

TEST_F(BadInput, WorkItemsFileNotJson) {
  RunResult r = RunBadInput("[{\"payload\": 1},\n  this is not json");
  EXPECT_THAT(r.err, HasSubstr("not valid JSON")) << r;
}

TEST_F(BadInput, WorkItemsFileNotAList) {
  RunResult r = RunBadInput("{\"payload\": {\"a\": 1}}");
  EXPECT_THAT(r.err, HasSubstr("list")) << r;
}

TEST_F(BadInput, WorkItemsFileItemNotAnObject) {
  RunResult r = RunBadInput("[{\"payload\": 1}, 42]");
  EXPECT_THAT(r.err, HasSubstr("item 1")) << r;
  EXPECT_THAT(r.err, HasSubstr("object")) << r;
}

TEST_F(BadInput, WorkItemsFileFilesNotAnObject) {
  RunResult r = RunBadInput("[{\"payload\": 1, \"files\": [\"a.txt\"]}]");
  EXPECT_THAT(r.err, HasSubstr("files")) << r;
}

TEST_F(BadInput, WorkItemsFileNameEscapes) {
  WriteFile(tmp_ / "bad" / "x", "secret");
  RunResult r = RunBadInput("[{\"payload\": 1, \"files\": {\"../x\": \"x\"}}]");
  EXPECT_THAT(r.err, HasSubstr("../x")) << r;
}

TEST_F(BadInput, WorkItemsFileMissingAttachment) {
  RunResult r = RunBadInput(
      "[{\"payload\": 1}, {\"payload\": 2, \"files\": {\"orders.csv\": \"missing.csv\"}}]");
  EXPECT_THAT(r.err, HasSubstr("missing.csv")) << r;
}

TEST_F(BadInput, StoreIsATextFile) {
  fs::path store = tmp_ / "notes.txt";
  const std::string text = "these are my notes, not a database\n";
  WriteFile(store, text);
  WriteFile(tmp_ / "good.json", NumberedItemsJson(2));
  RunResult r = Run({"--store", store.string(), "--input", (tmp_ / "good.json").string()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("not a SQLite database")) << r;
  EXPECT_THAT(r.err, HasSubstr(store.string())) << r;
  EXPECT_EQ(ReadFile(store), text);
  EXPECT_FALSE(fs::exists(store.string() + "-wal"));
  EXPECT_FALSE(fs::exists(store.string() + "-journal"));
}

TEST_F(BadInput, StoreFileIsReadOnly) {
  int64_t before = Seed();
  std::string bytes = ReadFile(db_path_);
  ASSERT_EQ(chmod(db_path_.c_str(), 0444), 0);
  WriteFile(tmp_ / "more.json", NumberedItemsJson(2));
  RunResult r = Run({"--input", (tmp_ / "more.json").string()});
  chmod(db_path_.c_str(), 0644);
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("read-only")) << r;
  EXPECT_THAT(r.err, HasSubstr(db_path_.string())) << r;
  EXPECT_EQ(ReadFile(db_path_), bytes);
  EXPECT_EQ(Count(), before);
}

TEST_F(BadInput, StoreDirectoryIsReadOnly) {
  fs::path dir = tmp_ / "ro";
  fs::create_directories(dir);
  ASSERT_EQ(chmod(dir.c_str(), 0555), 0);
  fs::path store = dir / "workitems.db";
  WriteFile(tmp_ / "good.json", NumberedItemsJson(2));
  RunResult r = Run({"--store", store.string(), "--input", (tmp_ / "good.json").string()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("read-only")) << r;
  EXPECT_THAT(r.err, HasSubstr(dir.string())) << r;
  EXPECT_FALSE(fs::exists(store));
}

TEST_F(BadInput, StoreWithNewerSchemaVersion) {
  int64_t before = Seed();
  {
    Db db(db_path_, /*read_write=*/true);
    db.Exec("UPDATE schema_version SET version=999");
  }
  std::string bytes = ReadFile(db_path_);
  ASSERT_FALSE(fs::exists(db_path_.string() + "-wal") &&
               fs::file_size(db_path_.string() + "-wal") > 0)
      << "the WAL was not checkpointed on close";
  WriteFile(tmp_ / "more.json", NumberedItemsJson(2));
  RunResult r = Run({"--input", (tmp_ / "more.json").string()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("999")) << r;
  EXPECT_THAT(r.err, HasSubstr("newer")) << r;
  EXPECT_EQ(ReadFile(db_path_), bytes) << "the store file changed";
  Db db(db_path_);
  EXPECT_EQ(db.Int("SELECT max(version) FROM schema_version"), 999);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items"), before);
}

TEST_F(BadInput, OversizedOutputPayloadFailsTheItemNotTheProcess) {
  fs::path root = CopyFixture("run_payload", tmp_ / "payload");
  RunResult r = RunRobotni({"run", "-r", (root / "robot.yaml").string(), "-t", "Big", "--input",
                            (root / "work-items.json").string()},
                           {.cwd = tmp_.path()});
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("CREATE FAILED")) << r;
  EXPECT_THAT(r.out, HasSubstr("over the limit")) << r;
  EXPECT_THAT(r.out, HasSubstr("big task finished")) << r;
  Db db(root / ".robotni" / "workitems.db");
  auto rows = db.Query(
      "SELECT state, ifnull(exception_type,''), ifnull(error_code,''), ifnull(error_message,'') "
      "FROM items WHERE queue='big' ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0][0], "FAILED");
  EXPECT_EQ(rows[0][1], "BUSINESS");
  EXPECT_EQ(rows[0][2], "TOO_BIG");
  EXPECT_THAT(rows[0][3], HasSubstr("over the limit")) << rows[0][3];
  EXPECT_EQ(rows[1][0], "DONE");
  // The small item's one output (in queue 'biguncaught', the next task's input).
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE parent_id IS NOT NULL"), 1);
  EXPECT_LT(db.Int("SELECT max(length(payload)) FROM items"), 1000);  // nothing big stored
}

// Not caught by the task: the item fails (APPLICATION: back to the queue for a retry,
// with the error recorded), the task fails with exit 10; robotni itself does not crash.
TEST_F(BadInput, OversizedOutputPayloadUncaughtFailsTheTaskCleanly) {
  fs::path root = CopyFixture("run_payload", tmp_ / "payload");
  RunResult r = RunRobotni({"run", "-r", (root / "robot.yaml").string(), "-t", "BigUncaught",
                            "--input", (root / "work-items.json").string()},
                           {.cwd = tmp_.path()});
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 10) << r;
  EXPECT_THAT(r.all(), HasSubstr("over the limit")) << r;
  Db db(root / ".robotni" / "workitems.db");
  auto rows = db.Query(
      "SELECT state, ifnull(exception_type,''), ifnull(error_message,'') FROM items "
      "WHERE queue='biguncaught' ORDER BY id");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_NE(rows[0][0], "DONE");
  EXPECT_NE(rows[0][0], "RESERVED");
  EXPECT_THAT(rows[0][2], HasSubstr("over the limit")) << rows[0][2];
  EXPECT_LT(db.Int("SELECT max(length(payload)) FROM items"), 1000);  // nothing big stored
}

}  // namespace
}  // namespace robotni::testing
