#ifndef ROBOTNI_RUNTIME_EXEC_TASK_CONSUMER_H_
#define ROBOTNI_RUNTIME_EXEC_TASK_CONSUMER_H_

// TaskConsumer: one robot.yaml task consuming its input queue inside `robotni serve`.
//
// A thread looks at the input queue every poll_ms (Wake() looks at once). When items
// are queued, it runs the task in a warm interpreter from the pool, bound to the queue
// through a QueueBinding exactly as `robotni run` binds it: the task's
// `for item in inputs:` drains what is there, the run ends, and the thread waits for
// more. One run of a task at a time. A run's stdout and stderr go to its own log file.
// A run that fails without releasing an item, or reserved nothing although items were
// queued, delays the next one (1 s doubling up to 60 s) so a broken task does not spin;
// a run that failed after releasing items (its worker was killed) is followed at once.
//
// Drain (SIGTERM): BeginDrain() hands the running task no further items, so its loop
// ends after the current one; Drain(deadline) waits for it until the deadline, then
// gives every item the run still holds back to PENDING (attempt not counted). A run
// stuck in native code past its timeout is abandoned the same way.
// Thread-safety: public methods may be called from any thread.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "exec/work_item_queues.h"
#include "python/interpreter.h"
#include "python/interpreter_pool.h"
#include "store/store.h"
#include "worker/start_backoff.h"
#include "worker/worker_process.h"

namespace robotni::exec {

struct TaskRunReport {
  std::string task;
  int64_t run = 0;                          // 1, 2, ... per consumer
  int64_t items = 0, done = 0, failed = 0;  // inputs reserved; how they were released
  int64_t released = 0;                     // of them by the task itself (not at the end)
  double seconds = 0;
  std::string result;  // "ok", "failed", "timeout", "error", "stuck", "stopped"
  int exit_code = 0;
  std::string detail;  // why, for anything but "ok"
  std::filesystem::path log;
};

struct TaskConsumerOptions {
  std::string task;  // robot.yaml task name
  QueueNames queues;
  python::TaskSpec spec;  // the task's command, sys.path, os.environ and timeout
  std::string pool_key;   // interpreter pool key: this task's warm interpreter
  python::Interpreter::Kind kind = python::Interpreter::Kind::kSubinterpreter;
  // isolation process: runs go to a worker process of this consumer's own (started on the
  // first run, replaced when it dies); a run past the drain's grace is killed there
  // instead of being left stuck in this process.
  bool in_worker = false;
  int64_t memory_limit_mb = 0;  // of the worker while a run is in it; 0 = none
  // The worker is replaced after a run once it took this many items; 0 = never.
  int64_t max_items_per_worker = 0;
  int64_t max_output_bytes = -1;  // kept of each stream in a run's log, then a note; -1 = all
  std::string owner;              // lease owner prefix; a run's owner is "<owner>:<task>:<run>"
  std::filesystem::path log_dir;  // run logs ("" = none)
  int keep_logs = 100;            // per task; older run logs are deleted
  int64_t poll_ms = 250;
  int64_t lease_ms = 60000;
  int64_t max_payload_bytes = 1 << 20;  // QueueBindingOptions::max_payload_bytes
  // After each run, on the consumer's thread (a "stuck" report: on the watchdog's).
  std::function<void(const TaskRunReport&)> on_run;
};

class TaskConsumer {
 public:
  TaskConsumer(store::WorkItemStore* store, python::InterpreterPool* pool,
               TaskConsumerOptions options);
  // Stops looking for work and waits for a run in progress (Drain first to bound it).
  ~TaskConsumer();

  void Start();
  void Wake();
  void BeginDrain();
  // Returns how many reserved items were given back. Afterwards stuck() tells whether
  // a run is still executing (it can then only be abandoned with the process).
  int Drain(std::chrono::steady_clock::time_point deadline);
  bool stuck() const;

  struct Snapshot {
    std::string task, input_queue, output_queue;
    bool running = false, stuck = false;
    int64_t runs = 0, items = 0, done = 0, failed = 0;
    TaskRunReport last;
  };
  Snapshot snapshot() const;
  const TaskConsumerOptions& options() const { return options_; }

 private:
  class RunItems;
  Status StartWorker();  // the consumer thread's worker_, unless it is running
  python::TaskResult RunInWorker(python::TaskContext* log, RunItems* items);
  void Loop();
  bool HasQueuedItems();
  TaskRunReport RunOnce(int64_t run);
  int GiveBack(const std::string& owner);  // unreserves what `owner` holds in the input queue
  std::filesystem::path NewLogPath(int64_t run);
  void PruneLogs();

  store::WorkItemStore* store_;
  python::InterpreterPool* pool_;
  TaskConsumerOptions options_;
  worker::StartBackoff start_backoff_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false, stopping_ = false, draining_ = false, running_ = false;
  bool stuck_ = false;
  std::unique_ptr<worker::WorkerProcess> worker_;    // the consumer thread's (in_worker)
  int64_t worker_items_ = 0;                         // items worker_'s runs reserved
  worker::WorkerProcess* running_worker_ = nullptr;  // mu_; worker_ while a run is in it
  uint64_t wakes_ = 0;
  int failures_ = 0;  // consecutive runs that failed or found nothing
  std::chrono::steady_clock::time_point not_before_;
  std::string run_owner_;          // the run in progress
  RunItems* run_items_ = nullptr;  // the run in progress
  Snapshot totals_;
  std::thread thread_;
};

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_TASK_CONSUMER_H_
