#ifndef ROBOTNI_RUNTIME_EXEC_DISPATCHER_H_
#define ROBOTNI_RUNTIME_EXEC_DISPATCHER_H_

// Dispatcher: runs job-style work items (one item per call of a registered Python
// function, `@robotni.job("add")`) on warm interpreters.
//
// Runner threads (as many as `concurrency`) each reserve items for the job types that are
// under their per-type concurrency limit, run each one's handler (in an interpreter leased from
// the pool, or a worker process) and commit the outcomes. A runner reserves only when it is
// free. For short jobs it reserves ahead, so that one commit stores a run of outcomes and claims
// the next run: at most `reserve_ahead_ms` of the jobs' expected work (each type's recent mean
// duration), up to 32 jobs, and never a job whose type has not run yet or is slower than that
// behind another. So a RESERVED item starts within about reserve_ahead_ms, and another serve
// process on the same store takes the jobs this one cannot start. Only the first job of a claim
// is stored as started (at its claim); the others are held (started = 0: shown queued) until
// their outcome records their handler's start, or, for one still running past the budget, the
// heartbeat thread does. Outcomes wait for their commit at most about as long (a slow job never
// runs while finished outcomes wait). Nothing here runs on, or blocks, the libuv loop: the loop
// only calls Wake() after a submit. A heartbeat thread extends the leases of the jobs runners
// hold, records the starts of held jobs that run past the budget, and reaps expired leases of
// others.
// Thread-safety: public methods may be called from any thread.

#include <atomic>
#include <condition_variable>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "exec/job_type.h"
#include "exec/python_jobs.h"
#include "python/interpreter_pool.h"
#include "store/store.h"
#include "worker/start_backoff.h"
#include "worker/worker_process.h"

namespace robotni::exec {

struct DispatcherOptions {
  // The robot's job modules and the interpreters they run in (with workers > 0, a
  // worker's main interpreter whatever `python.kind` says).
  PythonJobsConfig python;
  std::vector<std::string> type_filters;  // served types; names or prefixes ending in '%'
  int concurrency = 2;
  std::string owner;
  int64_t lease_ms = 60000;
  int64_t poll_ms = 200;  // idle runners look again this often (Wake() is immediate)
  // The expected work a runner claims at once (see above); 0: one job per claim and commit.
  int64_t reserve_ahead_ms = 10;
  // Process isolation: > 0 runs the Python jobs in this many worker processes
  // (worker/worker_process.h), one job at a time each, and concurrency becomes this
  // number; a worker that dies fails only its own job, with the cause, and is replaced.
  // 0 runs them in this process's interpreters.
  int workers = 0;
  std::string worker_executable;  // "" = worker::DefaultWorkerExecutable()
  JobPolicy policy;
  // Called on a runner thread after an item's outcome was committed (or refused).
  std::function<void(const store::Item& item, const store::Completion& c, const Status& s)>
      on_finished;
  // Called on the job's executor thread after a run.progress(message) was stored.
  std::function<void(const store::Item& item, const std::string& message)> on_progress;
};

class Dispatcher {
 public:
  Dispatcher(store::WorkItemStore* store, python::InterpreterPool* pool, DispatcherOptions options);
  ~Dispatcher();

  // Imports the job modules in an interpreter and reads the registered job types. May be
  // called again while running (serve's SIGHUP): the modules are imported afresh (each
  // interpreter re-imports them before its next job); on error the old types stay.
  Status LoadJobTypes();
  std::vector<JobTypeInfo> types() const;
  // Adds a job type served by host code; it stays across LoadJobTypes reloads.
  // InvalidArgument when the name is empty, not served (type filters) or already taken.
  Status RegisterNativeType(JobTypeInfo info);
  // The type filters that match none of the types the modules registered (before the
  // filters) nor a native type; *known gets those types' names, sorted. For serve's start:
  // `--types nosuch` is a mistake, not an empty service.
  std::vector<std::string> UnmatchedTypeFilters(std::vector<std::string>* known) const;
  // Stable for the dispatcher's life: a reload retires the old types, never frees them.
  const JobTypeInfo* FindType(const std::string& name) const;

