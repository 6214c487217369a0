#ifndef ROBOTNI_RUNTIME_H_
#define ROBOTNI_RUNTIME_H_

// robotni's public C++ API: a Runtime is one running robotni inside a host process — a
// work-item store, warm CPython interpreters for robot tasks and job types, a dispatcher
// that runs jobs, and (on request) the HTTP job API with its dashboard.
//
//   robotni::RuntimeOptions options;
//   options.store = "sqlite:///var/lib/myapp/workitems.db";
//   options.robot = "robot.yaml";
//   auto rt = robotni::Runtime::Open(options);
//   if (!rt.ok()) { ... rt.status().ToString() ... }
//   auto outcome = (*rt)->RunTask("Producer");
//   auto id = (*rt)->Enqueue({.queue = "add", .payload_json = R"({"x": 1, "y": 2})"});
//   auto item = (*rt)->Wait(*id, 10.0);
//
// Ownership: Open returns the Runtime; the caller owns it and destroys it (or calls Close)
// when done. Everything a Runtime returns is a value the caller owns.
//
// Thread-safety: every method of Runtime may be called from any thread, concurrently,
// except Close() and the destructor (no call may be running on another thread), and the
// loop-driving trio BackendFd / BackendTimeout / RunLoopOnce (one host thread, the one that
// called ServeOnHostLoop). No method is called with a lock of the runtime held by the
// caller's callback: a JobHandler may call back into its Runtime.
//
// Python: CPython is embedded once per process (a CPython rule). The first Runtime that
// needs it (to run a task or job types, or to serve) starts it, unless the host already did (a
// Python program hosting robotni: its interpreter is the main interpreter and tasks still run in
// robotni's sub-interpreters); the last Runtime to close finalises it only if robotni started it.
// Several Runtimes may live in one process; they share the interpreter host and nothing else (each
// has its own store, dispatcher, HTTP server and loop). In a host that runs Python itself, call
// into a Runtime with the GIL released (the pybind11 module does).
//
// Errors are Status values; no exception crosses this API and the library never exits the
// process. Task output goes to RunOptions::on_output (and the artifacts' logs), never to
// the console by itself. Diagnostics (one line each: "serving on ...", "job 7 (add)
// failed: ...") go to RuntimeOptions::log, or to stderr when no sink is given.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "robotni/export.h"
#include "robotni/limits.h"
#include "robotni/status.h"

