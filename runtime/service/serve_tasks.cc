#include "service/serve_tasks.h"

#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "core/log.h"
#include "exec/task_runner.h"
#include "exec/work_item_queues.h"

namespace robotni::service {

namespace fs = std::filesystem;

namespace {

// One line per run in serve's log: info when it went well, else a warning.
void LogRun(const exec::TaskRunReport& r) {
  char head[200];
  snprintf(head, sizeof(head),
           "task '%s' run %lld: %lld item(s), %lld done, %lld failed, %.2f s: ", r.task.c_str(),
           static_cast<long long>(r.run), static_cast<long long>(r.items),
           static_cast<long long>(r.done), static_cast<long long>(r.failed), r.seconds);
  std::string msg = head + r.result + (r.detail.empty() ? "" : ": " + r.detail) +
                    (r.log.empty() ? "" : " (log: " + r.log.string() + ")");
  log::Write(r.result == "ok" ? log::Level::kInfo : log::Level::kWarn, msg,
             {{"event", "task_run"},
              {"task", r.task},
              {"run", r.run},
              {"items", r.items},
              {"done", r.done},
              {"failed", r.failed},
              {"seconds", r.seconds},
              {"result", r.result},
              {"detail", r.detail},
              {"log", r.log.string()}});
}

}  // namespace

fs::path ServeDataDir(const std::string& store_url, const fs::path& robot_root) {
  std::string path = store_url;
  if (path.rfind("sqlite://", 0) == 0) path = path.substr(9);
  if (path.empty() || path.find("://") != std::string::npos) return robot_root / ".robotni";
  return fs::absolute(path).parent_path();
}

StatusOr<std::unique_ptr<ServeTasks>> ServeTasks::Create(const config::RobotYaml& robot,
                                                         const exec::EnvBuilder& env,
                                                         store::WorkItemStore* store,
                                                         python::InterpreterPool* pool,
                                                         const ServeTasksOptions& options) {
  std::unique_ptr<ServeTasks> tasks(new ServeTasks(store, robot.root, options.grace));
  fs::path logs = ServeDataDir(options.store_url, robot.root) / "task-logs";
  std::vector<std::string> seen;
  for (const auto& name : options.tasks) {
    if (name.empty()) continue;
    auto found = config::FindTask(robot, name, /*dev=*/false);
    if (!found.ok()) {
      return Status::NotFound("--tasks: " + found.status().message());
    }
    const config::Task& task = **found;
    if (std::find(seen.begin(), seen.end(), task.name) != seen.end()) continue;
    seen.push_back(task.name);
    auto py = task.kind == config::Task::Kind::kRobotTaskName
                  ? std::nullopt
                  : python::ParsePythonCommand(task.argv);
    if (!py) {
      return Status::InvalidArgument(
          "--tasks: task '" + task.name +
          "' is not a Python command; serve runs robot.yaml tasks in-process only "
          "(python -m ..., python script.py, python -c ...)");
    }
    exec::EnvBuilder task_env = env;
    exec::TaskConsumerOptions copts;
    copts.task = task.name;
    copts.queues = exec::DefaultQueues(robot, task, task_env);
    exec::SetQueueVariables(copts.queues, options.store_url, &task_env);
    // robot.yaml's limits (the task's, else the robot's); --task-timeout given wins.
    Limits limits = config::LimitsOf(robot, task);
    copts.spec = exec::MakeTaskSpec(
        robot, *py, task_env, options.timeout > 0 ? options.timeout : limits.timeout.value_or(0));
    if (limits.kill_grace) copts.spec.hard_timeout_grace_seconds = *limits.kill_grace;
    copts.memory_limit_mb = limits.memory_limit_mb.value_or(0);
    copts.max_items_per_worker = limits.max_runs_per_worker.value_or(0);
    copts.max_output_bytes = limits.max_output_bytes.value_or(-1);
    // Each task keeps its own warm interpreter: job modules and other tasks never share
    // its sys.modules.
    copts.pool_key = robot.root.string() + "\ttask:" + task.name;
    copts.kind = options.kind;
    copts.in_worker = options.in_worker;
    copts.max_payload_bytes = options.max_payload_bytes;
    copts.lease_ms = options.lease_ms;
    copts.owner = options.owner;
    copts.log_dir = logs / task.name;
    // A run's outputs may be another task's inputs: look again at once.
    copts.on_run = [t = tasks.get()](const exec::TaskRunReport& r) {
      LogRun(r);
      t->Wake();
    };
    tasks->consumers_.push_back(
        std::make_unique<exec::TaskConsumer>(store, pool, std::move(copts)));
  }
  return tasks;
}

ServeTasks::~ServeTasks() {
  if (consumers_.empty()) return;
  if (!drained_) Drain(std::chrono::milliseconds(static_cast<int64_t>(grace_ * 1000)));
  bool stuck = false;
  for (const auto& c : consumers_) stuck = stuck || c->stuck();
  if (!stuck) return;  // the consumers' destructors join their threads
  // Why a library ends its host's process here: the run executes in an interpreter inside
  // this process, and it is stuck in C code (a C extension, a blocking call) past its timeout.
  // Nothing in the process can stop it: the timeout's async exception is only seen between
  // bytecodes, a thread cannot be killed, and the run holds its interpreter and its thread for
  // good, so the pool's and CPython's teardown (and the consumer's join) would wait for it
  // forever. Its items were given back at drain and the store is synced below, so exit code 0
  // loses nothing. Not a behaviour to tune: the fix is process isolation, running tasks in
  // worker processes that can be killed (issue #11).
  log::Warn("a task run could not be stopped; exiting without waiting for it",
            {{"event", "task_run_abandoned"}});
  (void)store_->Sync();
  fflush(stdout);
  fflush(stderr);
  _exit(0);
}

void ServeTasks::Start() {
  if (consumers_.empty()) return;
  // rcc runs a task in the robot's directory; robot code opens relative paths.
  if (chdir(root_.c_str()) != 0) log::Warn("cannot enter the robot directory " + root_.string());
  for (auto& c : consumers_) {
    const auto& o = c->options();
    log::Info("task '" + o.task + "' consumes queue '" + o.queues.input + "' (outputs to '" +
                  o.queues.output + "'; run logs in " + o.log_dir.string() + ")",
              {{"event", "task_consumer"},
               {"task", o.task},
               {"queue", o.queues.input},
               {"output_queue", o.queues.output},
               {"log_dir", o.log_dir.string()}});
    c->Start();
  }
}

void ServeTasks::Wake() {
  for (auto& c : consumers_) c->Wake();
}

void ServeTasks::BeginDrain() {
  if (drain_begun_) return;
  drain_begun_ = true;
  drain_started_ = std::chrono::steady_clock::now();
  for (auto& c : consumers_) c->BeginDrain();
}

int ServeTasks::Drain(std::chrono::milliseconds grace) {
  BeginDrain();
  drained_ = true;
  auto deadline = drain_started_ + grace;
  int given_back = 0;
  for (auto& c : consumers_) given_back += c->Drain(deadline);
  if (given_back > 0)
    log::Info(std::to_string(given_back) + " work item(s) of running tasks went back to the queue",
              {{"event", "task_items_given_back"}, {"count", given_back}});
  return given_back;
}

nlohmann::json ServeTasks::StatusJson() const {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& c : consumers_) {
    auto s = c->snapshot();
    nlohmann::json last = nullptr;
    if (s.runs > 0 && !s.last.result.empty())
      last = {{"run", s.last.run},       {"result", s.last.result},   {"items", s.last.items},
              {"done", s.last.done},     {"failed", s.last.failed},   {"seconds", s.last.seconds},
              {"detail", s.last.detail}, {"log", s.last.log.string()}};
    out.push_back({{"task", s.task},
                   {"queue", s.input_queue},
                   {"output_queue", s.output_queue},
                   {"running", s.running && !s.stuck},
                   {"stuck", s.stuck},
                   {"runs", s.runs},
                   {"items", s.items},
                   {"done", s.done},
                   {"failed", s.failed},
                   {"last_run", last}});
  }
  return out;
}

}  // namespace robotni::service
