#ifndef ROBOTNI_RUNTIME_PYTHON_INTERPRETER_H_
#define ROBOTNI_RUNTIME_PYTHON_INTERPRETER_H_

// The interpreter host: CPython embedded once per process, and Interpreters — a
// sub-interpreter (or the main interpreter) bound for life to its own executor
// thread, whose first thread state belongs to it (embedding-cpython.md R4, R5).
//
// Threading: InterpreterHost::Start/Stop run on the process's main thread, which
// never holds the GIL in between (the libuv loop runs there). Interpreter methods
// may be called from any thread; calls into one interpreter are serialised on its
// thread. A watchdog thread delivers timeouts and keeps interpreters from starving
// each other of the shared 3.11 GIL (R9, R10, R18).

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "python/task_context.h"
#include "robotni/status.h"

namespace robotni::python {

struct HostOptions {
  // Appended to sys.path in every interpreter, after the stdlib (Debian's
  // dist-packages by default, so apt-installed packages import).
  std::vector<std::string> extra_sys_path = {"/usr/local/lib/python3.11/dist-packages",
                                             "/usr/lib/python3/dist-packages"};
  // Add the site-packages of the environment robotni runs in (python_env.h) with
  // site.addsitedir (so its .pth files work), after the shims and before extra_sys_path.
  bool use_python_environment = true;
};

class InterpreterHost {
 public:
  // Initialises CPython (isolated PyConfig, no signal handlers, Debian's 3.11
  // stdlib) and returns with the GIL released. Idempotent. InvalidArgument when the
  // environment robotni runs in is for another Python version (python_env.h).
  static Status Start(const HostOptions& options = {});
  // Finalises CPython. Every Interpreter must have been destroyed.
  static void Stop();
  static bool started();
  // Directory holding shims/ (robocorp.*, actions.*, robotni) and host/.
  static std::filesystem::path PythonDir();
  // The site-packages added to every interpreter's sys.path (empty when none); valid
  // after Start.
  static std::vector<std::string> SiteDirs();
};

// `python ARGS` as a robot.yaml task writes it.
struct PythonCommand {
  enum class Mode { kModule, kScript, kCode };
  Mode mode = Mode::kScript;
  std::string target;             // module name, script path or code
  std::vector<std::string> argv;  // sys.argv as CPython would set it
};

// Recognises python / python3 / python3.11 (by basename) followed by `-m MOD`,
// `-c CODE` or `SCRIPT`, with -u -B -E -s -S -I -O accepted and ignored. Anything
// else (another program, other flags) is nullopt: run it as a child process.
std::optional<PythonCommand> ParsePythonCommand(const std::vector<std::string>& argv);

struct TaskSpec {
  PythonCommand command;
  std::vector<std::string> path_prepend;                     // sys.path[0:0]
  std::vector<std::pair<std::string, std::string>> environ;  // the run's os.environ
  double timeout_seconds = 0;                                // 0 = none
  double hard_timeout_grace_seconds = 5;
  // Called on the watchdog thread when a timed-out task has not unwound within the
  // grace period (stuck in C code): the interpreter is poisoned.
  std::function<void()> on_hard_timeout;
};

struct TaskResult {
  enum class Outcome { kExit, kException, kTimeout, kUnsupported, kHostError };
  Outcome outcome = Outcome::kExit;
  int exit_code = 0;
  std::string detail;  // exception type, refused module, or host error message
};

class Interpreter {
 public:
  enum class Kind { kSubinterpreter, kMain };
  // Starts the executor thread and creates the interpreter on it.
  static StatusOr<std::unique_ptr<Interpreter>> Create(Kind kind);
  // Ends the interpreter on its own thread, then joins the thread.
  ~Interpreter();
  Interpreter(const Interpreter&) = delete;
  Interpreter& operator=(const Interpreter&) = delete;

  Kind kind() const;
  bool poisoned() const;
  // Raises KeyboardInterrupt in the task running now (from any thread, as Ctrl-C would
  // in `python`), so its `finally:` blocks and teardowns run. No-op when none runs.
  void Interrupt();
  // Runs one task and blocks until it ends. Output goes to `context` (or the
  // console when null).
  TaskResult Run(const TaskSpec& spec, TaskContext* context);
  // Runs tasks one after another with one hand-off to the executor thread for all of them
  // (a hand-off per task cost a worker process two context switches per job): `next`, on
  // that thread, gives each task's spec and context (false: no more); `done`, there too,
  // gets each one's result. Blocks until `next` says no more.
  void RunEach(const std::function<bool(const TaskSpec** spec, TaskContext** context)>& next,
               const std::function<void(TaskResult result)>& done);
  // Runs `fn` on the executor thread with this interpreter's GIL held; blocks.
  void Call(const std::function<void()>& fn);

  struct Impl;

 private:
  explicit Interpreter(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace robotni::python

#endif  // ROBOTNI_RUNTIME_PYTHON_INTERPRETER_H_
