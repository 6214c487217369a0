#ifndef ROBOTNI_RUNTIME_STORE_SQLITE_SQLITE_STORE_H_
#define ROBOTNI_RUNTIME_STORE_SQLITE_SQLITE_STORE_H_

// SqliteStore: WorkItemStore on one SQLite file in WAL mode.
//
// Writes: every mutating call becomes an operation queued to one writer thread that
// owns the write connection. The writer opens a transaction (BEGIN IMMEDIATE), runs
// queued operations one after another (each inside its own SAVEPOINT, so a failing
// operation leaves nothing behind) until the queue drains or max_batch_ops ran, then
// commits once: group commit. Callers block until the commit of their own operation
// and get its Status (or the commit error).
// Reads (Get, List, Stats, Timeline, GetFile, IsCancelRequested) use a small pool of
// read connections and see every write whose call has returned.
// Thread-safety: all public methods may be called concurrently from any thread.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/sqlite/sqlite_util.h"
#include "store/store.h"

namespace robotni::store::sqlite {

class SqliteStore final : public WorkItemStore {
 public:
  // `path` is a filesystem path (the URL scheme already removed).
  static StatusOr<std::unique_ptr<SqliteStore>> Open(const StoreOptions& options,
                                                     const std::string& path);
  ~SqliteStore() override;

  StatusOr<std::string> Create(const NewItem& item) override;
  StatusOr<std::vector<std::string>> CreateBatch(const std::vector<NewItem>& items) override;
  StatusOr<std::vector<Item>> Reserve(const ReserveRequest& request) override;
  Status Heartbeat(const Lease& lease, int64_t lease_ms) override;
  Status HeartbeatBatch(const std::vector<Lease>& leases, int64_t lease_ms) override;
  Status Complete(const Completion& completion) override;
  std::vector<Status> CompleteBatch(const std::vector<Completion>& completions) override;
  Status UpdatePayload(const Lease& lease, const std::string& payload_json) override;
  Status Progress(const Lease& lease, const std::string& message) override;
  Status AddFile(const std::string& item_id, const NewFile& file) override;
  Status RemoveFile(const std::string& item_id, const std::string& name) override;
  StatusOr<std::string> GetFile(const std::string& item_id, const std::string& name) override;
  Status Cancel(const std::string& item_id) override;
  StatusOr<bool> IsCancelRequested(const Lease& lease) override;
  StatusOr<int64_t> Flush(const std::string& queue) override;
  Status Retry(const std::string& item_id) override;
  StatusOr<Item> Get(const std::string& item_id) override;
  StatusOr<std::vector<Item>> List(const ListFilter& filter) override;
  StatusOr<std::vector<QueueStats>> Stats(const std::string& queue) override;
  StatusOr<std::vector<TimelineEntry>> Timeline(const std::string& item_id) override;
  StatusOr<int64_t> ReapExpired(int64_t now_ms) override;
  StatusOr<int64_t> Prune(int64_t finished_before_ms) override;
  Status Sync() override;
  StatusOr<int64_t> AllocateIds(int n) override;
  Status Unreserve(const Lease& lease) override;
  StatusOr<int64_t> ReleaseDeadOwners(
      const std::function<bool(const std::string& owner)>& is_dead) override;

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
  struct StagedFile;

  SqliteStore(const StoreOptions& options, std::string path);
  Status Init();
  int64_t Now() const;

  // Queues fn for the writer thread and blocks until its transaction committed.
  Status Submit(std::function<Status()> fn);
  void WriterLoop();
  Status RunInSavepoint(const std::function<Status()>& fn);

  StatusOr<std::unique_ptr<Reader>> OpenReader();
  StatusOr<ReaderLease> AcquireReader();

  // Caller-thread side of files: validate, write a temp file, hash it.
  StatusOr<StagedFile> StageFile(const NewFile& file);
  Status ValidateNewItem(const NewItem& item, const std::string& where) const;
  Status ValidateJson(const std::string& json, const std::string& what) const;

  // Writer-thread helpers (run inside an operation).
  Status InsertItem(const NewItem& item, const std::vector<StagedFile>& files,
                    const std::string& default_parent, int64_t now, int64_t* id);
  Status CommitStagedFile(int64_t id, const StagedFile& f);
  Status CompleteOne(const Completion& c, const std::vector<std::vector<StagedFile>>& files,
                     int64_t now);
  Status AddTimeline(int64_t id, int64_t at, const char* event, int attempt,
                     const std::string& message);
  int64_t BackoffMs(int attempt);
  std::string ItemDir(int64_t id) const;

  const StoreOptions options_;
  const std::string path_;
  std::string files_dir_;
  std::string staging_dir_;

  std::unique_ptr<WriterConn> writer_;  // used by the writer thread only
  std::mt19937_64 rng_;                 // writer thread only

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op*> queue_;  // guarded by mu_
  bool stop_ = false;      // guarded by mu_
  std::thread thread_;

  mutable std::mutex stats_mu_;
  WriterStats stats_;  // guarded by stats_mu_

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<Reader>> readers_;  // idle readers, guarded by readers_mu_
};

}  // namespace robotni::store::sqlite

#endif  // ROBOTNI_RUNTIME_STORE_SQLITE_SQLITE_STORE_H_