  // Replaces DispatcherOptions::on_progress and on_finished (jobs that start later see the
  // new ones).
  void SetObservers(decltype(DispatcherOptions::on_progress) on_progress,
                    decltype(DispatcherOptions::on_finished) on_finished);
  void Start();
  void Wake();
  // Stops taking work; waits up to `grace` for running jobs, then gives the rest
  // back to PENDING (their attempt not counted). Returns how many were given back.
  int Drain(std::chrono::milliseconds grace);

  struct Counters {
    int busy = 0;
    int64_t done = 0, failed = 0, retried = 0;
    struct Outcomes {
      int64_t done = 0, failed = 0, retried = 0;
    };
    std::map<std::string, Outcomes> by_type;  // the same counts by job type
  };
  Counters counters() const;
  // The jobs running now (for serve's drain progress lines), oldest first.
  struct RunningJob {
    std::string id, type;
    std::chrono::steady_clock::time_point started;
    int runner = 0;          // the runner slot (0 .. runners()-1) that runs it
    int64_t started_ms = 0;  // wall clock, ms since the epoch
  };
  std::vector<RunningJob> Running() const;
  int workers() const { return options_.workers; }  // worker processes; 0 = in-process
  // The process id of runner slot `runner`'s worker process; 0 while it has none ready.
  int WorkerPid(int runner) const;
  int runners() const { return options_.concurrency; }  // runner slots: jobs at once
  // The limits a job of `type` runs under, every one set: the policy's, then the type's
  // decorator's, then the policy's section for the type (null type: the policy's).
  Limits LimitsOf(const JobTypeInfo* type) const;

 private:
  void RunnerLoop(int index);
  struct RunnerState;
  // mu_ held by l (released meanwhile): commits r's finished outcomes (reserving up to `ahead`
  // of `queues` in the same transaction when ahead > 0) and reports them; returns the reserve's
  // answer (empty when none was asked).
  StatusOr<std::vector<store::Item>> CommitFinished(RunnerState& r, std::vector<std::string> queues,
                                                    size_t ahead, std::unique_lock<std::mutex>& l);
  // mu_ held: takes what a reserve returned into r.held, after giving back what lies past
  // the budget, and adapts r.ahead.
  void TakeReserved(int index, RunnerState& r, StatusOr<std::vector<store::Item>> got,
                    std::unique_lock<std::mutex>& l);
  // mu_ held by l: gives r's held jobs back to the store. Counts them when stopping.
  void GiveBackHeld(RunnerState& r, std::unique_lock<std::mutex>& l);
  size_t AheadFor(const RunnerState& r) const;       // mu_ held
  double ExpectedUs(const std::string& type) const;  // mu_ held; < 0: not known yet
  bool Quick(const std::string& type) const;         // mu_ held: known, within the budget
  void HeartbeatLoop();
  bool Served(const std::string& type) const;
  const JobTypeInfo* FindTypeLocked(const std::string& name) const;
  std::vector<std::string> ReservableTypes();  // mu_ held: the types under their limit
  store::ReserveRequest ReserveFor(std::vector<std::string> queues, size_t max_items) const;
  struct Observers {
    decltype(DispatcherOptions::on_progress) on_progress;
    decltype(DispatcherOptions::on_finished) on_finished;
  };
  // mu_ held: `item` starts now on runner `index` (counted busy, shown by Running(), its
  // start recorded if it was held); sets item.started_ms and returns the start.
  std::chrono::steady_clock::time_point StartJob(int index, store::Item& item);
  // mu_ held: the job StartJob started ended with `c`, which waits in r.finished for its commit.
  void EndJob(RunnerState& r, store::Item item, store::Completion c,
              std::chrono::steady_clock::time_point started,
              std::shared_ptr<const Observers> observers);
  // A native job, or a Python job in this process's interpreters.
  store::Completion RunOne(const store::Item& item, const Observers& observers);
  // mu_ held by l (released while jobs run): runs r.held's front in the runner's worker
  // process, with the held jobs after it that are not native sent along in one message (up
  // to the worker's max_runs_per_worker), and puts back at r.held's front those a dead
  // worker never started.
  void RunInWorker(int runner, RunnerState& r, std::unique_lock<std::mutex>& l);
  // The failure that replaces an outcome the store refused as invalid (`why`): FAILED at
  // once (BUSINESS, code OUTCOME_REFUSED), the same lease, nothing of the refused outcome.
  static store::Completion RefusedOutcome(const store::Item& item, store::Completion c,
                                          const Status& why);
  // An outcome the store could not take because it could not be reached (IOError: a
  // PostgreSQL restart, a lost connection, a full disk), sent again with backoff (100 ms
  // doubling to 5 s) until it commits, the lease is found lost (Conflict), or a lease's
  // length has passed, after which another node may rightly run the job again. The job stays
  // in running_, so its heartbeats go on meanwhile.
  Status CompleteWhenReachable(const store::Item& item, const store::Completion& c, Status s);
  // A Python job's end, in-process or in a worker: its log attached as job.log, and the
  // completion it reported (or `why`); an APPLICATION failure with `failure_code` and `why`
  // instead when that is set (TIMEOUT when the soft timeout fired, WORKER_DIED ... when its
  // worker was lost).
  store::Completion CompletePythonJob(const store::Item& item, StoreJob& job, std::string log,
                                      const std::string& failure_code, const std::string& why);
  // The runner's worker process, started (or replaced after a reload) when needed.
  StatusOr<std::shared_ptr<worker::WorkerProcess>> WorkerFor(int runner);
  // Before a runner reserves: its worker is up, or is started; false (after waiting out
  // start_backoff_ when starts keep failing) when there is none, so no job is reserved
  // for a worker that cannot start. mu_ held by l.
  bool WorkerReady(int runner, std::unique_lock<std::mutex>& l);
  PythonJobsConfig python_config() const;

