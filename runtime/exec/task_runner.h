#ifndef ROBOTNI_RUNTIME_EXEC_TASK_RUNNER_H_
#define ROBOTNI_RUNTIME_EXEC_TASK_RUNNER_H_

// What `robotni run` and `robotni serve --tasks` share to run a robot.yaml task's
// Python command in-process: the TaskSpec (sys.path, os.environ, timeout) as rcc +
// robocorp.tasks would set it, the work-item variables of its queues, and the line
// that explains an outcome that is not a plain exit.

#include <string>

#include "config/robot_yaml.h"
#include "exec/task_env.h"
#include "exec/work_item_queues.h"
#include "python/interpreter.h"

namespace robotni::exec {

// sys.path[0] as CPython sets it (the script's directory, or the robot root for -m /
// -c), then the robot's PYTHONPATH; os.environ from `env`.
python::TaskSpec MakeTaskSpec(const config::RobotYaml& robot, const python::PythonCommand& cmd,
                              const EnvBuilder& env, double timeout_seconds);

// RC_WORKITEM_QUEUE_NAME, RC_WORKITEM_OUTPUT_QUEUE_NAME and RC_WORKITEM_DB_PATH, so the
// task (and anything it starts) sees the queues it is bound to.
void SetQueueVariables(const QueueNames& queues, const std::string& store_url, EnvBuilder* env);

// "task 'X' timed out after N s ..." for a timeout, an unsupported module or a host
// error; "" for an ordinary exit or exception (the traceback already says it).
std::string ExplainOutcome(const std::string& task, const python::TaskResult& result,
                           double timeout_seconds);

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_TASK_RUNNER_H_
