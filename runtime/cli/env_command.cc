// `robotni env check`: whether each conda.yaml dependency is there for the embedded
// CPython, and at which version (service/env_check.h). One line a dependency; exit 7 when
// one is missing or at a version the spec does not admit.
#include <cstdio>

#include "cli/commands.h"
#include "cli/robot_loader.h"
#include "service/env_check.h"

namespace robotni::cli {

namespace {

int Check(const std::string& robot_path) {
  int code = 0;
  auto robot = LoadRobotOrExit(robot_path, &code);
  if (!robot) return code;
  auto conda_path = robot->CondaConfigPath();
  if (conda_path.empty()) {
    PrintError(robot->path.string() +
               ": no conda.yaml: environmentConfigs (or condaConfigFile) names none that "
               "exists; nothing to check");
    return kExitRobotLoad;
  }
  auto conda = config::LoadCondaYaml(conda_path);
  if (!conda.ok()) {
    PrintError(conda.status().message());
    return kExitRobotInvalid;
  }
  auto statuses = service::CheckDependencies(*conda, *robot);
  if (!statuses.ok()) {
    PrintError(statuses.status().message());
    return kExitInstallBroken;
  }
  printf("%s\n", conda->path.c_str());
  int problems = 0, checked = 0;
  for (const auto& s : *statuses) {
    if (s.problem()) ++problems;
    if (s.state != service::DependencyStatus::State::kSkipped) ++checked;
    printf("%-13s %-5s %-32s %-12s %s\n", service::StateName(s.state), s.check.source.c_str(),
           s.check.spec.c_str(), s.version.empty() ? "-" : s.version.c_str(), s.detail.c_str());
  }
  if (problems == 0) return kExitOk;
  fprintf(stderr, "robotni: %d of %d dependencies missing or at another version\n", problems,
          checked);
  return kExitDependencyMissing;
}

}  // namespace

void AddEnvCommand(CLI::App& app, CommandBody* body) {
  auto* env = app.add_subcommand("env", "Check the robot's conda.yaml against this machine");
  env->require_subcommand(1);
  auto robot_path = std::make_shared<std::string>("robot.yaml");
  auto* check = env->add_subcommand(
      "check",
      "For each conda.yaml dependency: does the embedded CPython import it, at which version");
  check->add_option("-r,--robot", *robot_path, "Path to robot.yaml")->capture_default_str();
  check->callback([=] { *body = [=] { return Check(*robot_path); }; });
}

}  // namespace robotni::cli
