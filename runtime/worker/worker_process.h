#ifndef ROBOTNI_RUNTIME_WORKER_WORKER_PROCESS_H_
#define ROBOTNI_RUNTIME_WORKER_WORKER_PROCESS_H_

// WorkerProcess: the control process's handle on one worker process (worker_main.h).
//
// Started with posix_spawn (never a fork that then runs Python: reference R23, R25) in a
// process group of its own (a terminal's Ctrl-C is the control process's to handle),
// with one end of a socketpair as its fd 3. RunBatch() sends it jobs and blocks until their
// outcomes arrive or the worker dies, answering their progress, heartbeat and cancel
// messages meanwhile, and enforcing the hard limits the worker cannot enforce on itself:
// a job past its timeout plus the kill grace, or a worker over its memory limit, is
// killed with SIGKILL. A death is named: "signal 11 (SIGSEGV)", "exit code 3",
// "timeout after 30 s, killed", "memory limit 512 MiB exceeded".
//
// Thread-safety: one thread calls Start/RunBatch/RunTask/the destructor; Kill may be called from
// any thread.

#include <sys/types.h>

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "exec/job_type.h"
#include "exec/python_jobs.h"
#include "python/interpreter.h"
#include "python/task_context.h"
#include "robotni/status.h"
#include "store/store.h"
#include "worker/frame.h"

namespace robotni::worker {

struct WorkerSpec {
  std::string executable;  // a program whose `worker --fd 3` runs worker::WorkerMain
  exec::PythonJobsConfig config;
  uint64_t generation = 0;  // of the job modules (a reload starts new workers)
};

// How a job ended in a worker. When `died` the worker is gone and `cause` says how;
// otherwise the job's own outcome was reported on the JobBackend passed to Run.
struct WorkerRun {
  bool died = false;
  std::string error_code;  // WORKER_DIED, TIMEOUT or MEMORY_LIMIT when died
  std::string cause;
  std::string log;         // the job's output; when `died`, what it printed before (streamed)
  bool timed_out = false;  // the soft timeout fired (the job reported TaskTimeout)
  std::string why;         // the worker's fallback when the job reported nothing
};

struct RunLimits {
  double timeout = 0;             // seconds, 0 = none: soft, raised in Python by the worker
  double kill_grace = 5;          // then the worker is killed
  int64_t memory_limit_mb = 0;    // resident memory of the worker; 0 = none
  int64_t max_output_bytes = -1;  // kept of each stream of the job's output; -1 = all
};

// "signal 11 (SIGSEGV)", "exit code 3", from a waitpid status.
std::string DescribeExit(int wait_status);

// The worker program to start: $ROBOTNI_WORKER_EXECUTABLE, else the `robotni` executable
// that holds this code, else the `robotni` installed beside this library (<prefix>/bin),
// else one next to it (a build tree). Empty when none exists.
std::string DefaultWorkerExecutable();

// A worker for robot tasks (RunTask): the default executable, no job modules, the main
// interpreter; `root` names the robot.
WorkerSpec TaskWorkerSpec(const std::string& root);

class WorkerProcess {
 public:
  // Spawns the worker and waits (up to `start_timeout`) for its hello: the job types
  // the robot's modules registered. Fails with the worker's own message when the
  // modules do not import, and says so when the worker dies first.
  static StatusOr<std::unique_ptr<WorkerProcess>> Start(
      const WorkerSpec& spec,
      std::chrono::milliseconds start_timeout = std::chrono::milliseconds(60000));
  ~WorkerProcess();  // closes the stream; a worker that does not leave in 1 s is killed

  const std::vector<exec::JobTypeInfo>& types() const { return types_; }
  pid_t pid() const { return pid_; }
  uint64_t generation() const { return generation_; }
  int jobs_run() const { return jobs_run_; }
  bool alive() const { return !exited_; }

  // Runs jobs one after another, sent in one message: the worker hands them to its
  // interpreter's thread once, and their outcomes are read here as each ends (a job at a
  // time cost two round trips between threads, and a pair of context switches, per job).
  // on_start(k) is called when job k starts as far as this process can tell (job 0 at once,
  // each later one when the outcome before it arrived: its timeout counts from there);
  // on_done(k, run) after its outcome. Returns how many started; when the worker died, the
  // last of them got `died` and the ones after it never started.
  struct BatchJob {
    const store::Item* item = nullptr;
    RunLimits limits;
    python::JobBackend* job = nullptr;
  };
  size_t RunBatch(const std::vector<BatchJob>& jobs, const std::function<void(size_t k)>& on_start,
                  const std::function<void(size_t k, WorkerRun run)>& on_done);
  // Runs a robot task (isolation process) in the worker's main interpreter: its output
  // goes to context->Write as it is written, and its work-item calls are answered on
  // context->work_items() here. `spec.timeout_seconds` is soft in the worker; past it plus
  // `kill_grace`, or over `memory_limit_mb` (0 = none), the worker is killed. When the
  // worker dies, `died` and `cause` say so.
  struct TaskRun {
    bool died = false;
    std::string cause;
    python::TaskResult result;
  };
  TaskRun RunTask(const python::TaskSpec& spec, double kill_grace, python::TaskContext* context,
                  int64_t memory_limit_mb = 0);
  // SIGINT to the worker: KeyboardInterrupt in the robot task it runs. Any thread.
  void Interrupt();
  // SIGKILL now (the running Run returns with died = true). Any thread; no-op once reaped.
  void Kill(const std::string& cause);

 private:
  WorkerProcess() = default;
  void Reap(bool block);  // waitpid; sets exit_status_ / exited_
  // RunBatch's and RunTask's watch: hands each message of the worker to `on_message` until it
  // says kEnd (returns true), and kills the worker past timeout + kill grace (*code =
  // TIMEOUT) or over its memory limit (sampled every 100 ms, *code = MEMORY_LIMIT). kNext:
  // the next job started, under the *limits on_message set: its timeout counts from now.
  // False when the worker died or was killed.
  struct Limits {
    double timeout = 0, kill_grace = 0;
    int64_t memory_limit_mb = 0;
  };
  enum class Watch { kGoOn, kNext, kEnd };
  bool Supervise(const Limits* limits,
                 const std::function<Watch(const nlohmann::json&)>& on_message, std::string* code);
  // Waits for a dead or dying worker (killed after 1 s if it lingers) and says how it ended.
  struct Death {
    std::string kill_cause;  // "" = it died on its own
    int exit_status = 0;     // waitpid's
  };
  Death AwaitDeath();
  int64_t ResidentBytes() const;

  pid_t pid_ = -1;
  int fd_ = -1;
  uint64_t generation_ = 0;
  int jobs_run_ = 0;
  FrameReader reader_;
  std::vector<exec::JobTypeInfo> types_;
  std::mutex kill_mu_;  // pid_ is not signalled once reaped (it could be reused)
  std::atomic<bool> exited_{false};
  int exit_status_ = 0;
  std::string kill_cause_;  // kill_mu_
};

}  // namespace robotni::worker

#endif  // ROBOTNI_RUNTIME_WORKER_WORKER_PROCESS_H_
