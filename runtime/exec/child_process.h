#ifndef ROBOTNI_RUNTIME_EXEC_CHILD_PROCESS_H_
#define ROBOTNI_RUNTIME_EXEC_CHILD_PROCESS_H_

// Runs a task that is not in-process Python (another program, Robot Framework) as a
// child process from a libuv loop, its stdout / stderr captured through pipes.
// Thread-safety: RunChild runs `loop` on the calling thread until the child ends.

#include <uv.h>

#include <string>
#include <vector>

#include "python/task_context.h"
#include "robotni/status.h"

namespace robotni::exec {

struct ChildSpec {
  std::vector<std::string> argv;  // argv[0] looked up on the PATH of `env`
  std::vector<std::string> env;   // "KEY=VALUE"
  std::string cwd;
  double timeout_seconds = 0;  // 0 = none; then SIGTERM, and SIGKILL 5 s later
};

struct ChildResult {
  Status spawn_status;  // NotFound when the program does not exist
  int exit_code = 0;
  int term_signal = 0;
  bool timed_out = false;
};

ChildResult RunChild(uv_loop_t* loop, const ChildSpec& spec, python::TaskContext* output);

// Finds `program` on `path` (colon-separated) as execvp would; "" when not found.
std::string FindProgram(const std::string& program, const std::string& path);

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_CHILD_PROCESS_H_