namespace robotni {

// One log line from the runtime: level is "debug", "info", "warn" or "error".
using LogSink = std::function<void(std::string_view level, std::string_view message)>;

struct RuntimeOptions {
  // The work-item store: "sqlite:///abs/path/workitems.db" or a path. "" = RC_WORKITEM_DB_PATH
  // from the environment, else <robot root>/.robotni/workitems.db. Relative paths are resolved
  // against the current directory at Open.
  std::string store;
  // robot.yaml of the robot whose tasks RunTask runs (and whose PYTHONPATH, env and
  // isolation jobs get). "" = no robot: the current directory is the robot root.
  std::string robot;
  // Where Python jobs run: "process" (worker processes: a crash, a hang in C or a memory
  // blow-up costs one job, never the runtime; every core), "subinterpreter" (isolated
  // sys.modules per robot in this process: the fastest, for trusted code) or "main" (this
  // process's main interpreter, for numpy-style modules). Robot tasks run in this process
  // under "process" too (as "subinterpreter"). "" = robot.yaml's, else default_isolation.
  std::string isolation;
  std::string default_isolation = "subinterpreter";  // `robotni serve` passes "process"
  // Jobs run at the same time (runner threads); under "process", `workers` instead.
  int concurrency = 2;
  // Worker processes under "process" isolation; 0 = one per core.
  int workers = 0;
  // Seconds a claim holds a job (jobs and consumer tasks) between heartbeats: how soon another
  // process takes over the jobs of one that vanished. Heartbeats renew it every third of it.
  double lease_seconds = 60;
  // Seconds of expected work a job runner claims at once, for types whose recent runs were
  // quick (each claim and its outcomes then share one commit); 0 = one job per claim.
  double reserve_ahead_seconds = 0.01;
  // Limits for every job (a job type's own timeout / memory_limit win):
  double job_timeout = 300;            // seconds before TaskTimeout is raised in the job; 0 = none
  double kill_grace = 5;               // then its worker process is killed ("process" only)
  int64_t memory_limit_mb = 0;         // a worker's resident memory; 0 = none ("process" only)
  int max_jobs_per_worker = 0;         // then the worker is replaced; 0 = never
  int64_t max_output_bytes = 1 << 20;  // of each stream kept in job.log; the rest dropped
  // Limits by job type name (serve's config `job_types:`): win over the type's decorator.
  std::map<std::string, Limits> job_type_limits;
  // Bytes of a payload, result or output JSON the store accepts; past it a job fails.
  int64_t max_payload_bytes = 1 << 20;
  // The program started as a worker process (`PROGRAM worker --fd 3`); "" = the robotni
  // executable installed with this library ($ROBOTNI_WORKER_EXECUTABLE overrides).
  std::string worker_executable;
  // Python files (relative to the robot root) or dotted modules that register job types with
  // @robotni.job; imported at Open. Empty = robot.yaml's `jobs:` list, imported when the
  // runtime first runs jobs (serving, RegisterJobType), not for Run alone.
  std::vector<std::string> job_modules;
  // Served job types (names, or prefixes ending in '%'); empty = every registered type.
  // Serving refuses (InvalidArgument, listing the job types) a name or prefix that matches no
  // type the modules registered nor a type registered before serving began.
  std::vector<std::string> types;
  // robot.yaml tasks that consume their input queues while the runtime serves.
  std::vector<std::string> consumer_tasks;
  double consumer_task_timeout = 0;  // seconds per consumer run; 0 = none
  // Lease owner recorded on the items this runtime holds; "" = robotni:<host>:<pid>:<n>.
  std::string owner;
  // Diagnostics; empty = stderr. Called from any runtime thread, one line at a time. The
  // sink is process-wide: the last Runtime opened with one sets it.
  LogSink log;
  // "text" (default) or "json" lines for `log`; and the lowest level passed on.
  std::string log_format = "text";
  std::string log_level = "info";
  // false: a store that does not exist yet is not created; calls that need it return
  // NotFound ("no work-item store at PATH") and nothing is written to disk. For tools that
  // inspect or manage an existing store (`robotni items list`).
  bool create_store_if_missing = true;
  // What a commit to the store survives (SQLite in WAL mode; docs/serve.md, "Durability"):
  // "fast" (synchronous=NORMAL): never corrupt, and a crash of the process loses nothing, but
  // a power loss or OS crash may roll back the transactions since the last checkpoint;
  // "full" (synchronous=FULL): every commit is synced to disk before it returns, so every
  // committed transaction survives a power loss (slower: one fsync per commit).
  std::string durability = "fast";
};

// What RunTask / Run give a task besides the robot's own settings.
struct RunOptions {
  // Tasks to run in order, by name as rcc matches them (exact, then case-insensitive);
  // each step's outputs feed the next. Empty = the robot's sole task.
  std::vector<std::string> tasks;
  std::map<std::string, std::string> env;  // on top of the host's environment and env_json
  std::string env_json;                    // an rcc env.json file; "" = none
  std::vector<std::string> args;           // appended to the first task's command
  std::string input;                       // a devdata work-items.json seeding the first step
  double timeout = 0;                      // seconds per step; 0 = none
  bool dev = false;                        // run devTasks
  bool keep_output = true;                 // fill TaskOutcome's stdout_text / stderr_text
  // Also export the task's environment to the process (setenv), for C libraries and
  // os.system in the task: for a process that runs one robot (the CLI). Tasks always get it
  // in os.environ.
  bool export_environment = false;
  // Called with the task's output as it is written (stream 1 or 2), and with robotni's own
  // lines about the run (stream 2, prefixed "robotni: "). Empty = only captured.
  std::function<void(int stream, std::string_view text)> on_output;
  // Called (on a watchdog thread) when a task is stuck in native code 5 s past its timeout:
  // this Run cannot return, as its thread cannot be stopped in-process. A program that is
  // only this run (the CLI) ends the process here; a host should run such tasks in worker
  // processes.
  std::function<void()> on_stuck;
};

// Exit codes of a run, as rcc's (operations/running.go).
enum class RunExit : int {
  kOk = 0,
  kRobotLoad = 1,     // robot.yaml cannot be loaded
  kRobotInvalid = 2,  // robot.yaml or an option is invalid
  kTaskNotFound = 3,
  kEnvJson = 5,  // env.json cannot be loaded
  kCommandNotFound = 6,
  kArtifacts = 9,  // the artifacts directory cannot be written
  kTaskFailed = 10,
  kPreRunScript = 12,  // a robot.yaml preRunScripts command failed
  kInterrupted = 130,  // Interrupt() (Ctrl-C: 128 + SIGINT; `robotni run` gives 143 for SIGTERM)
};

struct TaskOutcome {
  int exit_code = 0;                     // a RunExit value
  std::string message;                   // why, when exit_code != 0
  std::string stdout_text, stderr_text;  // what the task(s) wrote
  double seconds = 0;
  bool ok() const { return exit_code == 0; }
};

struct EnqueueRequest {
  std::string queue;                // a queue or job type ("add", "notify.email.v1")
  std::string payload_json = "{}";  // any JSON value
  int priority = 0;                 // higher runs first
  int64_t run_at_ms = 0;            // not before this time (ms since the epoch); 0 = now
  int max_attempts = 3;
  std::string idempotency_key;  // a second enqueue with the same key returns the first id
  std::map<std::string, std::string> files;  // name -> bytes
};

// An item as another system recorded it, for Runtime::Import: created with its state,
// error, attempt and times as they were.
struct ImportRequest {
  // queue, payload, files, max_attempts; idempotency_key makes a second import of the same
  // item give the first one's id instead of a copy.
  EnqueueRequest item;
  int parent_index = -1;          // its parent: another entry of the same Import; -1 = none
  std::string state = "PENDING";  // as ParseItemState takes it; not RESERVED
  std::string exception_type;     // FAILED: "BUSINESS" or "APPLICATION" ("" = APPLICATION)
  std::string error_code, error_message;
  int attempt = 0;
  int64_t created_ms = 0;   // ms since the epoch; 0 = now
  int64_t started_ms = 0;   // 0 = never started
  int64_t finished_ms = 0;  // DONE, FAILED, CANCELLED; 0 = now
  std::string meta_json;    // a JSON object kept with the item ("" = none)
  std::string note;         // the message of its "imported" timeline entry
};

struct TimelineEvent {
  int64_t at_ms = 0;
  std::string event;  // "queued", "started", "progress", "finished", "retry", "cancel", ...
  int attempt = 0;
  std::string message;
};

// A file of a work item.
struct ItemFile {
  std::string name;
  int64_t size = 0;    // bytes
  std::string sha256;  // lowercase hex
};

// A work item as the store holds it. Times are ms since the epoch; 0 = not (yet) set.
struct ROBOTNI_EXPORT ItemInfo {
  std::string id;
  std::string queue;
  std::string state;  // PENDING, RESERVED, DONE, FAILED, CANCELLED
  std::string payload_json;
  std::string result_json;     // DONE: the result ("" = none)
  std::string exception_type;  // FAILED: "BUSINESS" or "APPLICATION"
  std::string error_code, error_message;
  std::string traceback;  // FAILED by a Python exception: its traceback ("" = none)
  int attempt = 0, max_attempts = 0, priority = 0;
  std::string parent_id;
  std::string idempotency_key;
  std::string meta_json;  // what the service keeps with the item, a JSON object ("" = none)
  int64_t created_ms = 0, started_ms = 0, finished_ms = 0;
  int64_t not_before_ms = 0;  // PENDING: not run before this time (scheduled, or a backoff)
  int64_t updated_ms = 0;     // last change of any field
  // RESERVED: who holds the item and until when; the token grows with every reservation.
  std::string lease_owner;
  int64_t lease_expires_ms = 0;
  int64_t lease_token = 0;
  bool cancel_requested = false;        // RESERVED: Cancel was asked; the running job sees it
  std::vector<std::string> files;       // the file names, by name
  std::vector<ItemFile> file_details;   // the same files with their size and sha256
  std::vector<TimelineEvent> timeline;  // Get / Wait only; List leaves it empty
  bool finished() const { return state == "DONE" || state == "FAILED" || state == "CANCELLED"; }
  // The item as one JSON object: the fields above (payload, result and meta as JSON values,
  // the error as {type, code, message, traceback} or null, files as names, file_details as
  // {name, size, sha256} objects, timeline as an array).
  std::string ToJson() const;
};

// Which items Runtime::List returns.
struct ListRequest {
  std::string queue;         // "" = every queue
  std::string state;         // "" = any; else a state as ParseItemState takes it
  int limit = 100;           // at most this many
  int offset = 0;            // after skipping this many
  bool newest_first = true;  // else oldest first (creation order)
};

// Item counts of one queue by state; `scheduled` are PENDING items not due yet (not in
// `pending`). `pending` also counts RESERVED items a runner claimed ahead and has not started
// yet; `reserved` counts the started ones (docs/serve.md, "Job states and queue counts").
struct QueueStats {
  std::string queue;
  int64_t pending = 0, scheduled = 0, reserved = 0, done = 0, failed = 0, cancelled = 0;
  int64_t total() const { return pending + scheduled + reserved + done + failed + cancelled; }
};

// The canonical name of a work-item state ("PENDING", "RESERVED", "DONE", "FAILED",
// "CANCELLED") for `name`: those, case-insensitively, and robocorp's and the Action Server's
// names ("in_progress", "completed", "revoked", ...). InvalidArgument for an unknown state.
ROBOTNI_EXPORT StatusOr<std::string> ParseItemState(std::string_view name);

// The work-item store a Runtime opened with `robot` (a robot.yaml path; "" = the current
// directory's) and no `store` uses: RC_WORKITEM_DB_PATH from the environment (relative to the
// robot's directory), else <robot dir>/.robotni/workitems.db. robot.yaml itself is not read.
ROBOTNI_EXPORT std::string DefaultStoreUrl(const std::string& robot);

// Checks a work-item file name as Enqueue does: not empty, at most 255 bytes, no '/', '\\'
// or NUL, not "." or "..". InvalidArgument naming the problem.
ROBOTNI_EXPORT Status ValidateItemFileName(const std::string& name);

// A job handed to a host's JobHandler.
class ROBOTNI_EXPORT Job {
 public:
  virtual ~Job() = default;
  virtual const std::string& id() const = 0;
  virtual const std::string& type() const = 0;
  virtual const std::string& payload_json() const = 0;
  virtual int attempt() const = 0;
  // True once the job was cancelled (DELETE /api/worker/jobs/{id}, Runtime::Cancel).
  virtual bool IsCancelled() = 0;
  // Records a progress message on the item's timeline (and its webhook).
  virtual Status Progress(std::string_view message) = 0;
};

// A job type served by host code. Called on a runner thread, one job per call; several
// calls run at once up to the type's concurrency. Return OK with *result_json set (valid
// JSON; "" = null) for DONE; InvalidArgument for a business failure (final, not retried);
// any other Status for an application failure (retried with backoff up to max_attempts).
using JobHandler = std::function<Status(Job& job, std::string* result_json)>;

struct JobTypeOptions {
  int concurrency = 0;   // jobs of this type at once; 0 = limited only by the runners
  int max_attempts = 0;  // 0 = the enqueue's
  // JSON Schema of the payload, checked by the HTTP API; "" = any object.
  std::string schema_json;
  std::string doc;
};

struct ServeOptions {
  std::string listen = "127.0.0.1:0";  // HOST:PORT; port 0 = any free port
  // API tokens, "read:TOKEN", "write:TOKEN", "read,write:TOKEN" or "TOKEN" (both scopes).
  std::vector<std::string> tokens;
  std::string token_file;  // more tokens, one a line
  // No tokens at all: local development, refused unless `listen` is a loopback address.
  bool no_auth = false;
  // With no tokens given: a read+write token is created in the store's directory
  // (api-token) and logged.
  double rate_limit = 0;  // requests per second per token; 0 = none
  bool public_metrics = false;
  // One info line per answered request in the runtime's log (`event: http_request`).
  bool access_log = false;
  double grace = 30;  // seconds running jobs get when the service stops
  std::string webhook_secret;
  int webhook_max_attempts = 5;
  double webhook_timeout = 10;
  // Webhooks never reach loopback, link-local or private addresses, nor this service's own
  // port; these host names, addresses or CIDR ranges are let through (development).
  std::vector<std::string> webhook_allow;
  // A YAML settings file: SIGHUP re-reads it (with handle_signals); the keys in
  // command_line_keys keep their values.
  std::string config_file;
  std::vector<std::string> command_line_keys;
  // SIGTERM / SIGINT drain and stop the service, SIGHUP reloads: for a program that is the
  // service (the CLI). A library host leaves it off and calls StopServing.
  bool handle_signals = false;
};

class ROBOTNI_EXPORT Runtime {
 public:
  // Loads robot.yaml when given and, when job modules are given, starts the interpreter
  // host, opens the store (creating or migrating it) and imports them; the job dispatcher
  // then runs enqueued jobs whether or not the HTTP service runs. Without job modules,
  // CPython starts with the first call that needs it (Run, RegisterJobType, serving), and
  // the store opens on first use: a runtime that only manages work items never starts it. Errors:
  // NotFound when robot.yaml cannot be loaded (missing, unreadable or not YAML: rcc's exit code 1),
  // InvalidArgument when it or an option is invalid (exit code 2), PythonError when a job
  // module fails to import.
  static StatusOr<std::unique_ptr<Runtime>> Open(const RuntimeOptions& options);

