#ifndef ROBOTNI_RUNTIME_STORE_STORE_H_
#define ROBOTNI_RUNTIME_STORE_STORE_H_

// WorkItemStore: the durable work-item queue. SQLite is the embedded default
// (sqlite/sqlite_store.cc); PostgreSQL (postgres/pg_store.cc, docs/postgresql.md) is the
// shared one, behind the same interface.
//
// Invariants (DESIGN.md): every reserved item has a lease (owner + attempt + expiry);
// completion and the outputs of that attempt commit in one transaction, fenced by
// (id, lease owner, attempt); expired leases are reaped back to PENDING with
// attempt+1 and backoff, or to FAILED after max_attempts.
//
// Thread-safety: all methods may be called from any thread concurrently. The SQLite
// implementation funnels writes through one writer thread that group-commits.
// Times are milliseconds since the Unix epoch (UTC).

#include <array>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "robotni/status.h"

namespace robotni::store {

enum class State { kPending, kReserved, kDone, kFailed, kCancelled };
enum class ExceptionType { kNone, kBusiness, kApplication };
// What made an item: the job API (POST /api/worker/jobs, Runtime::Enqueue of a job type) or
// anything else (robot tasks, `robotni items`, /api/work-items). Set at create, never changed.
enum class Kind { kItem, kJob };

const char* StateName(State s);                       // "PENDING", "RESERVED", "DONE", ...
std::optional<State> ParseState(std::string_view s);  // also accepts robocorp/Action Server names
const char* ExceptionTypeName(ExceptionType t);       // "", "BUSINESS", "APPLICATION"
const char* KindName(Kind k);                         // "item", "job"

struct FileRef {
  std::string name;
  int64_t size = 0;
  std::string sha256;  // lowercase hex
};

struct NewFile {
  std::string name;     // validated: no "..", no '/', no NUL, not empty, <= 255 bytes
  std::string content;  // bytes
};

struct NewItem {
  std::string queue;                // queue or job type ("notify.email.v1")
  std::string payload_json = "{}";  // any JSON value; validated
  int priority = 0;                 // higher first
  int64_t not_before_ms = 0;        // scheduled: not reservable before this time
  int max_attempts = 3;
  std::string parent_id;        // "" = none
  std::string idempotency_key;  // "" = none; a second create returns the first item
  std::vector<NewFile> files;
  std::string meta_json;  // "" = none; else a JSON object the service keeps with the item
  Kind kind = Kind::kItem;
  // "" = the store assigns one; else an id from AllocateIds (outputs that must know
  // their id before they are committed).
  std::string id;
};

struct TimelineEntry {
  int64_t at_ms = 0;
  std::string event;  // "queued", "started", "progress", "finished", "retry", "cancel", ...
  int attempt = 0;
  std::string message;
};

struct Item {
  std::string id;  // decimal text of an int64
  std::string queue;
  State state = State::kPending;
  std::string payload_json;
  int priority = 0;
  int attempt = 0;  // attempts started so far
  int max_attempts = 3;
  std::string parent_id;
  std::string idempotency_key;
  std::string lease_owner;
  int64_t lease_expires_ms = 0;
  int64_t created_ms = 0, not_before_ms = 0, started_ms = 0, finished_ms = 0, updated_ms = 0;
  std::string result_json;  // DONE: the result ("" = none)
  ExceptionType exception_type = ExceptionType::kNone;
  std::string error_code, error_message, traceback;
  bool cancel_requested = false;
  int64_t lease_token = 0;  // grows with every reservation of this item; see Lease::token
  std::vector<FileRef> files;
  std::string meta_json;  // as given at create ("" = none)
  Kind kind = Kind::kItem;
};

struct Lease {
  std::string item_id;
  std::string owner;
  int attempt = 0;
  // Item::lease_token of the reservation; 0 = not checked. A manual Retry resets attempt,
  // so (owner, attempt) can repeat; the token never does (per item). Pass it.
  int64_t token = 0;
};

// The lease an item was reserved under (its holder's fence for later calls).
inline Lease LeaseOf(const Item& item) {
  return {item.id, item.lease_owner, item.attempt, item.lease_token};
}

struct ReserveRequest {
  std::vector<std::string> queues;  // exact queue names, or prefixes ending in '%' ("notify.%")
  std::string owner;                // lease owner, e.g. "host:pid:executor"
  int64_t lease_ms = 60000;
  int max_items = 1;
  // Only what a consumer of the items needs: id, queue, state, payload, priority, attempt,
  // max_attempts, lease owner / expiry / token, started, files. The other fields stay
  // empty. Reading back all 24 columns of every claimed row cost the writer ~1 us an item.
  bool lean = false;
  // How many of the claimed items (the first ones, in claim order) the caller starts now;
  // -1 = all. The others are *held* (a runner claimed them ahead, to run back to back): they
  // are RESERVED under their lease like the rest, but with started = 0, so they show as
  // queued (QueueStats::held, IsHeld) until RecordStarts or their completion sets it.
  int start_now = -1;
};

// An item a runner claimed ahead and has not started: shown "queued", not "running".
inline bool IsHeld(const Item& item) {
  return item.state == State::kReserved && item.started_ms == 0;
}

// A held item's handler started at `started_ms` (see ReserveRequest::start_now).
struct Start {
  Lease lease;
  int64_t started_ms = 0;
};

struct Completion {
  Lease lease;
  bool ok = true;                                              // DONE, else FAILED
  std::string result_json;                                     // DONE
  ExceptionType exception_type = ExceptionType::kApplication;  // FAILED
  std::string error_code, error_message, traceback;
  std::optional<std::string> payload_json;  // the input's payload if the task changed it
  std::vector<NewItem> outputs;  // created by this attempt; committed only if the fence holds
  // When the attempt's handler started (ms since the epoch), recorded as the item's `started`;
  // 0 keeps the claim's time. A runner that claimed jobs ahead starts them after their claim.
  int64_t started_ms = 0;
};

// An item as another system recorded it (`robotni items import --from-action-server`):
// created with its state, error, attempt and times as they were.
struct ImportedItem {
  NewItem item;                   // its parent_id is ignored: parent_index says it
  int parent_index = -1;          // the parent: another entry of the same Import; -1 = none
  State state = State::kPending;  // not kReserved: nobody holds an imported item
  ExceptionType exception_type = ExceptionType::kNone;
  std::string error_code, error_message;
  int attempt = 0;
  int64_t created_ms = 0;   // 0 = now
  int64_t started_ms = 0;   // 0 = never started
  int64_t finished_ms = 0;  // DONE, FAILED, CANCELLED; 0 = now
  std::string note;         // the message of its "imported" timeline entry
};

// One item exactly as a store holds it (`robotni store migrate`): every column, its id and
// lease fields included, its timeline as Timeline() gives it, and the bytes of its files.
struct ItemRecord {
  Item item;                            // not kReserved: a migrated item has no live holder
  std::vector<TimelineEntry> timeline;  // Timeline(item.id)
  std::vector<NewFile> files;           // the contents of item.files, by name
};

struct RetryPolicy {
  int64_t base_delay_ms = 1000;  // delay before attempt n+1 = base * 2^(n-1), capped, jittered
  int64_t max_delay_ms = 300000;
  double jitter = 0.2;  // +-20%
};

// Item counts of one queue by state: the one definition that `serve`'s status, work-items
// stats, metrics and dashboard show (through StateCounts, under the names given there).
// Every item is in exactly one of them, so they add up to total(). Read in one SQLite read
// transaction (sqlite_store.cc, Stats).
struct QueueStats {
  std::string queue;
  int64_t pending = 0;    // "queued": PENDING and due (not_before <= now)
  int64_t scheduled = 0;  // PENDING not due yet: a future run_at / delay, or a retry's backoff
  int64_t held = 0;       // "queued" too: RESERVED, not started (IsHeld: claimed ahead)
  int64_t reserved = 0;   // "running": RESERVED and started (its handler runs)
  int64_t done = 0, failed = 0, cancelled = 0;
  int64_t total() const {
    return pending + scheduled + held + reserved + done + failed + cancelled;
  }
};

// The counts of `q` under their API names, in this order: queued (pending + held), scheduled,
// running, done, failed, cancelled.
struct StateCount {
  const char* name;
  int64_t count;
};
std::array<StateCount, 6> StateCounts(const QueueStats& q);

struct ListFilter {
  std::string queue;  // "" = all
  std::optional<State> state;
  // `state` as a job's status shows it (the job API's "queued" and "running"): a job claimed
  // ahead and not started (IsHeld) is listed with kPending, not with kReserved.
  bool held_as_pending = false;
  std::optional<Kind> kind;  // none = both; kJob reads an index of jobs only
  int limit = 100;
  int offset = 0;
  bool newest_first = true;
  // By schedule (huey's pending / scheduled listings), applied in SQL before `limit`:
  std::optional<int64_t> due_by_ms;     // only items with not_before <= this
  std::optional<int64_t> due_after_ms;  // only items with not_before > this
  // The dashboard's filters (GET /api/worker/jobs), all applied in SQL before `limit`:
  // `text` is a substring (SQL LIKE, ASCII case-insensitive, its % _ \ taken literally) of the
  // stored payload JSON text, error code, error message or traceback; "" = any.
  std::string text;
  std::optional<int64_t> created_from_ms;  // only items created at or after this
  std::optional<int64_t> created_to_ms;    // only items created before this
  // Keyset paging: only ids below / above these (ids grow in creation order, and are unique,
  // so a page boundary holds when rows are added or removed meanwhile, unlike an offset).
  std::optional<int64_t> id_below, id_above;
};

// A periodic job (docs/serve.md "Periodic jobs"): its definition and where it stands. The
// store keeps the tick each schedule handled last, so that processes sharing the store
// enqueue one job per tick between them, across restarts.
struct Schedule {
  std::string name;
  std::string queue;  // the job type its jobs go to
  std::string cron;
  std::string timezone = "UTC";
  std::string params_json = "{}";
  bool paused = false;
  int64_t last_tick_ms = 0;  // the last tick handled: enqueued, or passed by a resume
  std::string last_job_id;   // the job of the last enqueued tick; "" = none yet
  int64_t updated_ms = 0;
};

struct StoreOptions {
  // "sqlite:///abs/path/workitems.db" or a plain path, or
  // "postgresql://user@host:5432/db?search_path=schema&read_pool=4" (docs/postgresql.md).
  std::string url;
  std::string files_dir;          // "" = "<db dir>/work_item_files"
  bool synchronous_full = false;  // SQLite synchronous=FULL (else NORMAL)
  int64_t max_payload_bytes = 1 << 20;
  int64_t max_file_bytes = 100 << 20;
  int64_t group_commit_window_us = 0;  // extra wait to gather a batch; 0 = commit when idle
  RetryPolicy retry;
  bool read_only = false;
  // false: a database file that does not exist is NotFound ("no work-item store at PATH")
  // and nothing (file or directory) is created.
  bool create_if_missing = true;
  // Operations per group-commit transaction at most (the writer commits earlier when
  // its queue drains).
  int max_batch_ops = 1000;
  // WAL frames (pages) after which a commit checkpoints. SQLite's default is 1,000; at
  // 10,000 (~40 MB of WAL) a page that many commits rewrite (the indexes' upper levels) is
  // copied to the database once instead of ten times: the 20k-item consumer ran 13% faster
  // in its task. With synchronous=NORMAL, commits since the last checkpoint can roll back
  // after a power loss (never after a process crash); synchronous=FULL syncs every commit.
  int wal_autocheckpoint_pages = 10'000;
  // Clock in ms since the epoch; empty = the system clock. Tests inject time here.
  std::function<int64_t()> now_ms;
};

// See WorkItemStore::ReadCommitStamp: equal stamps, no commit in between.
struct CommitStamp {
  std::array<uint32_t, 12> words{};
  bool operator==(const CommitStamp&) const = default;
};

class WorkItemStore {
 public:
  // Opens (and creates / migrates) the store named by options.url. Errors: the path is
  // not a database, is read-only, or has a newer schema version than this build.
  static StatusOr<std::unique_ptr<WorkItemStore>> Open(const StoreOptions& options);
  virtual ~WorkItemStore() = default;

