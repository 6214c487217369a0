#ifndef ROBOTNI_RUNTIME_STORE_SQLITE_SQLITE_STORE_H_
#define ROBOTNI_RUNTIME_STORE_SQLITE_SQLITE_STORE_H_

// SqliteStore: WorkItemStore on one SQLite file in WAL mode.
//
// Writes: every mutating call becomes an operation queued to one writer thread that
// owns the write connection. The writer opens a transaction (BEGIN IMMEDIATE), runs
// queued operations back to back inside one SAVEPOINT until the queue drains or
// max_batch_ops ran, then commits once: group commit. When an operation fails, the
// savepoint is rolled back and its operations re-run one by one, each in its own
// SAVEPOINT, so the failing one leaves nothing behind and the others still commit. Callers block
// until the commit of their own operation and get its Status (or the commit error). Reads (Get,
// List, Stats, Timeline, GetFile, IsCancelRequested) use a small pool of read connections and see
// every write whose call has returned. Thread-safety: all public methods may be called concurrently
// from any thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_util.h"
#include "store/store.h"
#include "store/store_checks.h"

namespace robotni::store::sqlite {

class SqliteStore final : public WorkItemStore {
 public:
  // `path` is a filesystem path (the URL scheme already removed).
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const StoreOptions& options,
                                                     const std::string& path);
  ~SqliteStore() override;

  StatusOr<std::string> Create(const NewItem& item) override;
  StatusOr<std::vector<std::string>> CreateBatch(const std::vector<NewItem>& items) override;
  StatusOr<std::vector<std::string>> Import(const std::vector<ImportedItem>& items) override;
  StatusOr<std::string> CreateOutputOfFinished(const Lease& parent, const NewItem& output) override;
  StatusOr<std::vector<Item>> Reserve(const ReserveRequest& request) override;
  Status Heartbeat(const Lease& lease, int64_t lease_ms) override;
  Status HeartbeatBatch(const std::vector<Lease>& leases, int64_t lease_ms) override;
  Status RecordStarts(const std::vector<Start>& starts) override;
  Status Complete(const Completion& completion) override;
  CompleteBatchAndReserveResult CompleteBatchAndReserve(const std::vector<Completion>& completions,
                                                        const ReserveRequest& next) override;
  std::vector<Status> CompleteBatch(const std::vector<Completion>& completions) override;
  Status UpdatePayload(const Lease& lease, const std::string& payload_json) override;
  Status Progress(const Lease& lease, const std::string& message) override;
  Status RecordEvent(const std::string& item_id, const std::string& event,
                     const std::string& message) override;
  Status AddFile(const std::string& item_id, const NewFile& file) override;
  Status RemoveFile(const std::string& item_id, const std::string& name) override;
  StatusOr<std::string> GetFile(const std::string& item_id, const std::string& name) override;
  Status Cancel(const std::string& item_id) override;
  StatusOr<bool> IsCancelRequested(const Lease& lease) override;
  StatusOr<int64_t> Flush(const std::string& queue) override;
  Status Retry(const std::string& item_id) override;
  StatusOr<Item> Get(const std::string& item_id) override;
  StatusOr<std::vector<Item>> List(const ListFilter& filter) override;
  StatusOr<int64_t> Count(const ListFilter& filter) override;
  StatusOr<std::vector<QueueStats>> Stats(const std::string& queue) override;
  StatusOr<std::vector<TimelineEntry>> Timeline(const std::string& item_id) override;
  StatusOr<int64_t> ReapExpired(int64_t now_ms) override;
  StatusOr<int64_t> Prune(int64_t finished_before_ms) override;
  Status Delete(const std::string& item_id) override;
  Status Sync() override;
  void CheckpointWhenIdle() override;
  std::optional<CommitStamp> ReadCommitStamp() const override;
  StatusOr<int64_t> AllocateIds(int n) override;
  Status Unreserve(const Lease& lease) override;
  StatusOr<int64_t> ReleaseDeadOwners(
      const std::function<bool(const std::string& owner)>& is_dead) override;

  // sqlite_restore.cc
  StatusOr<int64_t> Restore(const std::vector<ItemRecord>& records) override;
  Status RestoreSchedules(const std::vector<Schedule>& schedules) override;

  // sqlite_schedules.cc
  StatusOr<std::vector<Schedule>> DefineSchedules(const std::vector<Schedule>& defs) override;
  StatusOr<std::vector<Schedule>> ListSchedules() override;
  StatusOr<Schedule> SetSchedulePaused(const std::string& name, bool paused) override;
  StatusOr<std::string> FireSchedule(const std::string& name, int64_t expected_last_tick_ms,
                                     int64_t tick_ms, const NewItem& job) override;

  // Group-commit counters: transactions committed and operations they carried.
  struct WriterStats {
    int64_t commits = 0;
    int64_t ops = 0;
    int64_t largest_batch = 0;
  };
  WriterStats TEST_WriterStats() const;
  const std::string& path() const { return path_; }
  const std::string& files_dir() const { return files_dir_; }

 private:
  struct Op;
  struct WriterConn;
  struct Reader;
  class ReaderLease;
  // A file written to the staging directory and hashed, before its transaction.
  struct StagedFile {
    std::string name;
    std::string tmp_path;
    int64_t size = 0;
    std::string sha256;
  };

