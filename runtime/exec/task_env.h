#ifndef ROBOTNI_RUNTIME_EXEC_TASK_ENV_H_
#define ROBOTNI_RUNTIME_EXEC_TASK_ENV_H_

// The environment a task runs with, built the way rcc builds it
// (conda/robocorp.go + robot.go, reference/robocorp-compat.md §4): host environment
// minus VIRTUAL_ENV, then env.json, then Python settings, then PATH with the robot's
// entries first, PYTHONPATH, ROBOT_ROOT and ROBOT_ARTIFACTS. Later entries win.

#include <string>
#include <utility>
#include <vector>

#include "config/env_json.h"
#include "config/robot_yaml.h"

namespace robotni::exec {

using Environment = std::vector<std::pair<std::string, std::string>>;

class EnvBuilder {
 public:
  // Starts from `host` (normally the process environment), minus VIRTUAL_ENV.
  explicit EnvBuilder(const Environment& host);
  static Environment ProcessEnvironment();

  void Set(const std::string& key, const std::string& value);  // replaces
  void SetAll(const config::EnvVars& vars);
  void SetDefault(const std::string& key, const std::string& value);  // only if unset
  const std::string* Get(const std::string& key) const;
  // rcc's robot part: PATH/PYTHONPATH entries, ROBOT_ROOT, ROBOT_ARTIFACTS, and the
  // Python settings rcc gives every run.
  void ApplyRobot(const config::RobotYaml& robot);
  Environment Build() const { return env_; }
  // "KEY=VALUE" strings for execve / uv_spawn.
  std::vector<std::string> BuildStrings() const;

 private:
  Environment env_;
};

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_TASK_ENV_H_