  virtual StatusOr<std::string> Create(const NewItem& item) = 0;
  virtual StatusOr<std::vector<std::string>> CreateBatch(const std::vector<NewItem>& items) = 0;
  // An output saved after its parent's completion committed (robocorp's templates create
  // an output before the input loop and save it after): inserted only if the parent was
  // finished for good (DONE, FAILED, CANCELLED) by the attempt `parent` names, which a
  // finished row keeps (owner, attempt, lease token). Conflict, and nothing written, when
  // that attempt was retried (PENDING again: the retry makes its own outputs), lost its
  // lease, or has not been completed yet. output.id should be preallocated (AllocateIds):
  // a second insert of the same output is then refused, never a copy.
  // Creates every item or none, in one transaction, parents before their children;
  // returns the ids in order. An entry whose idempotency key is in the store already gives
  // that item's id and changes nothing (a second import of the same items copies none).
  virtual StatusOr<std::vector<std::string>> Import(const std::vector<ImportedItem>& items) = 0;
  virtual StatusOr<std::string> CreateOutputOfFinished(const Lease& parent,
                                                       const NewItem& output) = 0;

  // Highest priority, then oldest; skips scheduled and cancel-requested items. Sets
  // RESERVED, lease owner + expiry, attempt+1, started time (0 past request.start_now).
  // Empty vector = nothing.
  virtual StatusOr<std::vector<Item>> Reserve(const ReserveRequest& request) = 0;