  // Stops serving (with the grace), stops the runners, gives unfinished jobs back to the
  // queue, closes the store. Idempotent; the destructor calls it.
  virtual Status Close() = 0;
  virtual ~Runtime();

  // --- Robot tasks ---------------------------------------------------------------
  // Runs robot.yaml task(s) like `rcc run -t`, in-process, and waits. A task that fails is an
  // OK StatusOr with exit_code != 0; a non-OK Status means the runtime could not try.
  virtual StatusOr<TaskOutcome> Run(const RunOptions& options) = 0;
  // From any thread (a signal watcher): raises KeyboardInterrupt in the Python task that Run
  // is running, so its `finally:` blocks and robocorp.tasks teardowns run, and starts no
  // later step; Run then returns RunExit::kInterrupted. No-op when nothing runs.
  virtual void Interrupt() = 0;
  StatusOr<TaskOutcome> RunTask(const std::string& name,
                                const std::map<std::string, std::string>& env = {});

  // --- Work items and jobs -------------------------------------------------------
  virtual StatusOr<std::string> Enqueue(const EnqueueRequest& request) = 0;  // the new id
  // NotFound for an unknown id.
  virtual StatusOr<ItemInfo> Get(const std::string& id) = 0;
  // Blocks until the item is DONE, FAILED or CANCELLED, or `timeout_seconds` pass: then the
  // item as it is (check finished()). NotFound for an unknown id.
  virtual StatusOr<ItemInfo> Wait(const std::string& id, double timeout_seconds) = 0;
  // PENDING -> CANCELLED; a running job sees IsCancelled().
  virtual Status Cancel(const std::string& id) = 0;
  // Creates every item or none (the first bad request's InvalidArgument, naming its index);
  // returns their ids in order. An idempotency key already in the store gives that item's id.
  virtual StatusOr<std::vector<std::string>> EnqueueBatch(
      const std::vector<EnqueueRequest>& requests) = 0;

