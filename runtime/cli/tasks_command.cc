// `robotni tasks`: lists a robot's tasks and what each runs.
#include <cstdio>

#include "cli/commands.h"
#include "cli/robot_loader.h"

namespace robotni::cli {

namespace {

std::string Describe(const config::Task& t) {
  std::string out;
  for (const auto& a : t.argv) {
    if (!out.empty()) out += ' ';
    out += a.find(' ') == std::string::npos ? a : "'" + a + "'";
  }
  return out;
}

}  // namespace

void AddTasksCommand(CLI::App& app, CommandBody* body) {
  auto* cmd = app.add_subcommand("tasks", "List the tasks of robot.yaml");
  auto robot_path = std::make_shared<std::string>("robot.yaml");
  auto dev = std::make_shared<bool>(false);
  cmd->add_option("-r,--robot", *robot_path, "Path to robot.yaml")->capture_default_str();
  cmd->add_flag("--dev", *dev, "List devTasks instead");
  cmd->callback([=] {
    *body = [=] {
      int code = 0;
      auto robot = LoadRobotOrExit(*robot_path, &code);
      if (!robot) return code;
      const auto& tasks = *dev ? robot->dev_tasks : robot->tasks;
      for (const auto& t : tasks) printf("%-24s %s\n", t.name.c_str(), Describe(t).c_str());
      return 0;
    };
  });
}

}  // namespace robotni::cli
