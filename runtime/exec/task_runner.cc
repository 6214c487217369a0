#include "exec/task_runner.h"

#include <cstdio>
#include <filesystem>

namespace robotni::exec {

namespace fs = std::filesystem;

python::TaskSpec MakeTaskSpec(const config::RobotYaml& robot, const python::PythonCommand& cmd,
                              const EnvBuilder& env, double timeout_seconds) {
  python::TaskSpec spec;
  spec.command = cmd;
  // As the PYTHONPATH variable would put them: after sys.path[0].
  if (cmd.mode == python::PythonCommand::Mode::kScript)
    spec.path_prepend.push_back(fs::absolute(robot.root / cmd.target).parent_path().string());
  else
    spec.path_prepend.push_back(robot.root.string());
  for (const auto& p : robot.AbsolutePythonPath()) spec.path_prepend.push_back(p.string());
  spec.environ = env.Build();
  spec.timeout_seconds = timeout_seconds;
  return spec;
}

void SetQueueVariables(const QueueNames& queues, const std::string& store_url, EnvBuilder* env) {
  env->Set("RC_WORKITEM_QUEUE_NAME", queues.input);
  env->Set("RC_WORKITEM_OUTPUT_QUEUE_NAME", queues.output);
  env->Set("RC_WORKITEM_DB_PATH", store_url);
}

std::string ExplainOutcome(const std::string& task, const python::TaskResult& result,
                           double timeout_seconds) {
  using Outcome = python::TaskResult::Outcome;
  char buf[160];
  switch (result.outcome) {
    case Outcome::kTimeout:
      snprintf(buf, sizeof(buf), "%.0f", timeout_seconds);
      return "task '" + task + "' timed out after " + buf + " s and was stopped";
    case Outcome::kUnsupported:
      return "task '" + task + "' imports '" + result.detail +
             "', which cannot run in a sub-interpreter; set `isolation: main` in robot.yaml or "
             "pass --isolation main";
    case Outcome::kHostError:
      return "task '" + task + "': " + result.detail;
    default:
      return "";
  }
}

}  // namespace robotni::exec
