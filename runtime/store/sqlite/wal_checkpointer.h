#ifndef ROBOTNI_RUNTIME_STORE_SQLITE_WAL_CHECKPOINTER_H_
#define ROBOTNI_RUNTIME_STORE_SQLITE_WAL_CHECKPOINTER_H_

// WalCheckpointer: WAL checkpoints on a thread of their own, off the store's writer.
//
// SQLite's automatic checkpoint runs inside the COMMIT that crosses 1000 WAL pages, on
// the committing thread: the writer then copies pages into the database file and waits
// for two fsyncs while every producer and consumer waits for the writer. Here the
// writer's commit hook only signals; this thread runs PASSIVE checkpoints on its own
// connection (they never block the writer or readers).
//
// A PASSIVE checkpoint cannot finish while the writer keeps appending, and the WAL only
// starts over once it was checkpointed completely. So past `hard_pages` the writer runs
// one itself after its commit, which is cheap then: this thread has already copied
// nearly every frame.
// Thread-safety: Attach, and the destructor, from the thread that owns the writer.

#include <sqlite3.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/sqlite_util.h"

namespace robotni::store::sqlite {

class WalCheckpointer {
 public:
  static constexpr int kSoftPages = 1000;   // SQLite's default autocheckpoint
  static constexpr int kHardPages = 16000;  // ~64 MB of WAL at 4 KiB pages

  // `own` is a connection to the same database for this thread's checkpoints.
  explicit WalCheckpointer(DbPtr own, int soft_pages = kSoftPages, int hard_pages = kHardPages);
  ~WalCheckpointer();
  WalCheckpointer(const WalCheckpointer&) = delete;
  WalCheckpointer& operator=(const WalCheckpointer&) = delete;

  // Turns off `writer`'s automatic checkpoints and hooks its commits.
  void Attach(sqlite3* writer);

  // Checkpoints this thread ran, and those the writer had to run itself (tests, stats).
  int64_t background_checkpoints() const { return background_.load(); }
  int64_t writer_checkpoints() const { return writer_runs_.load(); }

 private:
  static int OnCommit(void* self, sqlite3* db, const char* schema, int wal_pages);
  void Loop();

  DbPtr own_;
  const int soft_pages_, hard_pages_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool wanted_ = false;  // guarded by mu_
  bool stop_ = false;    // guarded by mu_
  std::atomic<int64_t> background_{0}, writer_runs_{0};
  std::thread thread_;
};

}  // namespace robotni::store::sqlite

#endif  // ROBOTNI_RUNTIME_STORE_SQLITE_WAL_CHECKPOINTER_H_
