#ifndef ROBOTNI_RUNTIME_SERVICE_ENV_CHECK_H_
#define ROBOTNI_RUNTIME_SERVICE_ENV_CHECK_H_

// `robotni env check` and run's one-line warning: is each conda.yaml dependency there for
// the embedded CPython, and at which version (config/conda_imports.h says what is looked
// for; python/module_probe.h how).

#include <filesystem>
#include <string>
#include <vector>

#include "config/conda_imports.h"
#include "config/conda_yaml.h"
#include "config/robot_yaml.h"
#include "robotni/status.h"

namespace robotni::service {

struct DependencyStatus {
  enum class State { kOk, kMissing, kWrongVersion, kSkipped };
  config::DependencyCheck check;
  State state = State::kOk;
  std::string version;  // the version found ("" when unknown)
  std::string detail;   // where it was found, or why it is missing or skipped
  bool problem() const { return state == State::kMissing || state == State::kWrongVersion; }
};

// One status per dependency, conda's then pip's, in conda.yaml's order. Modules are
// looked up with the robot's PYTHONPATH first, programs on PATH after the robot's PATH.
StatusOr<std::vector<DependencyStatus>> CheckDependencies(const config::CondaYaml& conda,
                                                          const config::RobotYaml& robot);

// The one warning line `robotni run` prints, "" when nothing is missing. python is left
// out (CondaWarnings says what the embedded CPython's version means for it):
// "<conda.yaml>: 2 of 5 dependencies missing for the embedded CPython: requests (not
// importable), numpy (1.24.2, wants >=1.26); see `robotni env check`".
std::string ProblemsLine(const config::CondaYaml& conda,
                         const std::vector<DependencyStatus>& statuses);

const char* StateName(DependencyStatus::State state);

}  // namespace robotni::service

#endif  // ROBOTNI_RUNTIME_SERVICE_ENV_CHECK_H_
