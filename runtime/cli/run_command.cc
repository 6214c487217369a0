// `robotni run`: runs robot.yaml tasks like `rcc run -t`, Python in-process. Thin: flags ->
// RuntimeOptions + RunOptions -> Runtime::Run -> rcc's exit code.
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <memory>
#include <thread>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/python_prefix_flag.h"
#include "cli/robot_loader.h"
#include "cli/store_flag.h"
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
  std::string durability = "fast";
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

// Ctrl-C and SIGTERM: the first raises KeyboardInterrupt in the task (its `finally:` blocks
// and teardowns run, and its held work items go back to the queue); a second ends the
// process at once. The handler only writes the signal to a pipe (async-signal-safe); a
// thread reads it and calls Runtime::Interrupt. No signal mask changes: the task's child
// processes get Ctrl-C from the terminal as usual.
std::atomic<int> g_first_signal{0};
int g_signal_pipe[2] = {-1, -1};

void OnSignal(int sig) {
  int expected = 0;
  if (!g_first_signal.compare_exchange_strong(expected, sig)) {
    static const char kAgain[] = "\nrobotni: interrupted again; stopping now\n";
    (void)!write(2, kAgain, sizeof kAgain - 1);
    _exit(128 + sig);
  }
  unsigned char b = static_cast<unsigned char>(sig);
  (void)!write(g_signal_pipe[1], &b, 1);
}

void WatchInterrupts(Runtime* rt) {
  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return;
  std::thread([rt] {
    unsigned char sig = 0;
    ssize_t n;
    do {
      n = read(g_signal_pipe[0], &sig, 1);
    } while (n < 0 && errno == EINTR);
    if (n != 1) return;
    fprintf(stderr, "\nrobotni: %s: interrupting the task (again to stop at once)\n",
            sig == SIGTERM ? "SIGTERM" : "Ctrl-C");
    rt->Interrupt();
  }).detach();
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
}

int Run(const RunFlags& flags) {
  if (Status s = CheckStoreDirectory(flags.store, "--store"); !s.ok()) {
    PrintError(s.message());
    return kExitRobotInvalid;
  }
  RuntimeOptions ro;
  ro.robot = flags.robot;
  ro.store = flags.store;
  ro.isolation = flags.isolation;
  ro.durability = flags.durability;
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
  WatchInterrupts(rt->get());
  auto outcome = (*rt)->Run(o);
  if (!outcome.ok()) {
    PrintError(outcome.status().message());
    return 1;
  }
  if (outcome->exit_code == static_cast<int>(RunExit::kInterrupted) &&
      g_first_signal.load() == SIGTERM)
    return 128 + SIGTERM;
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
      ->check(NumberAtLeast(0));
  cmd->add_option("--isolation", flags->isolation,
                  "Where the task's Python runs: subinterpreter (default), main, or process (a "
                  "worker process: a crash or a hang in C costs only the task)");
  cmd->add_option("--store", flags->store,
                  "Work-item store URL (sqlite:///path/workitems.db); default "
                  "RC_WORKITEM_DB_PATH or <robot>/.robotni/workitems.db");
  cmd->add_option("--durability", flags->durability,
                  "fast (a power loss may undo the last commits, never corrupts) or full (every "
                  "commit synced to disk)")
      ->check(CLI::IsMember({"fast", "full"}))
      ->capture_default_str();
  cmd->add_option("--input", flags->input,
                  "Seed the first task's input queue from a devdata work-items.json");
  AddPythonPrefixOption(cmd);
  cmd->add_option("args", flags->args, "Arguments appended to the task's command (after --)");
  cmd->callback([=] { *body = [flags] { return Run(*flags); }; });
}

}  // namespace robotni::cli
