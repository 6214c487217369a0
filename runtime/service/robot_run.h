#ifndef ROBOTNI_RUNTIME_SERVICE_ROBOT_RUN_H_
#define ROBOTNI_RUNTIME_SERVICE_ROBOT_RUN_H_

// RobotRun: robot.yaml task(s) run like `rcc run -t`: tasks resolved as rcc resolves them, the
// environment built as rcc builds it, Python commands in-process in a sub-interpreter (or the
// main interpreter), other commands as child processes; each step's outputs feed the next.
// What `robotni run` and Runtime::Run do. Messages ("robotni: running task ...") and the
// task's output go to RunOptions::on_output; nothing is printed here.
//
// Thread-safety: one Run at a time per RobotRun (the caller serialises). Run changes the
// process's working directory to the robot root (tasks expect it, as under rcc).

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/robot_yaml.h"
#include "robotni/runtime.h"
#include "service/lazy_store.h"

namespace robotni::python {
class Interpreter;
struct PythonCommand;
}  // namespace robotni::python
namespace robotni::exec {
class QueueBinding;
}
namespace robotni::worker {
class WorkerProcess;
}

namespace robotni::service {

class RobotRun {
 public:
  // `robot`: loaded and validated; `stores`: the runtime's stores (shared with its jobs).
  RobotRun(config::RobotYaml robot, StoreSet* stores, std::string store_flag, std::string owner);
  ~RobotRun();
  TaskOutcome Run(const RunOptions& options);
  // From any thread: KeyboardInterrupt in the running Python task; no later step starts.
  void Interrupt();

 private:
  struct Step;
  int RunStep(Step& step);
  int RunInProcess(Step& step, const std::vector<std::string>& argv);
  int RunInWorker(Step& step, const python::PythonCommand& cmd, exec::QueueBinding& binding);
  int RunAsChild(Step& step, std::vector<std::string> argv, bool is_task = true);
  int RunPreRunScripts(Step& step);
  void Note(const std::string& line);  // "robotni: <line>" to on_output
  void Say(const std::string& line);   // Note, and the outcome's message if it is the first

  config::RobotYaml robot_;
  StoreSet* stores_;
  std::string store_flag_;
  std::string owner_;
  // conda.yaml's dependency check (service/env_check.h), made by the first Run: one
  // warning line, "" when nothing is missing.
  std::optional<std::string> env_problems_;
  std::unique_ptr<python::Interpreter> interp_;
  std::unique_ptr<worker::WorkerProcess> worker_;  // isolation process; interrupt_mu_
  std::mutex interrupt_mu_;  // guards interp_'s creation against Interrupt, and interrupted_
  bool interrupted_ = false;
  exec::QueueBinding* binding_ = nullptr;  // interrupt_mu_; the running step's
  const RunOptions* options_ = nullptr;    // during Run
  struct RunState;
  RunState* state_ = nullptr;  // during Run
};

}  // namespace robotni::service

#endif  // ROBOTNI_RUNTIME_SERVICE_ROBOT_RUN_H_
