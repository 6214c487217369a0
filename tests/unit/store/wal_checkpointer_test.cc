// WalCheckpointer on a real SQLite file: checkpoints move to the background thread, and
// a writer that never pauses still keeps the WAL bounded.

#include "store/sqlite/wal_checkpointer.h"

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>

namespace robotni::store::sqlite {
namespace {

namespace fs = std::filesystem;

class WalCheckpointerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("robotni_ckpt_" + std::to_string(getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    path_ = (dir_ / "db.sqlite").string();
    writer_ = Open();
    Exec(writer_.get(), "PRAGMA journal_mode=WAL");
    Exec(writer_.get(), "CREATE TABLE t(id INTEGER PRIMARY KEY, v TEXT)");
  }
  void TearDown() override {
    writer_.reset();
    fs::remove_all(dir_);
  }
  DbPtr Open() {
    sqlite3* raw = nullptr;
    EXPECT_EQ(
        sqlite3_open_v2(path_.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr),
        SQLITE_OK);
    return DbPtr(raw);
  }
  static void Exec(sqlite3* db, const char* sql) {
    char* err = nullptr;
    ASSERT_EQ(sqlite3_exec(db, sql, nullptr, nullptr, &err), SQLITE_OK) << (err ? err : "");
  }
  // One transaction writing `rows` rows of ~1 KiB (a few pages of WAL each).
  void Commit(int rows) {
    Exec(writer_.get(), "BEGIN");
    for (int i = 0; i < rows; ++i)
      Exec(writer_.get(), "INSERT INTO t(v) VALUES(printf('%.1000c', 'x'))");
    Exec(writer_.get(), "COMMIT");
  }
  int64_t WalBytes() const {
    std::error_code ec;
    auto n = fs::file_size(path_ + "-wal", ec);
    return ec ? 0 : static_cast<int64_t>(n);
  }

  fs::path dir_;
  std::string path_;
  DbPtr writer_;
};

TEST_F(WalCheckpointerTest, CheckpointsRunOnTheBackgroundThread) {
  WalCheckpointer ckpt(Open(), /*soft_pages=*/5, /*hard_pages=*/100000);
  ckpt.Attach(writer_.get());
  for (int i = 0; i < 10; ++i) {
    const int64_t before = ckpt.background_checkpoints();
    Commit(40);  // ~10 pages: past the soft limit, so the background thread is asked
    // The writer pauses until that checkpoint ran (at most 5 s: a slow sanitizer build).
    for (int k = 0; k < 500 && ckpt.background_checkpoints() == before; ++k)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    ASSERT_GT(ckpt.background_checkpoints(), before) << "commit " << i;
  }
  EXPECT_EQ(ckpt.writer_checkpoints(), 0);
  // Automatic checkpoints are off, so the WAL started over only because ours completed:
  // its high-water mark stays at about one commit, well below the ~100 pages written.
  EXPECT_LT(WalBytes(), 40 * 4096);
}

// The writer's own checkpoint past the hard limit, alone (the background thread is
// never asked), so which thread got there first cannot decide the outcome.
TEST_F(WalCheckpointerTest, PastTheHardLimitTheWriterCheckpointsItself) {
  WalCheckpointer ckpt(Open(), /*soft_pages=*/1 << 30, /*hard_pages=*/200);
  ckpt.Attach(writer_.get());
  for (int i = 0; i < 300; ++i) Commit(5);  // no pauses: ~1500 pages in all
  EXPECT_GT(ckpt.writer_checkpoints(), 0);
  EXPECT_EQ(ckpt.background_checkpoints(), 0);
  // Bounded by the hard limit plus one transaction, not by everything written.
  EXPECT_LT(WalBytes(), (200 + 50) * (4096 + 24) + 4096);
  sqlite3_stmt* st = nullptr;
  ASSERT_EQ(sqlite3_prepare_v2(writer_.get(), "SELECT count(*) FROM t", -1, &st, nullptr),
            SQLITE_OK);
  ASSERT_EQ(sqlite3_step(st), SQLITE_ROW);
  EXPECT_EQ(sqlite3_column_int(st, 0), 1500);
  sqlite3_finalize(st);
}

// Both together on a writer that never pauses: the WAL stays bounded whichever thread
// checkpoints.
TEST_F(WalCheckpointerTest, ABusyWriterStillBoundsTheWal) {
  WalCheckpointer ckpt(Open(), /*soft_pages=*/20, /*hard_pages=*/200);
  ckpt.Attach(writer_.get());
  for (int i = 0; i < 300; ++i) Commit(5);
  EXPECT_GT(ckpt.writer_checkpoints() + ckpt.background_checkpoints(), 0);
  EXPECT_LT(WalBytes(), (200 + 50) * (4096 + 24) + 4096);
}

}  // namespace
}  // namespace robotni::store::sqlite
