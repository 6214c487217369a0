#include "cli/robot_loader.h"

#include <cstdio>

#include "cli/commands.h"
#include "core/log.h"

namespace robotni::cli {

// Through the logger, so `serve --log-format json` keeps stderr one JSON object a line.
void PrintError(const std::string& message) {
  if (message.rfind("warning: ", 0) == 0) return log::Warn(message.substr(9));
  log::Error(message);
}

int ExitCodeOfOpen(const Status& status) {
  PrintError(status.message());
  return status.IsInvalidArgument() ? kExitRobotInvalid : kExitRobotLoad;
}

std::optional<config::RobotYaml> LoadRobotOrExit(const std::string& path, int* exit_code) {
  auto robot = config::LoadRobotYaml(path);
  if (!robot.ok()) {
    PrintError(robot.status().message());
    *exit_code = kExitRobotLoad;
    return std::nullopt;
  }
  if (Status s = config::ValidateRobotYaml(*robot); !s.ok()) {
    PrintError(s.message());
    *exit_code = kExitRobotInvalid;
    return std::nullopt;
  }
  for (const auto& w : robot->warnings) PrintError("warning: " + w);
  return std::move(robot).value();
}

}  // namespace robotni::cli
