// `robotni run`: runs robot.yaml tasks like `rcc run -t`, Python in-process. Thin: flags ->
// RuntimeOptions + RunOptions -> Runtime::Run -> rcc's exit code.
#include <unistd.h>

#include <cstdio>
#include <memory>

#include "cli/commands.h"
#include "cli/robot_loader.h"
#include "robotni/runtime.h"

namespace robotni::cli {

namespace {

struct RunFlags {
  std::string robot = "robot.yaml";
  std::vector<std::string> tasks;
  std::string env_json;
  bool dev = false;
  double timeout = 0;
  std::string isolation;
  std::string store;
  std::string input;
  std::vector<std::string> args;
};

void WriteAll(int fd, std::string_view text) {
  while (!text.empty()) {
    ssize_t n = ::write(fd, text.data(), text.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    text.remove_prefix(static_cast<size_t>(n));
  }
}

int Run(const RunFlags& flags) {
  RuntimeOptions ro;
  ro.robot = flags.robot;
  ro.store = flags.store;
  ro.isolation = flags.isolation;
  ro.concurrency = 1;
  auto rt = Runtime::Open(ro);
  if (!rt.ok()) return ExitCodeOfOpen(rt.status());
  RunOptions o;
  o.tasks = flags.tasks;
  o.env_json = flags.env_json;
  o.dev = flags.dev;
  o.timeout = flags.timeout;
  o.input = flags.input;
  o.args = flags.args;
  o.keep_output = false;
  o.export_environment = true;  // one robot per process: C libraries and os.system see it
  o.on_output = [](int stream, std::string_view text) { WriteAll(stream == 2 ? 2 : 1, text); };
  // A task stuck in native code past its timeout cannot be stopped; this process is only
  // that run, so it ends here with "the task failed".
  o.on_stuck = [] {
    fflush(stdout);
    fflush(stderr);
    _exit(kExitTaskFailed);
  };
  auto outcome = (*rt)->Run(o);
  if (!outcome.ok()) {
    PrintError(outcome.status().message());
    return 1;
  }
  return outcome->exit_code;
}

}  // namespace

void AddRunCommand(CLI::App& app, CommandBody* body) {
  auto flags = std::make_shared<RunFlags>();
  auto* cmd = app.add_subcommand("run", "Run robot.yaml task(s), as `rcc run -t`");
  cmd->add_option("-r,--robot", flags->robot, "Path to robot.yaml")->capture_default_str();
  cmd->add_option("-t,--task", flags->tasks,
                  "Task to run (repeat to run steps in order, each step's outputs feeding the "
                  "next); default: the sole task")
      ->allow_extra_args(false);  // `-t A -- --x`: --x belongs to the task, not to -t
  cmd->add_option("-e,--environment", flags->env_json, "env.json with variables for the task");
  cmd->add_flag("--dev", flags->dev, "Run devTasks");
  cmd->add_option("--timeout", flags->timeout, "Stop a task after this many seconds")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--isolation", flags->isolation,
                  "Where in-process Python runs: subinterpreter (default) or main");
  cmd->add_option("--store", flags->store,
                  "Work-item store URL (sqlite:///path/workitems.db); default "
                  "RC_WORKITEM_DB_PATH or <robot>/.robotni/workitems.db");
  cmd->add_option("--input", flags->input,
                  "Seed the first task's input queue from a devdata work-items.json");
  cmd->add_option("args", flags->args, "Arguments appended to the task's command (after --)");
  cmd->callback([=] {
    *body = [flags] { return Run(*flags); };
  });
}

}  // namespace robotni::cli
