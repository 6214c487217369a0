#ifndef ROBOTNI_RUNTIME_STORE_POSTGRES_PG_STORE_H_
#define ROBOTNI_RUNTIME_STORE_POSTGRES_PG_STORE_H_

// PgStore: WorkItemStore on PostgreSQL (docs/postgresql.md), for several robotni processes on
// several hosts sharing one queue.
//
// Threads: callers never talk to the server themselves on the write path. Every mutating
// call becomes an operation queued to one writer thread that owns the write connection (as
// SqliteStore): it opens a transaction, runs queued operations back to back inside one
// SAVEPOINT until the queue drains or max_batch_ops ran, and commits once (group commit).
// When an operation fails, the savepoint is rolled back and its operations run again one by
// one, each in its own SAVEPOINT, so the failing one leaves nothing behind. Reads use a small
// pool of autocommit connections (read_pool=N in the URL, idle ones kept). Callers block
// until their operation committed, so the libuv loop must call the store through its worker
// threads as it does for SQLite.
//
// Claims: Reserve locks candidate rows with SELECT ... FOR UPDATE SKIP LOCKED, so processes
// reserving at once take different items without waiting for each other. Fences are the
// UPDATE's WHERE (id, lease owner, attempt, lease token, RESERVED), re-checked by PostgreSQL on
// the newest row version. Times are computed here (StoreOptions::now_ms) and passed as
// parameters: the SQL never reads the server's clock.
//
// Files are bytea in the table files (one database to back up and share; a file is held in
// memory while it is written or read, and max_file_bytes bounds it).
//
// A broken connection fails the operations of its transaction with IOError "PostgreSQL
// unavailable: ..." and is reopened before the next one.

#include <atomic>
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

#include "store/postgres/pg_conn.h"
#include "store/store.h"
#include "store/store_checks.h"

namespace robotni::store::postgres {

class PgStore final : public WorkItemStore {
 public:
  static StatusOr<std::unique_ptr<PgStore>> Open(const StoreOptions& options);
  ~PgStore() override;

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
  // Calls `wake` (on the listener thread) when items may have become ready to reserve:
  // created, retried or given back, by this process or another sharing the store. LISTEN on
  // the store's channel ("robotni_<schema>") in a thread with a connection of its own; every
  // commit that made items ready NOTIFYs it. Also called once after every (re)connect of the
  // listening connection, as notifications may have been missed. A hint: reservers keep
  // polling as the fallback. The dispatcher passes its Wake() here.
  void SetWakeCallback(std::function<void()> wake) override;
  StatusOr<int64_t> AllocateIds(int n) override;
  Status Unreserve(const Lease& lease) override;
  StatusOr<int64_t> ReleaseDeadOwners(
      const std::function<bool(const std::string& owner)>& is_dead) override;

  // pg_restore.cc
  StatusOr<int64_t> Restore(const std::vector<ItemRecord>& records) override;
  Status RestoreSchedules(const std::vector<Schedule>& schedules) override;

  // pg_schedules.cc
  StatusOr<std::vector<Schedule>> DefineSchedules(const std::vector<Schedule>& defs) override;
  StatusOr<std::vector<Schedule>> ListSchedules() override;
  StatusOr<Schedule> SetSchedulePaused(const std::string& name, bool paused) override;
  StatusOr<std::string> FireSchedule(const std::string& name, int64_t expected_last_tick_ms,
                                     int64_t tick_ms, const NewItem& job) override;

  // Group-commit counters, as SqliteStore's.
  struct WriterStats {
    int64_t commits = 0;
    int64_t ops = 0;
    int64_t largest_batch = 0;
  };
  WriterStats TEST_WriterStats() const;

 private:
  struct Op;
  // Returns a read connection to the pool when it goes out of scope (unless it broke, or
  // the pool holds read_pool idle ones already).
  class ReaderLease {
   public:
    ReaderLease(PgStore* s, std::unique_ptr<PgConn> c) : s_(s), c_(std::move(c)) {}
    ReaderLease(ReaderLease&&) = default;
    ~ReaderLease();
    PgConn& operator*() { return *c_; }
    PgConn* operator->() { return c_.get(); }

