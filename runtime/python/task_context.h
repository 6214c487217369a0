#ifndef ROBOTNI_RUNTIME_PYTHON_TASK_CONTEXT_H_
#define ROBOTNI_RUNTIME_PYTHON_TASK_CONTEXT_H_

// What a running Python task can reach through the _robotni module: its output
// capture, and (when the run is bound to a store) its work items or its job.
// Thread-safety: methods are called on the task's executor thread (and on threads the
// task starts) without the GIL held; implementations synchronise themselves.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "robotni/status.h"
#include "store/store.h"

namespace robotni::python {

// The robocorp BaseAdapter contract (docs/robotni-module.md) over a queue binding.
class WorkItemBackend {
 public:
  virtual ~WorkItemBackend() = default;
  virtual std::string input_queue() const = 0;
  virtual std::string output_queue() const = 0;
  // The next input id, or nullopt when the queue is empty.
  virtual StatusOr<std::optional<std::string>> ReserveInput() = 0;
  struct Release {
    bool done = true;
    store::ExceptionType type = store::ExceptionType::kApplication;
    std::optional<std::string> code, message;
  };
  virtual Status ReleaseInput(const std::string& id, const Release& release) = 0;
  virtual StatusOr<std::string> CreateOutput(const std::string& parent_id,
                                             std::string payload_json) = 0;
  virtual StatusOr<std::string> LoadPayload(const std::string& id) = 0;
  virtual Status SavePayload(const std::string& id, std::string payload_json) = 0;
  virtual StatusOr<std::vector<std::string>> ListFiles(const std::string& id) = 0;
  virtual StatusOr<std::string> GetFile(const std::string& id, const std::string& name) = 0;
  virtual Status AddFile(const std::string& id, const std::string& name, std::string content) = 0;
  virtual Status RemoveFile(const std::string& id, const std::string& name) = 0;
  virtual Status Flush() = 0;
  // Gives back an input ReserveInput handed out that the task never saw (one a worker
  // process reserved ahead and did not take): PENDING again, its attempt not counted.
  virtual Status GiveBack(const std::string& id) {
    return Status::Unsupported("cannot give back work item " + id);
  }
};

// One job (item) handed to a job-style function.
class JobBackend {
 public:
  virtual ~JobBackend() = default;
  virtual const store::Item& item() const = 0;
  virtual Status Heartbeat(double seconds) = 0;
  virtual StatusOr<bool> IsCancelled() = 0;
  virtual Status Progress(const std::string& message) = 0;
  // The job function's outcome, reported by robotni._jobs.call_current().
  virtual void SetResult(std::string result_json) = 0;
  virtual void SetFailure(store::ExceptionType type, std::string code, std::string message,
                          std::string traceback) = 0;
};

class TaskContext {
 public:
  virtual ~TaskContext() = default;
  // stream: 1 = stdout, 2 = stderr. Called for every write to sys.stdout/sys.stderr.
  virtual void Write(int stream, std::string_view text) = 0;
  virtual WorkItemBackend* work_items() { return nullptr; }
  virtual JobBackend* job() { return nullptr; }
};

}  // namespace robotni::python

#endif  // ROBOTNI_RUNTIME_PYTHON_TASK_CONTEXT_H_
