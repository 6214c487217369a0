#ifndef ROBOTNI_RUNTIME_EXEC_QUEUE_BINDING_H_
#define ROBOTNI_RUNTIME_EXEC_QUEUE_BINDING_H_

// QueueBinding: one task run's view of the work-item store, the robocorp adapter
// contract (python::WorkItemBackend) over WorkItemStore.
//
//  - Inputs are reserved in growing batches (1, 2, 4 ... max_prefetch, and no more
//    than ~10 ms of work at the task's pace) so a consumer of many items pays one
//    store round trip per batch, not per item. Leases of
//    prefetched and held items are extended by a heartbeat thread.
//  - Outputs created while their parent is held stay in memory and commit in the
//    parent's Completion (one transaction, fenced: invariant 2). Their ids come from
//    a block allocated in the store up front, so Output.id is final at once.
//    An output saved after its parent was released (created before the input loop,
//    saved after it) waits for the parent's completion to commit, then commits only if
//    that attempt finished the parent for good (WorkItemStore::CreateOutputOfFinished):
//    a retried or lost attempt's output is refused, so a retry never duplicates it.
//  - Completions are group-sent: up to completion_batch releases travel in one
//    CompleteBatch, sent by a background thread while the task goes on (at most two
//    batches in flight), and none waits longer than max_completion_delay_ms for its
//    batch to fill; Flush() / Finish() send the rest and wait for the commit,
//    and report a refused release (lost lease) there.
//  - The next reserve batch is fetched in the background once the items left would
//    last less than a few milliseconds at the task's pace, on its own thread: the
//    task finds its next item ready while the store's writer works. (A slow task
//    keeps few items prefetched; a fast one has the next batch in hand.)
//  - Finish() gives unused prefetched items back (attempt not counted) and settles
//    inputs the task left unreleased: DONE if the task passed, else an APPLICATION
//    failure, as Control Room does for a step's input.
// Thread-safety: all methods may be called from any thread (the task's threads).

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "python/task_context.h"
#include "store/store.h"

namespace robotni::exec {

struct QueueBindingOptions {
  std::string input_queue;
  std::string output_queue;
  std::string owner;  // lease owner, unique per run
  int64_t lease_ms = 60000;
  int max_prefetch = 512;
  int completion_batch = 512;
  // A release waits at most this long for its batch to fill: a slow task's releases
  // reach the store (and stop holding leases nobody heartbeats) soon after they happen.
  int64_t max_completion_delay_ms = 100;
  int64_t max_payload_bytes = 1 << 20;
  // When the first reserve finds the input queue empty, create one empty input ({})
  // and hand it out: what Control Room gives the first step of a process run, and
  // robocorp's FileAdapter gives a run without an input file.
  bool seed_empty_input = false;
  // After Flush (the task's end of work items): store->CheckpointWhenIdle(), so the
  // checkpoint runs while the task and its interpreter wind down (`robotni run`).
  bool checkpoint_after_flush = false;
};

class QueueBinding : public python::WorkItemBackend {
 public:
  // `open_store` is called on first use, so a run that never touches work items
  // never creates a database.
  using StoreOpener = std::function<StatusOr<store::WorkItemStore*>()>;
  QueueBinding(StoreOpener open_store, QueueBindingOptions options);
  ~QueueBinding() override;

  std::string input_queue() const override { return options_.input_queue; }
  std::string output_queue() const override { return options_.output_queue; }
  StatusOr<std::optional<std::string>> ReserveInput() override;
  Status ReleaseInput(const std::string& id, const Release& release) override;
  StatusOr<std::string> CreateOutput(const std::string& parent_id,
                                     std::string payload_json) override;
  StatusOr<std::string> LoadPayload(const std::string& id) override;
  Status SavePayload(const std::string& id, std::string payload_json) override;
  StatusOr<std::vector<std::string>> ListFiles(const std::string& id) override;
  StatusOr<std::string> GetFile(const std::string& id, const std::string& name) override;
  Status AddFile(const std::string& id, const std::string& name, std::string content) override;
  Status RemoveFile(const std::string& id, const std::string& name) override;
  Status Flush() override;
  // Back to the front of the prefetched items (Finish unreserves them, unspent).
  Status GiveBack(const std::string& id) override;

