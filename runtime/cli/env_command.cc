// `robotni env check`: whether each conda.yaml dependency is there for the embedded
// CPython, and at which version (service/env_check.h). One line a dependency; exit 7 when
// one is missing or at a version the spec does not admit.
// `robotni env create -p PREFIX PACKAGE...`: conda packages unpacked into a prefix, with
// conda's records (package/conda_install.h).
#include <cstdio>
#include <vector>

#include "cli/commands.h"
#include "cli/python_prefix_flag.h"
#include "cli/robot_loader.h"
#include "package/conda_install.h"
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

// Every package is read and checked before the first is installed: a corrupt one among
// several installs none.
int Create(const std::string& prefix, const std::vector<std::string>& archives) {
  std::vector<package::LoadedPackage> loaded;
  for (const auto& a : archives) {
    auto pkg = package::LoadCondaPackage(a, prefix);
    if (!pkg.ok()) {
      PrintError(pkg.status().message());
      return pkg.status().IsInvalidArgument() ? kExitRobotInvalid : kExitRobotLoad;
    }
    loaded.push_back(std::move(pkg).value());
  }
  for (const auto& pkg : loaded) {
    auto done = package::InstallCondaPackage(pkg, prefix);
    if (!done.ok()) {
      PrintError(pkg.file_name + ": " + done.status().message());
      return done.status().IsInvalidArgument() ? kExitRobotInvalid : kExitRobotLoad;
    }
    fprintf(stderr, "robotni: installed %s-%s-%s (%zu files)\n", pkg.name.c_str(),
            pkg.version.c_str(), pkg.build.c_str(), done->files);
    printf("%s\n", done->record.c_str());
  }
  return kExitOk;
}

}  // namespace

void AddEnvCommand(CLI::App& app, CommandBody* body) {
  auto* env = app.add_subcommand(
      "env", "Check the robot's conda.yaml against this machine, or unpack conda packages");
  env->require_subcommand(1);
  auto robot_path = std::make_shared<std::string>("robot.yaml");
  auto* check = env->add_subcommand(
      "check",
      "For each conda.yaml dependency: does the embedded CPython import it, at which version");
  check->add_option("-r,--robot", *robot_path, "Path to robot.yaml")->capture_default_str();
  AddPythonPrefixOption(check);
  check->callback([=] { *body = [=] { return Check(*robot_path); }; });
  auto prefix = std::make_shared<std::string>();
  auto archives = std::make_shared<std::vector<std::string>>();
  auto* create = env->add_subcommand(
      "create", "Unpack conda packages (.conda, .tar.bz2) into a prefix, with conda-meta records");
  create->add_option("-p,--prefix", *prefix, "The environment's folder (created)")->required();
  create->add_option("packages", *archives, "Package files")->required();
  create->callback([=] { *body = [=] { return Create(*prefix, *archives); }; });
}

}  // namespace robotni::cli
