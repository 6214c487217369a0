// `robotni run`: runs robot.yaml tasks like `rcc run -t`, Python in-process.
#include <unistd.h>
#include <uv.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include "cli/commands.h"
#include "cli/robot_loader.h"
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

namespace robotni::cli {

namespace {

namespace fs = std::filesystem;

struct RunFlags {
  std::string robot = "robot.yaml";
  std::vector<std::string> tasks;
  std::string env_json;
  bool dev = false;
  double timeout = 0;
  std::string isolation;
  std::string store;
  std::string input;
  std::vector<std::string> args;
};

std::string Hostname() {
  char buf[256] = {0};
  gethostname(buf, sizeof(buf) - 1);
  return buf;
}

// Lease owners look like "robotni:<host>:<pid>:<nonce>", so a later run on the same
// host can tell that a holder process is gone.
std::string NewOwner() {
  std::random_device rd;
  return "robotni:" + Hostname() + ":" + std::to_string(getpid()) + ":" +
         std::to_string(rd() % 100000);
}

bool OwnerIsDeadHere(const std::string& owner) {
  std::string prefix = "robotni:" + Hostname() + ":";
  if (owner.rfind(prefix, 0) != 0) return false;
  std::string rest = owner.substr(prefix.size());
  pid_t pid = static_cast<pid_t>(atol(rest.c_str()));
  if (pid <= 0 || pid == getpid()) return false;
  return kill(pid, 0) != 0 && errno == ESRCH;
}

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

// The store is opened on first use by a task and shared by all steps of the run.
class LazyStore {
 public:
  explicit LazyStore(std::string url) : url_(std::move(url)) {}
  StatusOr<store::WorkItemStore*> Get() {
    if (store_) return store_.get();
    store::StoreOptions opts;
    opts.url = url_;
    auto s = store::WorkItemStore::Open(opts);
    if (!s.ok()) return Status(s.status());
    store_ = std::move(s).value();
    auto released = store_->ReleaseDeadOwners(OwnerIsDeadHere);
    if (released.ok() && *released > 0)
      fprintf(stderr, "robotni: %lld work item(s) held by a run that died went back to the queue\n",
              static_cast<long long>(*released));
    return store_.get();
  }
  const std::string& url() const { return url_; }

 private:
  std::string url_;
  std::unique_ptr<store::WorkItemStore> store_;
};

class RunCommand {
 public:
  explicit RunCommand(RunFlags flags) : flags_(std::move(flags)) {}
  // Closing the store (its last checkpoint) and ending Python (freeing everything the task
  // kept) are independent and take milliseconds each: they overlap on two cores.
  ~RunCommand() {
    std::thread close_store([this] { store_.reset(); });
    interp_.reset();
    python::InterpreterHost::Stop();
    close_store.join();
  }
  int Execute();

 private:
  int RunStep(const config::Task& task, size_t step, const std::string& input_queue,
              std::string* output_queue);
  int RunInProcess(const config::Task& task, const python::PythonCommand& cmd,
                   exec::EnvBuilder& env, exec::QueueBinding* binding);
  int RunAsChild(const config::Task& task, std::vector<std::string> argv, exec::EnvBuilder& env);