  // Ends the run's use of the store (see above). Idempotent.
  // The run is being interrupted (Ctrl-C, SIGTERM; any thread): from now on the task's
  // releases of its inputs are ignored (robocorp.workitems releases the item a
  // KeyboardInterrupt passes through as an APPLICATION failure), and Finish gives every
  // held item back to the queue as it was: attempt not counted, its outputs dropped.
  void Interrupt();
  // `failure` (task failed) says why in the unreleased inputs' error message.
  Status Finish(bool task_passed, const std::string& failure = "");

  struct Counters {
    int64_t reserved = 0, released = 0, outputs = 0, lost_leases = 0;
  };
  Counters counters() const;

 private:
  struct Held {
    store::Item item;
    std::vector<store::NewItem> outputs;  // deferred until release
  };
  StatusOr<store::WorkItemStore*> Store();  // mu_ held
  // Hands pending completions to the background thread; with `wait`, waits until
  // everything sent has been committed and returns the first error.
  Status FlushLocked(std::unique_lock<std::mutex>& l, bool wait);
  // Two background lanes, each a thread running its jobs in order: completions, and
  // reserve-ahead (so a reserve never waits for a completion batch's commit).
  struct Lane {
    std::deque<std::function<void()>> jobs;
    std::thread thread;
  };
  store::ReserveRequest NextRequest();                    // mu_ held; grows the batch
  void StartReserveAhead();                               // mu_ held
  void Background(Lane& lane, std::function<void()> fn);  // mu_ held
  void BackgroundLoop(Lane& lane);
  StatusOr<std::string> NextOutputId(std::unique_lock<std::mutex>& l);  // mu_ held by l
  // An output whose parent this run already released (see the class comment).
  StatusOr<std::string> CreateLateOutput(std::unique_lock<std::mutex>& l, store::NewItem out);
  store::NewItem* FindDeferred(const std::string& id);  // mu_ held
  void HeartbeatLoop();

  StoreOpener open_store_;
  QueueBindingOptions options_;
  store::WorkItemStore* store_ = nullptr;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<store::Item> prefetched_;
  // Hash containers: one insert and one erase per item and per output on the task's
  // thread; released_ holds every id of the run, with the attempt and lease token it was
  // released under: the fence of an output saved after its parent's release.
  struct Fence {
    int attempt = 0;
    int64_t token = 0;
  };
  std::unordered_map<std::string, Held> held_;
  std::unordered_map<std::string, std::string> deferred_parent_;  // output id -> parent id
  std::unordered_map<std::string, Fence> released_;
  std::vector<store::Completion> pending_;
  std::chrono::steady_clock::time_point pending_since_;  // when pending_ got its first
  Lane completer_, reserver_;
  int in_flight_ = 0;       // completion batches sent, not yet committed
  bool reserving_ = false;  // a reserve-ahead is running
  Status async_error_;      // first refused completion batch
  int next_batch_ = 1;
  int64_t last_handout_ns_ = 0;  // when ReserveInput last handed out an item
  int64_t pace_ns_ = 0;          // moving average of the task's time per item
  bool queue_empty_ = false;
  int64_t next_id_ = 0, ids_left_ = 0;
  // The next block of output ids, allocated on the reserver lane before this one runs out
  // (an allocation waits behind the writer's current batch: in the task's thread, with
  // mu_ held, that cost a 20k-item run 30-60 ms). Blocks double up to kMaxIdBlock.
  int64_t spare_first_ = 0, spare_count_ = 0;
  int id_block_ = 0;  // the size of the next block asked for
  bool allocating_ = false;
  bool finished_ = false;
  bool interrupted_ = false;
  bool stop_ = false;
  Counters counters_;
  std::thread heartbeat_;
};

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_QUEUE_BINDING_H_