  // Creates every item or none (the first bad entry's InvalidArgument, naming its index),
  // parents before children; returns their ids in order. An entry whose idempotency key is
  // in the store already gives that item's id, unchanged.
  virtual StatusOr<std::vector<std::string>> Import(const std::vector<ImportRequest>& items) = 0;

  // --- Managing the store (what `robotni items` does) ----------------------------
  // The work-item store this runtime uses, as resolved at Open ("sqlite:///..." or a path).
  virtual std::string StoreUrl() = 0;
  // Opens the store now (every call below otherwise opens it on first use), so a host can
  // tell a store that cannot be opened from the errors of a later call. NotFound when it
  // does not exist and create_store_if_missing is false.
  virtual Status OpenStore() = 0;
  // Items by filter, without their timelines. InvalidArgument for an unknown state or a
  // negative limit / offset.
  virtual StatusOr<std::vector<ItemInfo>> List(const ListRequest& request) = 0;
  // Counts per queue, by queue name; `queue` "" = every queue.
  virtual StatusOr<std::vector<QueueStats>> Stats(const std::string& queue) = 0;
  virtual StatusOr<std::vector<TimelineEvent>> Timeline(const std::string& id) = 0;
  // A file's bytes. NotFound for an unknown item or file name.
  virtual StatusOr<std::string> GetFile(const std::string& id, const std::string& name) = 0;
  // FAILED or CANCELLED -> PENDING, attempts counted from 0 again. Conflict in another state.
  virtual Status Retry(const std::string& id) = 0;
  // Cancels every PENDING item of `queue`; returns how many.
  virtual StatusOr<int64_t> Flush(const std::string& queue) = 0;
  // Deletes DONE, FAILED and CANCELLED items finished before `finished_before_ms`, with
  // their files and timelines; returns how many.
  virtual StatusOr<int64_t> Prune(int64_t finished_before_ms) = 0;