  // Extends the lease. Conflict when the lease is lost (expired and reaped, or
  // re-reserved by someone else, or the item was finished).
  virtual Status Heartbeat(const Lease& lease, int64_t lease_ms) = 0;
  virtual Status HeartbeatBatch(const std::vector<Lease>& leases, int64_t lease_ms) = 0;
  // Records the handler starts of held items: `started` is set where it is still 0 under the
  // lease. An item whose lease is gone, or whose start is recorded, is passed over: the
  // start is shown, not fenced (its completion records it again).
  virtual Status RecordStarts(const std::vector<Start>& starts) = 0;

  // DONE or FAILED plus outputs, in one transaction, fenced. Conflict when the fence
  // fails (outputs discarded). APPLICATION failures go back to PENDING with backoff
  // while attempt < max_attempts; BUSINESS failures are final.
  virtual Status Complete(const Completion& completion) = 0;
  // Many completions in one transaction; one Status per completion.
  virtual std::vector<Status> CompleteBatch(const std::vector<Completion>& completions) = 0;

  virtual Status UpdatePayload(const Lease& lease, const std::string& payload_json) = 0;
  virtual Status Progress(const Lease& lease, const std::string& message) = 0;
  // Appends a timeline entry that needs no lease (the service's own records, e.g.
  // webhook deliveries), tagged with the item's current attempt.
  virtual Status RecordEvent(const std::string& item_id, const std::string& event,
                             const std::string& message) = 0;

