#ifndef ROBOTNI_RUNTIME_CLI_COMMANDS_H_
#define ROBOTNI_RUNTIME_CLI_COMMANDS_H_

// The robotni subcommands. Each Add*Command registers its subcommand on `app` and,
// when the user chose it, CLI11 sets `*body` to the function that runs it and
// returns the process exit code.

#include <CLI/CLI.hpp>

#include <functional>

namespace robotni::cli {

using CommandBody = std::function<int()>;

void AddRunCommand(CLI::App& app, CommandBody* body);
void AddTasksCommand(CLI::App& app, CommandBody* body);
void AddItemsCommand(CLI::App& app, CommandBody* body);
void AddServeCommand(CLI::App& app, CommandBody* body);
void AddPackageCommand(CLI::App& app, CommandBody* body);
void AddEnvCommand(CLI::App& app, CommandBody* body);
void AddStoreCommand(CLI::App& app, CommandBody* body);

// rcc's exit codes (operations/running.go), which robotni keeps, and robotni's own 4, 7, 8.
enum ExitCode {
  kExitOk = 0,
  kExitRobotLoad = 1,
  kExitRobotInvalid = 2,
  kExitTaskNotFound = 3,
  kExitInstallBroken = 4,  // robotni's Python packages cannot be found (robotni's own)
  kExitEnvJson = 5,
  kExitCommandNotFound = 6,
  kExitDependencyMissing = 7,  // `env check`: a conda.yaml dependency is missing (robotni's own)
  kExitPythonEnvironment = 8,  // the venv / conda environment is for another Python (robotni's own)
  kExitArtifacts = 9,
  kExitTaskFailed = 10,
};

}  // namespace robotni::cli

#endif  // ROBOTNI_RUNTIME_CLI_COMMANDS_H_
