#ifndef ROBOTNI_RUNTIME_EXEC_PYTHON_JOBS_H_
#define ROBOTNI_RUNTIME_EXEC_PYTHON_JOBS_H_

// Python job types (`@robotni.job("add")`) in an interpreter of this process: importing a
// robot's job modules to read the registered types, and running one job. The dispatcher
// calls these for in-process jobs; a worker process (worker/worker_main.cc) calls them
// for the jobs its control process sends it.

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "python/interpreter_pool.h"
#include "python/task_context.h"
#include "robotni/status.h"

namespace robotni::exec {

struct JobTypeInfo;

struct PythonJobsConfig {
  std::string robot_key;                         // interpreter pool key
  std::string robot_root;                        // cwd-independent base for module paths
  std::vector<std::string> job_modules;          // files (relative to robot_root) or dotted modules
  std::vector<std::string> sys_path;             // prepended to sys.path (robot PYTHONPATH)
  std::vector<std::string> environ_keys_values;  // "K=V" for os.environ of jobs
  python::Interpreter::Kind kind = python::Interpreter::Kind::kSubinterpreter;
};

// Imports the job modules (generation `generation`: a new one imports them afresh) and
// returns every registered type, as robotni._jobs.describe_all() describes them.
StatusOr<std::vector<JobTypeInfo>> LoadPythonJobTypes(python::InterpreterPool* pool,
                                                      const PythonJobsConfig& config,
                                                      uint64_t generation);
// The types as JSON (the worker protocol's `hello`), and back.
nlohmann::json JobTypesToJson(const std::vector<JobTypeInfo>& types);
std::vector<JobTypeInfo> JobTypesFromJson(const nlohmann::json& doc);

// How one run of a Python job went; its outcome itself is reported on the JobBackend.
struct PythonJobRun {
  std::string log;         // the job's captured stdout then stderr
  bool timed_out = false;  // the soft timeout fired
  std::string why;         // what to record if the job reported no outcome
};

// Runs job->item() in an interpreter leased from `pool`, with a soft timeout (seconds,
// 0 = none) delivered as an exception in Python, keeping `max_output_bytes` of each
// stream of its output (-1 = all). `on_output` (if set) also gets the job's output as it is
// written (a worker streams it, so a job whose worker dies keeps it).
PythonJobRun RunPythonJob(python::InterpreterPool* pool, const PythonJobsConfig& config,
                          uint64_t generation, python::JobBackend* job, double timeout,
                          int64_t max_output_bytes,
                          std::function<void(int stream, std::string_view text)> on_output = {});

// One job of RunPythonJobs, as RunPythonJob's arguments name them.
struct PythonJobSpec {
  python::JobBackend* job = nullptr;
  double timeout = 0;
  int64_t max_output_bytes = -1;
  std::function<void(int stream, std::string_view text)> on_output;
};
// Runs jobs one after another in one interpreter leased from `pool`, handed to its thread
// once for all of them: `next` gives each job (false: no more), `done` gets each one's run.
// Both are called on the interpreter's thread (or this one, when no interpreter can be had:
// then every job's run says why).
void RunPythonJobs(python::InterpreterPool* pool, const PythonJobsConfig& config,
                   uint64_t generation, const std::function<bool(PythonJobSpec* job)>& next,
                   const std::function<void(PythonJobRun run)>& done);

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_PYTHON_JOBS_H_