  // Files of an item (input or output).
  virtual Status AddFile(const std::string& item_id, const NewFile& file) = 0;
  virtual Status RemoveFile(const std::string& item_id, const std::string& name) = 0;
  virtual StatusOr<std::string> GetFile(const std::string& item_id, const std::string& name) = 0;

  // PENDING -> CANCELLED; RESERVED -> cancel_requested (the task can read it).
  virtual Status Cancel(const std::string& item_id) = 0;
  virtual StatusOr<bool> IsCancelRequested(const Lease& lease) = 0;
  // Cancels all PENDING items of a queue; returns how many.
  virtual StatusOr<int64_t> Flush(const std::string& queue) = 0;
  // FAILED or CANCELLED -> PENDING with attempt reset and max_attempts unchanged.
  virtual Status Retry(const std::string& item_id) = 0;

  virtual StatusOr<Item> Get(const std::string& item_id) = 0;
  virtual StatusOr<std::vector<Item>> List(const ListFilter& filter) = 0;
  // How many items `filter` matches, ignoring its limit, offset and id bounds.
  virtual StatusOr<int64_t> Count(const ListFilter& filter) = 0;
  virtual StatusOr<std::vector<QueueStats>> Stats(const std::string& queue) = 0;  // "" = all
  virtual StatusOr<std::vector<TimelineEntry>> Timeline(const std::string& item_id) = 0;

  // Expired leases -> PENDING (attempt < max) or FAILED; returns how many.
  virtual StatusOr<int64_t> ReapExpired(int64_t now_ms) = 0;
  // Deletes DONE/FAILED/CANCELLED items finished before the cutoff, with their files.
  virtual StatusOr<int64_t> Prune(int64_t finished_before_ms) = 0;
  // Deletes one item in any state, with its timeline and files. NotFound when absent.
  virtual Status Delete(const std::string& item_id) = 0;

  // Schedules. DefineSchedules creates the ones the store does not have, with last_tick =
  // now (their first job is the first tick after), and updates the definition (queue, cron,
  // timezone, params) of the others, keeping last_tick and paused; a definition with
  // `paused` set pauses its schedule. Returns every schedule of the store, by name.
  virtual StatusOr<std::vector<Schedule>> DefineSchedules(const std::vector<Schedule>& defs) = 0;
  virtual StatusOr<std::vector<Schedule>> ListSchedules() = 0;
  // Pauses or resumes a schedule; a resume moves last_tick up to now, so the ticks that
  // passed while it was paused are not caught up. Returns it as it is now; NotFound.
  virtual StatusOr<Schedule> SetSchedulePaused(const std::string& name, bool paused) = 0;
  // The tick `tick_ms` of schedule `name`, in one transaction: last_tick goes from
  // `expected_last_tick_ms` to `tick_ms` (compare and set) and `job` is created. Conflict,
  // and nothing written, when last_tick is no longer the expected one (another process
  // handled the tick), or the schedule is paused or gone. Returns the job's id.
  virtual StatusOr<std::string> FireSchedule(const std::string& name, int64_t expected_last_tick_ms,
                                             int64_t tick_ms, const NewItem& job) = 0;

