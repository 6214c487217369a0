#include "exec/task_env.h"

#include <unistd.h>

extern char** environ;

namespace robotni::exec {

EnvBuilder::EnvBuilder(const Environment& host) {
  for (const auto& kv : host)
    if (kv.first != "VIRTUAL_ENV") env_.push_back(kv);
}

Environment EnvBuilder::ProcessEnvironment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string s = *e;
    auto eq = s.find('=');
    if (eq == std::string::npos || eq == 0) continue;
    env.emplace_back(s.substr(0, eq), s.substr(eq + 1));
  }
  return env;
}

void EnvBuilder::Set(const std::string& key, const std::string& value) {
  for (auto& kv : env_) {
    if (kv.first == key) {
      kv.second = value;
      return;
    }
  }
  env_.emplace_back(key, value);
}

void EnvBuilder::SetAll(const config::EnvVars& vars) {
  for (const auto& [k, v] : vars) Set(k, v);
}

void EnvBuilder::SetDefault(const std::string& key, const std::string& value) {
  if (!Get(key)) env_.emplace_back(key, value);
}

const std::string* EnvBuilder::Get(const std::string& key) const {
  for (const auto& kv : env_)
    if (kv.first == key) return &kv.second;
  return nullptr;
}

namespace {
std::string JoinPaths(const std::vector<std::filesystem::path>& paths, const std::string* tail) {
  std::string out;
  for (const auto& p : paths) {
    if (!out.empty()) out += ':';
    out += p.string();
  }
  if (tail && !tail->empty()) {
    if (!out.empty()) out += ':';
    out += *tail;
  }
  return out;
}
}  // namespace

void EnvBuilder::ApplyRobot(const config::RobotYaml& robot) {
  Set("PYTHONDONTWRITEBYTECODE", "x");
  Set("PYTHONNOUSERSITE", "1");
  Set("PYTHON_EXE", ROBOTNI_PYTHON_EXECUTABLE);  // CMake's ROBOTNI_PYTHON
  const std::string* path = Get("PATH");
  std::string host_path = path ? *path : "/usr/local/bin:/usr/bin:/bin";
  Set("PATH", JoinPaths(robot.AbsolutePath(), &host_path));
  const std::string* pp = Get("PYTHONPATH");
  std::string host_pp = pp ? *pp : "";
  Set("PYTHONPATH", JoinPaths(robot.AbsolutePythonPath(), &host_pp));
  Set("ROBOT_ROOT", robot.root.string());
  Set("ROBOT_ARTIFACTS", robot.ArtifactsPath().string());
}

std::vector<std::string> EnvBuilder::BuildStrings() const {
  std::vector<std::string> out;
  out.reserve(env_.size());
  for (const auto& [k, v] : env_) out.push_back(k + "=" + v);
  return out;
}

}  // namespace robotni::exec
