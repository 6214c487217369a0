#ifndef ROBOTNI_RUNTIME_SERVICE_SERVE_TASKS_H_
#define ROBOTNI_RUNTIME_SERVICE_SERVE_TASKS_H_

// `robotni serve --tasks Consumer,Reporter`: robot.yaml tasks run as queue consumers
// next to the job dispatcher (exec/task_consumer.h). This file resolves the tasks and
// their queues as `robotni run` does, and owns their consumers for serve.
//
// Serve's lifecycle: Create (before listening), Start (after), BeginDrain + Drain on
// SIGTERM. A run still executing after the drain (stuck in native code) cannot be
// stopped or waited for; its items were given back, and the destructor then ends the
// process with exit code 0 rather than hang in interpreter teardown.

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/robot_yaml.h"
#include "exec/task_consumer.h"
#include "exec/task_env.h"
#include "python/interpreter_pool.h"
#include "store/store.h"

namespace robotni::service {

struct ServeTasksOptions {
  std::vector<std::string> tasks;  // names as in robot.yaml (matched as `run -t` matches)
  double timeout = 0;              // seconds per run, 0 = none
  double grace = 30;               // the drain's grace, for a drain the destructor does
  std::string store_url;           // RC_WORKITEM_DB_PATH for the tasks
  std::string owner;               // lease owner prefix
  python::Interpreter::Kind kind = python::Interpreter::Kind::kSubinterpreter;
  bool in_worker = false;  // isolation process: each task runs in a worker process of its own
  int64_t max_payload_bytes = 1 << 20;  // of an output's or a saved payload's JSON
  int64_t lease_ms = 60000;             // of the items the tasks hold
};

class ServeTasks {
 public:
  // NotFound for a task robot.yaml lacks, InvalidArgument for one that is not a Python
  // command. No tasks named: an empty, valid ServeTasks.
  static StatusOr<std::unique_ptr<ServeTasks>> Create(const config::RobotYaml& robot,
                                                      const exec::EnvBuilder& env,
                                                      store::WorkItemStore* store,
                                                      python::InterpreterPool* pool,
                                                      const ServeTasksOptions& options);
  ~ServeTasks();

  size_t size() const { return consumers_.size(); }
  // Enters the robot's directory (tasks run there, as under rcc) and starts consuming.
  void Start();
  void Wake();
  // Stops starting runs and handing items to running ones. Non-blocking.
  void BeginDrain();
  // Waits until `grace` after BeginDrain for running runs, then gives back what they
  // still hold. Returns how many items went back.
  int Drain(std::chrono::milliseconds grace);
  // [{"task", "queue", "output_queue", "running", "runs", "items", "done", "failed",
  //   "last_result", ...}] for GET /api/worker/status.
  nlohmann::json StatusJson() const;

 private:
  ServeTasks(store::WorkItemStore* store, std::filesystem::path root, double grace)
      : store_(store), root_(std::move(root)), grace_(grace) {}

  store::WorkItemStore* store_;
  std::filesystem::path root_;
  double grace_;
  bool drain_begun_ = false, drained_ = false;
  std::chrono::steady_clock::time_point drain_started_;
  std::vector<std::unique_ptr<exec::TaskConsumer>> consumers_;
};

// Where serve keeps its files: the SQLite store's directory, else <robot>/.robotni.
std::filesystem::path ServeDataDir(const std::string& store_url,
                                   const std::filesystem::path& robot_root);

}  // namespace robotni::service

#endif  // ROBOTNI_RUNTIME_SERVICE_SERVE_TASKS_H_
