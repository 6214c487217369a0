#include "service/robot_run.h"

#include "worker/worker_process.h"

#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "config/conda_yaml.h"
#include "config/env_json.h"
#include "exec/child_process.h"
#include "exec/input_seed.h"
#include "exec/queue_binding.h"
#include "exec/run_capture.h"
#include "exec/task_env.h"
#include "exec/task_runner.h"
#include "exec/work_item_queues.h"
#include "python/interpreter.h"
#include "service/env_check.h"

namespace robotni::service {

namespace fs = std::filesystem;

namespace {

constexpr int kOk = static_cast<int>(RunExit::kOk);
constexpr int kRobotLoad = static_cast<int>(RunExit::kRobotLoad);
constexpr int kRobotInvalid = static_cast<int>(RunExit::kRobotInvalid);
constexpr int kTaskNotFound = static_cast<int>(RunExit::kTaskNotFound);
constexpr int kEnvJson = static_cast<int>(RunExit::kEnvJson);
constexpr int kCommandNotFound = static_cast<int>(RunExit::kCommandNotFound);
constexpr int kArtifacts = static_cast<int>(RunExit::kArtifacts);
constexpr int kTaskFailed = static_cast<int>(RunExit::kTaskFailed);
constexpr int kPreRunScript = static_cast<int>(RunExit::kPreRunScript);
constexpr int kInterrupted = static_cast<int>(RunExit::kInterrupted);

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string Format(const char* fmt, const std::string& a, double x) {
  char buf[512];
  snprintf(buf, sizeof(buf), fmt, a.c_str(), x);
  return buf;
}

}  // namespace

// What one Run keeps between its steps.
struct RobotRun::RunState {
  exec::RunCapture capture{/*echo=*/false};
  config::EnvVars env_vars;
  exec::Environment host_env;
  std::string store_url;
  std::string message;  // the first error, for TaskOutcome::message
};

struct RobotRun::Step {
  const config::Task* task;
  size_t index;
  std::string input_queue;  // "" = the task's own
  std::string output_queue;
  exec::EnvBuilder env{exec::Environment{}};
};

RobotRun::RobotRun(config::RobotYaml robot, StoreSet* stores, std::string store_flag,
                   std::string owner)
    : robot_(std::move(robot)),
      stores_(stores),
      store_flag_(std::move(store_flag)),
      owner_(std::move(owner)) {}

RobotRun::~RobotRun() = default;

void RobotRun::Note(const std::string& line) {
  if (options_->on_output) options_->on_output(2, "robotni: " + line + "\n");
}

void RobotRun::Say(const std::string& line) {
  if (state_->message.empty() && line.rfind("warning: ", 0) != 0) state_->message = line;
  Note(line);
}

TaskOutcome RobotRun::Run(const RunOptions& options) {
  auto started = std::chrono::steady_clock::now();
  RunState state;
  state_ = &state;
  options_ = &options;
  state.capture.set_keep_in_memory(options.keep_output);
  if (options.on_output) state.capture.set_sink(options.on_output);
  auto finish = [&](int code) {
    TaskOutcome out;
    out.exit_code = code;
    out.message = code == 0 ? "" : state.message;
    out.stdout_text = state.capture.text(1);
    out.stderr_text = state.capture.text(2);
    out.seconds = Seconds(started);
    state_ = nullptr;
    options_ = nullptr;
    return out;
  };

  std::vector<const config::Task*> steps;
  std::vector<std::string> names =
      options.tasks.empty() ? std::vector<std::string>{""} : options.tasks;
  for (const auto& name : names) {
    auto t = config::FindTask(robot_, name, options.dev);
    if (!t.ok()) {
      Say(t.status().message());
      return finish(kTaskNotFound);
    }
    steps.push_back(*t);
  }
  if (!options.env_json.empty()) {
    auto vars = config::LoadEnvJson(options.env_json);
    if (!vars.ok()) {
      Say(vars.status().message());
      return finish(kEnvJson);
    }
    state.env_vars = std::move(vars).value();
  }
  for (const auto& [k, v] : options.env) state.env_vars.push_back({k, v});
  if (fs::path conda = robot_.CondaConfigPath(); !conda.empty()) {
    auto c = config::LoadCondaYaml(conda);
    if (!c.ok()) {
      Say("warning: " + c.status().message());
    } else {
      // Which packages are missing is the dependency check's one line, not a list of all.
      for (const auto& w : config::CondaWarnings(*c, /*list_packages=*/false)) Say("warning: " + w);
      if (!env_problems_) {
        auto statuses = CheckDependencies(*c, robot_);
        env_problems_ = statuses.ok() ? ProblemsLine(*c, *statuses)
                                      : "cannot check conda.yaml's dependencies: " +
                                            statuses.status().message();
      }
      if (!env_problems_->empty()) Say("warning: " + *env_problems_);
    }
  } else if (!robot_.environment_configs.empty()) {
    std::string listed;
    for (const auto& e : robot_.environment_configs) listed += (listed.empty() ? "" : ", ") + e;
    Say("warning: " + robot_.path.string() + ": none of environmentConfigs (" + listed +
        ") exists for " + config::PlatformOs() + "/" + config::PlatformArch() +
        "; no conda.yaml is checked against the embedded CPython");
  }
  if (Status s = state.capture.OpenLogs(robot_.ArtifactsPath()); !s.ok()) {
    Say(s.message());
    return finish(kArtifacts);
  }
  // Paths given by the caller are relative to where it runs, not to the robot.
  std::string input = options.input.empty() ? "" : fs::absolute(options.input).string();
  if (chdir(robot_.root.c_str()) != 0) {
    Say("cannot enter the robot directory " + robot_.root.string());
    return finish(kRobotLoad);
  }
  state.host_env = exec::EnvBuilder::ProcessEnvironment();
  exec::EnvBuilder base(state.host_env);
  base.SetAll(state.env_vars);
  state.store_url = exec::DefaultStoreUrl(robot_, base, store_flag_);

  std::string previous_output;
  {
    std::lock_guard<std::mutex> l(interrupt_mu_);
    interrupted_ = false;
  }
  auto interrupted = [&] {
    std::lock_guard<std::mutex> l(interrupt_mu_);
    return interrupted_;
  };
  for (size_t i = 0; i < steps.size(); ++i) {
    if (interrupted()) break;
    Step step{steps[i], i, previous_output};
    if (i == 0 && !input.empty()) {
      // Seeded below, once the step knows its input queue.
      step.input_queue.clear();
    }
    int rc = kOk;
    {
      auto t0 = std::chrono::steady_clock::now();
      step.env = exec::EnvBuilder(state.host_env);  // as the caller started, not as a step left it
      step.env.SetAll(state.env_vars);
      step.env.ApplyRobot(robot_);
      exec::QueueNames queues = exec::DefaultQueues(robot_, *step.task, step.env);
      if (!step.input_queue.empty()) queues.input = step.input_queue;  // A's outputs feed B
      step.input_queue = queues.input;
      step.output_queue = queues.output;
      exec::SetQueueVariables(queues, state.store_url, &step.env);
      if (i == 0 && !input.empty()) {
        auto items = exec::ReadWorkItemsFile(input, queues.input, 100 << 20);
        if (!items.ok()) {
          Say("--input: " + items.status().message());
          return finish(kRobotInvalid);
        }
        auto st = stores_->Get(state.store_url);
        if (!st.ok()) {
          Say(st.status().message());
          return finish(kRobotLoad);
        }
        auto ids = (*st)->CreateBatch(*items);
        if (!ids.ok()) {
          Say("--input: " + ids.status().message());
          return finish(kRobotInvalid);
        }
        Note("seeded " + std::to_string(ids->size()) + " input item(s) into queue '" +
             queues.input + "'");
      }
      if (i == 0 && !options.dev && !robot_.pre_run_scripts.empty()) {
        if (int rc = RunPreRunScripts(step); rc != 0) return finish(rc);
      }
      Note("running task '" + step.task->name + "' (input queue '" + queues.input +
           "', output queue '" + queues.output + "')");
      rc = RunStep(step);
      state.capture.Flush();
      if (interrupted()) {
        Say("task '" + step.task->name + "' was interrupted" +
            Format(" after %s%.2f s", "", Seconds(t0)));
        return finish(kInterrupted);
      }
      if (rc == kCommandNotFound) return finish(rc);
      if (rc != 0) {
        Say("task '" + step.task->name + "' FAILED with exit code " + std::to_string(rc) +
            Format(" after %s%.2f s", "", Seconds(t0)));
        return finish(kTaskFailed);
      }
      Note(Format("task '%s' SUCCEEDED in %.2f s", step.task->name, Seconds(t0)));
    }
    previous_output = step.output_queue;
  }
  return finish(kOk);
}

void RobotRun::Interrupt() {
  std::lock_guard<std::mutex> l(interrupt_mu_);
  interrupted_ = true;
  if (binding_) binding_->Interrupt();
  if (interp_) interp_->Interrupt();
  if (worker_) worker_->Interrupt();
}

int RobotRun::RunStep(Step& step) {
  const config::Task& task = *step.task;
  std::vector<std::string> argv = task.argv;
  if (step.index == 0) argv.insert(argv.end(), options_->args.begin(), options_->args.end());
  if (task.kind == config::Task::Kind::kRobotTaskName) return RunAsChild(step, argv);
  if (python::ParsePythonCommand(argv)) return RunInProcess(step, argv);
  return RunAsChild(step, argv);
}

int RobotRun::RunInProcess(Step& step, const std::vector<std::string>& argv) {
  const config::Task& task = *step.task;
  auto cmd = python::ParsePythonCommand(argv);
  exec::QueueBindingOptions qopts;
  qopts.input_queue = step.input_queue;
  qopts.output_queue = step.output_queue;
  qopts.owner = owner_;
  qopts.checkpoint_after_flush = true;
  // The first step of a run without an input file gets one empty input item when its queue
  // is empty, whichever task it is: what `rcc run -t X` gives with robocorp's local adapter
  // and no input, and what the first step of a Control Room process run gets.
  qopts.seed_empty_input = step.index == 0 && options_->input.empty();
  std::string url = state_->store_url;
  exec::QueueBinding binding([this, url] { return stores_->Get(url); }, qopts);
  // Interrupt() reaches this step's binding while it exists, on every way out.
  struct Published {
    RobotRun* run;
    Published(RobotRun* r, exec::QueueBinding* b) : run(r) {
      std::lock_guard<std::mutex> l(run->interrupt_mu_);
      run->binding_ = b;
      if (run->interrupted_) b->Interrupt();
    }
    ~Published() {
      std::lock_guard<std::mutex> l(run->interrupt_mu_);
      run->binding_ = nullptr;
    }
  } published(this, &binding);

  if (options_->export_environment) {
    // One robot per process, so the process environment can be the task's too (os.system
    // and C libraries read it); each interpreter also gets its own view.
    for (const auto& [k, v] : step.env.Build()) setenv(k.c_str(), v.c_str(), 1);
  }
  if (robot_.isolation == "process") return RunInWorker(step, *cmd, binding);
  int rc = 1;
  if (!interp_) {
    auto kind = robot_.isolation == "main" ? python::Interpreter::Kind::kMain
                                           : python::Interpreter::Kind::kSubinterpreter;
    auto created = python::Interpreter::Create(kind);
    if (!created.ok()) {
      Say(created.status().message());
      (void)binding.Finish(false);
      return 1;
    }
    std::lock_guard<std::mutex> l(interrupt_mu_);
    interp_ = std::move(created).value();
  }
  if (interp_->poisoned()) {
    Say("the runtime's interpreter is stuck in a task that timed out; open a new runtime");
    (void)binding.Finish(false);
    return 1;
  }
  // robot.yaml's limits (the task's, else the robot's); a --timeout given wins.
  Limits limits = config::LimitsOf(robot_, task);
  double timeout = options_->timeout > 0 ? options_->timeout : limits.timeout.value_or(0);
  state_->capture.set_max_kept_bytes(limits.max_output_bytes.value_or(-1));
  python::TaskSpec spec = exec::MakeTaskSpec(robot_, *cmd, step.env, timeout);
  std::string name = task.name;
  // A task stuck in native code past its timeout cannot be stopped in this process: its
  // interpreter is poisoned and this Run does not return. The caller hears of it.
  const RunOptions* opts = options_;
  spec.on_hard_timeout = [opts, name, timeout] {
    if (opts->on_output)
      opts->on_output(2, Format("robotni: task '%s' did not stop within 5 s after its %.0f s "
                                "timeout (stuck in native code)\n",
                                name, timeout));
    if (opts->on_stuck) opts->on_stuck();
  };
  state_->capture.set_work_items(&binding);
  python::TaskResult r = interp_->Run(spec, &state_->capture);
  state_->capture.set_work_items(nullptr);
  rc = r.exit_code;
  std::string why = exec::ExplainOutcome(name, r, timeout);
  if (!why.empty()) Say(why);
  if (Status s = binding.Finish(rc == 0); !s.ok()) {
    Say("work items of task '" + task.name + "': " + s.message());
    if (rc == 0) rc = 1;
  }
  return rc;
}

// isolation: process. The task runs in a worker process's main interpreter; its output and
// its work-item calls come back here (the store stays in this process). A crash, an abort or
// a hang in C past the timeout costs the worker, which is replaced for the next step.
int RobotRun::RunInWorker(Step& step, const python::PythonCommand& cmd,
                          exec::QueueBinding& binding) {
  const std::string name = step.task->name;
  if (!worker_) {
    auto started = worker::WorkerProcess::Start(worker::TaskWorkerSpec(robot_.root.string()));
    if (!started.ok()) {
      Say("task '" + name + "': " + started.status().message());
      (void)binding.Finish(false);
      return 1;
    }
    std::lock_guard<std::mutex> l(interrupt_mu_);
    worker_ = std::move(started).value();
    if (interrupted_) worker_->Interrupt();
  }
  // robot.yaml's limits (the task's, else the robot's); a --timeout given wins.
  Limits limits = config::LimitsOf(robot_, *step.task);
  double timeout = options_->timeout > 0 ? options_->timeout : limits.timeout.value_or(0);
  state_->capture.set_max_kept_bytes(limits.max_output_bytes.value_or(-1));
  python::TaskSpec spec = exec::MakeTaskSpec(robot_, cmd, step.env, timeout);
  state_->capture.set_work_items(&binding);
  worker::WorkerProcess::TaskRun run = worker_->RunTask(
      spec, limits.kill_grace.value_or(5), &state_->capture, limits.memory_limit_mb.value_or(0));
  state_->capture.set_work_items(nullptr);
  int rc = run.result.exit_code;
  if (run.died) {
    Say("task '" + name + "' failed: " + run.cause);
    std::lock_guard<std::mutex> l(interrupt_mu_);
    worker_.reset();
  } else if (std::string why = exec::ExplainOutcome(name, run.result, timeout); !why.empty()) {
    Say(why);
  }
  if (Status s = binding.Finish(rc == 0); !s.ok()) {
    Say("work items of task '" + name + "': " + s.message());
    if (rc == 0) rc = 1;
  }
  return rc;
}

// rcc runs robot.yaml's preRunScripts before the task, in the robot's directory and
// environment, each split as a shell line (not through a shell); those named for another
// platform are skipped; the first failure fails the run with exit code 12.
int RobotRun::RunPreRunScripts(Step& step) {
  for (const std::string& script : robot_.pre_run_scripts) {
    if (!config::PlatformWordsFit(script, config::PlatformOs(), config::PlatformArch())) {
      Note("preRunScripts: skipping '" + script + "' (another platform's)");
      continue;
    }
    auto argv = config::SplitShellLine(script);
    if (!argv.ok() || argv->empty()) {
      Say("preRunScripts: '" + script +
          "': " + (argv.ok() ? std::string("empty command") : argv.status().message()));
      return kPreRunScript;
    }
    Note("preRunScripts: running '" + script + "'");
    int rc = RunAsChild(step, std::move(argv).value(), /*is_task=*/false);
    if (rc != 0) {
      Say("preRunScripts: '" + script + "' failed with exit code " + std::to_string(rc));
      return kPreRunScript;
    }
  }
  return 0;
}

int RobotRun::RunAsChild(Step& step, std::vector<std::string> argv, bool is_task) {
  const config::Task& task = *step.task;
  exec::EnvBuilder& env = step.env;
  // `python` in a task means the robot's Python: Debian's 3.11 with robotni's robocorp.*
  // packages importable, never whatever python comes first on PATH.
  std::string exe = argv.empty() ? "" : fs::path(argv[0]).filename().string();
  bool is_python = exe == "python" || exe == "python3" || exe == "python3.11";
  if (is_python) {
    argv[0] = ROBOTNI_PYTHON_EXECUTABLE;  // CMake's ROBOTNI_PYTHON
    const std::string* pp = env.Get("PYTHONPATH");
    std::string shims = (python::InterpreterHost::PythonDir() / "shims").string();
    env.Set("PYTHONPATH", pp && !pp->empty() ? *pp + ":" + shims : shims);
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  if (is_task && task.kind == config::Task::Kind::kRobotTaskName) {
    exec::ChildSpec probe{{ROBOTNI_PYTHON_EXECUTABLE, "-c", "import robot"},
                          env.BuildStrings(),
                          robot_.root.string(),
                          30};
    exec::ChildResult pr = exec::RunChild(&loop, probe, nullptr);
    if (!pr.spawn_status.ok() || pr.exit_code != 0) {
      Say("task '" + task.name +
          "' is a Robot Framework task (robotTaskName: " + task.robot_task_name +
          "), but Robot Framework is not importable by " ROBOTNI_PYTHON_EXECUTABLE
          "; install it for "
          "that Python or turn the task into a Python task");
      uv_loop_close(&loop);
      return 1;
    }
  }
  exec::ChildSpec spec{argv, env.BuildStrings(), robot_.root.string(), options_->timeout};
  exec::ChildResult r = exec::RunChild(&loop, spec, &state_->capture);
  uv_loop_close(&loop);
  if (!r.spawn_status.ok()) {
    Say((is_task ? "task '" + task.name + "': " : std::string("preRunScripts: ")) +
        r.spawn_status.message());
    return r.spawn_status.IsNotFound() ? kCommandNotFound : 1;
  }
  if (r.timed_out)
    Note(Format("task '%s' timed out after %.0f s (--timeout) and was stopped", task.name,
                options_->timeout));
  if (r.term_signal) return 128 + r.term_signal;
  return r.exit_code;
}

}  // namespace robotni::service