  RunFlags flags_;
  config::RobotYaml robot_;
  config::EnvVars env_vars_;
  exec::Environment host_env_;
  exec::RunCapture capture_;
  std::unique_ptr<LazyStore> store_;
  std::unique_ptr<python::Interpreter> interp_;
  std::string owner_ = NewOwner();
};

int RunCommand::Execute() {
  int code = 0;
  auto robot = LoadRobotOrExit(flags_.robot, &code);
  if (!robot) return code;
  robot_ = std::move(*robot);
  if (!flags_.isolation.empty()) robot_.isolation = flags_.isolation;
  if (robot_.isolation != "subinterpreter" && robot_.isolation != "main") {
    PrintError("--isolation: expected subinterpreter or main, got '" + robot_.isolation + "'");
    return kExitRobotInvalid;
  }

  std::vector<const config::Task*> steps;
  std::vector<std::string> names =
      flags_.tasks.empty() ? std::vector<std::string>{""} : flags_.tasks;
  for (const auto& name : names) {
    auto t = config::FindTask(robot_, name, flags_.dev);
    if (!t.ok()) {
      PrintError(t.status().message());
      return kExitTaskNotFound;
    }
    steps.push_back(*t);
  }

  if (!flags_.env_json.empty()) {
    auto vars = config::LoadEnvJson(flags_.env_json);
    if (!vars.ok()) {
      PrintError(vars.status().message());
      return kExitEnvJson;
    }
    env_vars_ = std::move(vars).value();
  }
  if (fs::path conda = robot_.CondaConfigPath(); !conda.empty()) {
    auto c = config::LoadCondaYaml(conda);
    if (!c.ok()) {
      PrintError("warning: " + c.status().message());
    } else {
      for (const auto& w : config::CondaWarnings(*c)) PrintError("warning: " + w);
    }
  }
  if (Status s = capture_.OpenLogs(robot_.ArtifactsPath()); !s.ok()) {
    PrintError(s.message());
    return kExitArtifacts;
  }
  // Paths given on the command line are relative to where robotni was started.
  if (!flags_.input.empty()) flags_.input = fs::absolute(flags_.input).string();
  if (!flags_.store.empty() && flags_.store.find("://") == std::string::npos)
    flags_.store = fs::absolute(flags_.store).string();
  if (chdir(robot_.root.c_str()) != 0) {
    PrintError("cannot enter the robot directory " + robot_.root.string());
    return kExitRobotLoad;
  }
  host_env_ = exec::EnvBuilder::ProcessEnvironment();
  exec::EnvBuilder base(host_env_);
  base.SetAll(env_vars_);
  store_ = std::make_unique<LazyStore>(exec::DefaultStoreUrl(robot_, base, flags_.store));

  std::string previous_output;
  for (size_t i = 0; i < steps.size(); ++i) {
    std::string output;
    int rc = RunStep(*steps[i], i, previous_output, &output);
    if (rc != 0) return rc;
    previous_output = output;
  }
  return kExitOk;
}

int RunCommand::RunStep(const config::Task& task, size_t step, const std::string& input_queue,
                        std::string* output_queue) {
  auto started = std::chrono::steady_clock::now();
  exec::EnvBuilder env(host_env_);  // as robotni was started, not as a step left it
  env.SetAll(env_vars_);
  env.ApplyRobot(robot_);
  exec::QueueNames queues = exec::DefaultQueues(robot_, task, env);
  if (!input_queue.empty()) queues.input = input_queue;  // process steps: A's outputs feed B
  *output_queue = queues.output;
  exec::SetQueueVariables(queues, store_->url(), &env);

  if (step == 0 && !flags_.input.empty()) {
    auto items = exec::ReadWorkItemsFile(flags_.input, queues.input, 100 << 20);
    if (!items.ok()) {
      PrintError("--input: " + items.status().message());
      return kExitRobotInvalid;
    }
    auto st = store_->Get();
    if (!st.ok()) {
      PrintError(st.status().message());
      return kExitRobotLoad;
    }
    auto ids = (*st)->CreateBatch(*items);
    if (!ids.ok()) {
      PrintError("--input: " + ids.status().message());
      return kExitRobotInvalid;
    }
    fprintf(stderr, "robotni: seeded %zu input item(s) into queue '%s'\n", ids->size(),
            queues.input.c_str());
  }

  fprintf(stderr, "robotni: running task '%s' (input queue '%s', output queue '%s')\n",
          task.name.c_str(), queues.input.c_str(), queues.output.c_str());
  std::vector<std::string> argv = task.argv;
  argv.insert(argv.end(), flags_.args.begin(), flags_.args.end());
  int rc;
  if (task.kind == config::Task::Kind::kRobotTaskName) {
    rc = RunAsChild(task, argv, env);
  } else if (auto py = python::ParsePythonCommand(argv)) {
    exec::QueueBindingOptions qopts;
    qopts.input_queue = queues.input;
    qopts.output_queue = queues.output;
    qopts.owner = owner_;
    qopts.checkpoint_after_flush = true;
    // The entry task (first in robot.yaml) of a run without --input gets one empty
    // input item when its queue is empty, as the first step of a process run does.
    qopts.seed_empty_input = step == 0 && flags_.input.empty() && !robot_.tasks.empty() &&
                             robot_.tasks.front().name == task.name;
    exec::QueueBinding binding([this] { return store_->Get(); }, qopts);
    rc = RunInProcess(task, *py, env, &binding);
    if (Status s = binding.Finish(rc == 0); !s.ok()) {
      PrintError("work items of task '" + task.name + "': " + s.message());
      if (rc == 0) rc = 1;
    }
  } else {
    rc = RunAsChild(task, argv, env);
  }
  capture_.Flush();
  if (rc == kExitCommandNotFound) return rc;
  if (rc != 0) {
    fprintf(stderr, "robotni: task '%s' FAILED with exit code %d after %.2f s\n", task.name.c_str(),
            rc, Seconds(started));
    return kExitTaskFailed;
  }
  fprintf(stderr, "robotni: task '%s' SUCCEEDED in %.2f s\n", task.name.c_str(), Seconds(started));
  return 0;
}

int RunCommand::RunInProcess(const config::Task& task, const python::PythonCommand& cmd,
                             exec::EnvBuilder& env, exec::QueueBinding* binding) {
  // One robot per process here, so the process environment can be the task's too
  // (os.system and C libraries read it); each interpreter also gets its own view.
  for (const auto& [k, v] : env.Build()) setenv(k.c_str(), v.c_str(), 1);
  if (!interp_) {
    auto kind = robot_.isolation == "main" ? python::Interpreter::Kind::kMain
                                           : python::Interpreter::Kind::kSubinterpreter;
    auto created = python::Interpreter::Create(kind);
    if (!created.ok()) {
      PrintError(created.status().message());
      return 1;
    }
    interp_ = std::move(created).value();
  }
  python::TaskSpec spec = exec::MakeTaskSpec(robot_, cmd, env, flags_.timeout);
  std::string name = task.name;
  spec.on_hard_timeout = [this, name] {
    fprintf(stderr,
            "robotni: task '%s' did not stop within 5 s after its %.0f s timeout (stuck in "
            "native code); exiting\n",
            name.c_str(), flags_.timeout);
    capture_.Flush();
    _exit(kExitTaskFailed);
  };
  capture_.set_work_items(binding);
  python::TaskResult r = interp_->Run(spec, &capture_);
  capture_.set_work_items(nullptr);
  std::string why = exec::ExplainOutcome(name, r, flags_.timeout);
  if (!why.empty()) PrintError(why);
  return r.exit_code;
}

int RunCommand::RunAsChild(const config::Task& task, std::vector<std::string> argv,
                           exec::EnvBuilder& env) {
  // `python` in a task means the robot's Python: Debian's 3.11 with robotni's
  // robocorp.* packages importable, never whatever python comes first on PATH.
  std::string exe = argv.empty() ? "" : fs::path(argv[0]).filename().string();
  bool is_python = exe == "python" || exe == "python3" || exe == "python3.11";
  if (is_python) {
    argv[0] = "/usr/bin/python3.11";
    const std::string* pp = env.Get("PYTHONPATH");
    std::string shims = (python::InterpreterHost::PythonDir() / "shims").string();
    env.Set("PYTHONPATH", pp && !pp->empty() ? *pp + ":" + shims : shims);
  }
  uv_loop_t loop;
  uv_loop_init(&loop);
  if (task.kind == config::Task::Kind::kRobotTaskName) {
    exec::ChildSpec probe{{"/usr/bin/python3.11", "-c", "import robot"},
                          env.BuildStrings(),
                          robot_.root.string(),
                          30};
    exec::ChildResult pr = exec::RunChild(&loop, probe, nullptr);
    if (!pr.spawn_status.ok() || pr.exit_code != 0) {
      PrintError("task '" + task.name +
                 "' is a Robot Framework task (robotTaskName: " + task.robot_task_name +
                 "), but Robot Framework is not importable by /usr/bin/python3.11; install it "
                 "for that Python or turn the task into a Python task");
      uv_loop_close(&loop);
      return 1;
    }
  }
  exec::ChildSpec spec{argv, env.BuildStrings(), robot_.root.string(), flags_.timeout};
  exec::ChildResult r = exec::RunChild(&loop, spec, &capture_);
  uv_loop_close(&loop);
  if (!r.spawn_status.ok()) {
    PrintError("task '" + task.name + "': " + r.spawn_status.message());
    return r.spawn_status.IsNotFound() ? kExitCommandNotFound : 1;
  }
  if (r.timed_out)
    fprintf(stderr, "robotni: task '%s' timed out after %.0f s (--timeout) and was stopped\n",
            task.name.c_str(), flags_.timeout);
  if (r.term_signal) return 128 + r.term_signal;
  return r.exit_code;
}

}  // namespace

void AddRunCommand(CLI::App& app, CommandBody* body) {
  auto flags = std::make_shared<RunFlags>();
  auto* cmd = app.add_subcommand("run", "Run robot.yaml task(s), as `rcc run -t`");
  cmd->add_option("-r,--robot", flags->robot, "Path to robot.yaml")->capture_default_str();
  cmd->add_option("-t,--task", flags->tasks,
                  "Task to run (repeat to run steps in order, each step's outputs feeding the "
                  "next); default: the sole task")
      ->allow_extra_args(false);  // `-t A -- --x`: --x belongs to the task, not to -t
  cmd->add_option("-e,--environment", flags->env_json, "env.json with variables for the task");
  cmd->add_flag("--dev", flags->dev, "Run devTasks");
  cmd->add_option("--timeout", flags->timeout, "Stop a task after this many seconds")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--isolation", flags->isolation,
                  "Where in-process Python runs: subinterpreter (default) or main");
  cmd->add_option("--store", flags->store,
                  "Work-item store URL (sqlite:///path/workitems.db); default "
                  "RC_WORKITEM_DB_PATH or <robot>/.robotni/workitems.db");
  cmd->add_option("--input", flags->input,
                  "Seed the first task's input queue from a devdata work-items.json");
  cmd->add_option("args", flags->args, "Arguments appended to the task's command (after --)");
  cmd->callback([=] {
    *body = [flags] {
      int rc;
      {
        RunCommand run(*flags);
        rc = run.Execute();
      }
      python::InterpreterHost::Stop();
      return rc;
    };
  });
}

}  // namespace robotni::cli