   private:
    PgStore* s_;
    std::unique_ptr<PgConn> c_;
  };

  PgStore(const StoreOptions& options, PgUrl url);
  Status Init();
  int64_t Now() const;

  Status Submit(std::function<Status()> fn);
  // fn(isolated): isolated = the writer runs it again in its own SAVEPOINT after a failure
  // in its batch. fn may run twice: it must reset what it hands back.
  Status SubmitOp(std::function<Status(bool isolated)> fn);
  void WriterLoop();
  Status RunInSavepoint(const std::function<Status()>& fn);
  PgConn& W() { return *writer_; }  // writer thread only
  StatusOr<ReaderLease> AcquireReader();

  Status ValidateNewItem(const NewItem& item, const char* what, size_t index = kNoIndex) const {
    return CheckNewItem(item, options_, what, index);
  }
  Status ValidateJson(const std::string& json, const std::string& what) const {
    return CheckJson(json, what, options_.max_payload_bytes);
  }
  Status ValidateCompletion(const Completion& c) const { return CheckCompletion(c, options_); }

  // Writer-thread helpers (inside an operation).
  StatusOr<int64_t> TakeIds(int64_t n);
  // Ids taken from id_counter ahead, within one run of one operation (a rolled back run
  // gives its block back with the counter).
  struct IdBlock {
    int64_t next = 0, left = 0;
  };
  // block: where the item's id comes from when it has none (nullptr = take one now).
  Status InsertItem(const NewItem& item, int64_t default_parent, int64_t now, int64_t* id,
                    IdBlock* block = nullptr);
  // Many items; default_parents[i] is items[i]'s parent unless it names one. ids: nullable.
  Status InsertItems(const std::vector<const NewItem*>& items,
                     const std::vector<int64_t>& default_parents, int64_t now,
                     std::vector<int64_t>* ids);
  Status InsertFile(int64_t id, const NewFile& f);
  Status FinishDoneRows(const std::vector<const Completion*>& rows, const std::vector<int64_t>& ids,
                        int64_t now);
  Status ReserveInTx(const ReserveRequest& req, std::vector<Item>* items);
  Status CompleteOne(const Completion& c, int64_t now, bool* refused);
  Status KeepStartedRow(int64_t id);
  Status AddTimeline(int64_t id, int64_t at, const std::string& event, int attempt,
                     const std::string& message);
  int64_t BackoffMs(int attempt) { return store::BackoffMs(options_.retry, attempt, rng_); }
  // Fills the files of `items` (of those whose has_files entry is set, when given).
  void ListenLoop();
  std::string Channel() const;
  Status ReadFiles(PgConn& c, std::vector<Item>* items,
                   const std::vector<char>* has_files = nullptr);

  const StoreOptions options_;
  const PgUrl url_;
  std::unique_ptr<PgConn> writer_;  // writer thread only (and Init)
  std::mt19937_64 rng_;             // writer thread only

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Op*> queue_;  // guarded by mu_
  bool stop_ = false;      // guarded by mu_
  std::thread thread_;
  static thread_local Op* follow_up_;

  mutable std::mutex stats_mu_;
  WriterStats stats_;  // guarded by stats_mu_

  bool notify_ = false;  // writer thread only: this transaction made items ready

  std::mutex wake_mu_;
  std::function<void()> wake_;  // guarded by wake_mu_
  std::atomic<bool> listen_stop_{false};
  std::thread listener_;  // started by the first SetWakeCallback

  std::mutex readers_mu_;
  std::vector<std::unique_ptr<PgConn>> readers_;  // idle, guarded by readers_mu_
};

}  // namespace robotni::store::postgres

#endif  // ROBOTNI_RUNTIME_STORE_POSTGRES_PG_STORE_H_
