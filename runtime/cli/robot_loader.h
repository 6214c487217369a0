#ifndef ROBOTNI_RUNTIME_CLI_ROBOT_LOADER_H_
#define ROBOTNI_RUNTIME_CLI_ROBOT_LOADER_H_

// Loads and validates robot.yaml for a command, printing rcc-style errors.

#include <optional>
#include <string>

#include "config/robot_yaml.h"

namespace robotni::cli {

// On failure prints the error and sets *exit_code (1 cannot load, 2 invalid).
std::optional<config::RobotYaml> LoadRobotOrExit(const std::string& path, int* exit_code);

// Prints why Runtime::Open failed and returns rcc's exit code for it: 1 robot.yaml cannot be
// loaded (NotFound), 2 invalid (InvalidArgument), else 1.
int ExitCodeOfOpen(const Status& status);

// Prints "robotni: <message>" to stderr.
void PrintError(const std::string& message);

}  // namespace robotni::cli

#endif  // ROBOTNI_RUNTIME_CLI_ROBOT_LOADER_H_