  // Blocks until every write accepted so far is committed.
  virtual Status Sync() = 0;
  // Asks the store to copy what its write-ahead log holds into the database as soon as
  // it has nothing else to do, without waiting for it (a hint: `robotni run` gives it when
  // a step's work items are settled, so the copy overlaps the interpreter's teardown
  // instead of lengthening the close). No-op where there is no such log.
  virtual void CheckpointWhenIdle() {}
  // A value that every commit to the store changes, by any connection of any process, read
  // with neither a system call nor a lock, so that a cache of what was read from the store
  // (api/job_view_cache.h) can be checked before every use. SQLite: the WAL-index header.
  // nullopt where the store has none (PostgreSQL) or cannot read it consistently now (a
  // commit is writing it): then nothing read before may be taken as current. Any thread.
  virtual std::optional<CommitStamp> ReadCommitStamp() const { return std::nullopt; }

  // Reserves `n` ids no other create will use; returns the first (they are
  // first..first+n-1). Ids stay increasing, so order by id stays creation order.
  virtual StatusOr<int64_t> AllocateIds(int n) = 0;
  // A runner that finished items and wants its next: commits `completions` (as
  // CompleteBatch), then reserves as Reserve(next) in the same transaction where the backend
  // can, one commit instead of two per batch. The reserve runs even when completions are
  // refused.
  struct CompleteBatchAndReserveResult {
    std::vector<Status> completed;  // one per completion
    StatusOr<std::vector<Item>> reserved = std::vector<Item>{};
  };
  virtual CompleteBatchAndReserveResult CompleteBatchAndReserve(
      const std::vector<Completion>& completions, const ReserveRequest& next) {
    CompleteBatchAndReserveResult r;
    r.completed = CompleteBatch(completions);
    r.reserved = Reserve(next);
    return r;
  }
  // The same for one completion.
  struct CompleteAndReserveResult {
    Status completed;
    StatusOr<std::vector<Item>> reserved = std::vector<Item>{};
  };
  CompleteAndReserveResult CompleteAndReserve(const Completion& completion,
                                              const ReserveRequest& next) {
    auto b = CompleteBatchAndReserve({completion}, next);
    return {std::move(b.completed.front()), std::move(b.reserved)};
  }
  // Writes `records` as they are (ids, states, attempts, results, errors, times, lease
  // fields, timelines, files) in one transaction, for `robotni store migrate`; later ids
  // start above the highest. A record whose id the store holds already, with the same queue
  // and created time, is left as it is (a re-run); any other item under that id or under
  // its idempotency key is Conflict, and nothing is written. Returns how many were written.
  virtual StatusOr<int64_t> Restore(const std::vector<ItemRecord>& records) {
    (void)records;
    return Status::Unsupported("this store cannot restore items");
  }
  // Creates or overwrites schedules with every field as given (paused, last tick, last job).
  virtual Status RestoreSchedules(const std::vector<Schedule>& schedules) {
    (void)schedules;
    return Status::Unsupported("this store cannot restore schedules");
  }
  // `wake` is called (from a thread of the store's) when another process made items ready,
  // so idle reservers look at once instead of at their next poll (PostgreSQL: LISTEN/NOTIFY).
  // A hint: polling stays the fallback. nullptr stops the calls; once it returns, `wake` is
  // not running and will not be called. No-op where one process owns the store (SQLite).
  virtual void SetWakeCallback(std::function<void()> wake) { (void)wake; }
  // Gives a reserved item back untouched: PENDING again, the attempt not counted.
  // Conflict when the lease is no longer held.
  virtual Status Unreserve(const Lease& lease) = 0;
  // Items leased by owners for which `is_dead(owner)` is true (a runtime that was
  // killed) go back to PENDING at once, or FAILED when attempts are exhausted; their
  // attempt counts. Returns how many. Invariant 1 without waiting for lease expiry.
  virtual StatusOr<int64_t> ReleaseDeadOwners(
      const std::function<bool(const std::string& owner)>& is_dead) = 0;
};

// Checks a work-item file name: not empty, <= 255 bytes, no '/', '\\', NUL, not "."
// or "..". InvalidArgument naming the problem.
Status ValidateFileName(const std::string& name);

}  // namespace robotni::store

#endif  // ROBOTNI_RUNTIME_STORE_STORE_H_