  store::WorkItemStore* store_;
  python::InterpreterPool* pool_;
  DispatcherOptions options_;
  worker::StartBackoff start_backoff_;  // shared by the runners: a start fails for all

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false, stopping_ = false;
  uint64_t wakes_ = 0;
  std::vector<JobTypeInfo> types_;
  std::vector<std::string> loaded_names_;                // mu_; every type the last load registered
  std::shared_ptr<const Observers> observers_;           // mu_; replaced whole, copied per job
  std::vector<JobTypeInfo> native_types_;                // also in types_; kept across reloads
  std::vector<std::vector<JobTypeInfo>> retired_types_;  // earlier loads', for FindType()
  std::mutex load_mu_;                                   // one LoadJobTypes() at a time
  uint64_t loads_ = 0;                                   // load_mu_
  std::atomic<uint64_t> generation_{0};                  // of the types_ in use
  std::map<std::string, int> running_per_type_;
  std::map<std::string, double> expected_us_;  // job type -> recent mean duration (mu_)
  // item id -> lease, of every job a runner holds: reserved ahead, running, or run and
  // waiting for its outcome's commit (heartbeated; given back by Drain).
  std::map<std::string, store::Lease> running_;
  std::map<std::string, RunningJob> running_jobs_;  // item id -> what Running() reports
  // The running jobs that were held (claimed ahead: started = 0 in the store, shown queued),
  // by item id: the heartbeat thread records a start in the store once it is `due` (the
  // handler ran past the budget), so a job that proves slow does not show queued for long.
  struct HeldStart {
    store::Start start;
    std::chrono::steady_clock::time_point due;
  };
  std::map<std::string, HeldStart> held_starts_;          // mu_
  std::chrono::steady_clock::time_point next_look_ = {};  // mu_: the heartbeat thread's wake
  Counters counters_;
  int given_back_ = 0;  // jobs reserved ahead that runners gave back when stopping (mu_)
  std::vector<std::thread> runners_;
  std::thread heartbeat_;
  std::vector<std::shared_ptr<worker::WorkerProcess>> workers_;  // mu_; by runner index
};

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_DISPATCHER_H_