  SqliteStore(const StoreOptions& options, std::string path);
  Status Init();
  int64_t Now() const;

  // Queues fn for the writer thread and blocks until its transaction committed.
  Status Submit(std::function<Status()> fn);
  // Same; fn(isolated): isolated = true when the writer re-runs the operation in its own
  // SAVEPOINT after a failure in its batch (an operation made of independent parts, like
  // CompleteBatch, then gives each part its own savepoint too). fn may run twice: it must
  // reset what it hands back, and have no effect outside the database it cannot repeat.
  Status SubmitOp(std::function<Status(bool isolated)> fn);
  // CompleteBatchAndReserve's reserve: the next SubmitOp of this thread queues it right behind
  // its own operation, under the same lock, so the writer runs both in one transaction
  // (unless the first fills a batch). Cleared once queued.
  static thread_local Op* follow_up_;
  // True when the write connection is no longer inside a transaction (rolled back).
  bool TxAborted() const;
  void WriterLoop();
  Status RunInSavepoint(const std::function<Status()>& fn);

  // The write connection, for operations defined outside sqlite_store.cc (writer thread).
  sqlite3* WriterDb();
  // Runs fn with an idle read connection.
  Status WithReader(const std::function<Status(sqlite3*)>& fn);
  StatusOr<std::unique_ptr<Reader>> OpenReader();
  StatusOr<ReaderLease> AcquireReader();

  // Caller-thread side of files: validate, write a temp file, hash it.
  StatusOr<StagedFile> StageFile(const NewFile& file);
  // Messages name the item "<what>" or, with an index, "<what>[index]".
  Status ValidateNewItem(const NewItem& item, const char* what, size_t index = kNoIndex) const {
    return CheckNewItem(item, options_, what, index);
  }
  Status ValidateJson(const std::string& json, const std::string& what) const {
    return CheckJson(json, what, options_.max_payload_bytes);
  }

  // Writer-thread helpers (run inside an operation).
  // Reserve's claim; *items is reset first (an operation may run twice).
  Status ReserveInTx(const ReserveRequest& req, std::vector<Item>* items);
  // default_parent: parent id when the item names none (0 = none).
  Status InsertItem(const NewItem& item, const std::vector<StagedFile>& files,
                    int64_t default_parent, int64_t now, int64_t* id);
  // InsertItem of an item without files (for code outside sqlite_store.cc).
  Status InsertItemWithoutFiles(const NewItem& item, int64_t now, int64_t* id);
  Status CommitStagedFile(int64_t id, const StagedFile& f);
  // One completion, fenced, with its outputs one statement each (CompleteBatch's isolated
  // rerun and the failure path; DONE completions of a batch go through FinishDoneRows).
  Status CompleteOne(const Completion& c, const std::vector<std::vector<StagedFile>>& files,
                     int64_t now);
  struct PlainOutput {
    const NewItem* item;
    int64_t parent;
  };
  // Inserts outputs with a preallocated id, no files and no idempotency key, up to
  // kPlainRows rows per statement: per-statement work was a sixth of the writer's time
  // per consumed item.
  static constexpr size_t kPlainRows = 64;
  static bool IsPlain(const NewItem& item);
  Status InsertPlain(const std::vector<PlainOutput>& rows, int64_t now);
  // Fences and finishes DONE completions (ids parsed) with one UPDATE ... FROM
  // (VALUES ...) per kPlainRows: per statement, not per row, as InsertPlain. Conflict when a
  // lease is no longer held (fewer rows changed than given), without saying which: a batch
  // then runs again isolated, where CompleteOne reports each completion on its own.
  struct DoneRow {
    const Completion* completion;
    int64_t id;
  };
  Status FinishDoneRows(const std::vector<DoneRow>& rows, int64_t now);
  // Binds without copying: event and message must outlive the call.
  // Writes the current attempt's "started" entry before `started` is reset or reused.
  Status KeepStartedRow(int64_t id);
  Status AddTimeline(int64_t id, int64_t at, std::string_view event, int attempt,
                     std::string_view message);
  int64_t BackoffMs(int attempt) { return store::BackoffMs(options_.retry, attempt, rng_); }
  std::string ItemDir(int64_t id) const;

  const StoreOptions options_;
  const std::string path_;
  // The writer connection's own mapping of the WAL-index's first region (SQLite's, valid
  // while that connection is open, which is the store's life); null: no stamps.
  const volatile unsigned char* wal_index_ = nullptr;
  std::string files_dir_;
  std::string staging_dir_;

  std::unique_ptr<WriterConn> writer_;  // used by the writer thread only
  std::mt19937_64 rng_;                 // writer thread only

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op*> queue_;           // guarded by mu_
  bool stop_ = false;               // guarded by mu_
  bool checkpoint_wanted_ = false;  // guarded by mu_
  std::thread thread_;

  mutable std::mutex stats_mu_;
  WriterStats stats_;  // guarded by stats_mu_

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Reader>> readers_;  // idle readers, guarded by readers_mu_
};

}  // namespace robotni::store::sqlite

#endif  // ROBOTNI_RUNTIME_STORE_SQLITE_SQLITE_STORE_H_