  // Serves `type` with host code, next to the Python job types. The runtime keeps a copy of
  // `handler` until Close. InvalidArgument when the name is empty or already registered.
  virtual Status RegisterJobType(const std::string& type, JobHandler handler,
                                 const JobTypeOptions& options = {}) = 0;
  // The served job types, Python and host ones.
  virtual std::vector<std::string> JobTypes() = 0;

  // --- The HTTP service ----------------------------------------------------------
  // Runs the HTTP API on a thread of its own; returns the bound "HOST:PORT" once listening.
  // Busy when already serving.
  virtual StatusOr<std::string> StartServing(const ServeOptions& options) = 0;
  // Drains (running jobs get the grace) and stops the service. For StartServing it blocks
  // until the service stopped; for ServeOnHostLoop it asks and returns: the host drives
  // RunLoopOnce until it returns false.
  virtual Status StopServing() = 0;
  // Serves on the calling thread until the service stops (a signal with handle_signals, or
  // StopServing from another thread). `on_listening` is called with "HOST:PORT" once bound.
  // The job runners drained with the service and stay stopped when it returns (a process
  // that is the service exits then).
  virtual Status Serve(const ServeOptions& options,
                       std::function<void(const std::string& address)> on_listening = {}) = 0;

  // Or the host drives the service from its own event loop: ServeOnHostLoop binds and
  // returns the address; then, on the host's loop thread, poll BackendFd() for reading
  // with BackendTimeout() (ms, -1 = none), and call RunLoopOnce() when it is readable or
  // the timeout passed. RunLoopOnce returns false once the service stopped.
  virtual StatusOr<std::string> ServeOnHostLoop(const ServeOptions& options) = 0;
  virtual int BackendFd() = 0;
  virtual int BackendTimeout() = 0;
  virtual bool RunLoopOnce() = 0;

  // "robotni 0.1.0; Python 3.11.2; SQLite 3.40.1; packages /usr/share/robotni/python"
  static std::string VersionString();
};

}  // namespace robotni

#endif  // ROBOTNI_RUNTIME_H_
