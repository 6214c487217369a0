#ifndef ROBOTNI_RUNTIME_CONFIG_ROBOT_YAML_H_
#define ROBOTNI_RUNTIME_CONFIG_ROBOT_YAML_H_

// The typed model of rcc's robot.yaml (robot/robot.go) plus robotni's own keys.
// Thread-safety: plain values; loading touches no global state.

#include <filesystem>
#include <string>
#include <vector>

#include "robotni/limits.h"
#include "robotni/status.h"

namespace robotni::config {

struct Task {
  enum class Kind { kShell, kCommand, kRobotTaskName };
  std::string name;
  Kind kind = Kind::kShell;
  // kShell: the `shell:` line split shell-style (not run through a shell);
  // kCommand: the `command:` list as given; kRobotTaskName: empty.
  std::vector<std::string> argv;
  std::string robot_task_name;  // kRobotTaskName only
  int line = 0;                 // 1-based line of the task's key in robot.yaml

  // Additions for validation and messages (filled by ParseRobotYaml).
  std::string shell_line;  // kShell: the `shell:` line as written
  // Which of "robotTaskName", "shell", "command" were given non-empty, in file order.
  // ValidateRobotYaml requires exactly one; when several are given, kind follows
  // rcc's precedence: robotTaskName, then shell, then command.
  std::vector<std::string> definitions;
  std::vector<std::string> unknown_keys;  // other keys in the task body (rcc ignores them)
  // robotni extension, the task's `limits:` map (config/limits_yaml.h, count key
  // max_items_per_worker): wins over the robot's top-level `limits:`.
  Limits limits;
};

struct RobotYaml {
  std::filesystem::path path;   // absolute path of robot.yaml
  std::filesystem::path root;   // its directory (ROBOT_ROOT)
  std::vector<Task> tasks;      // `tasks:`, in file order
  std::vector<Task> dev_tasks;  // `devTasks:` (used with --dev)
  std::string artifacts_dir;    // `artifactsDir:` as written (relative to root)
  // `PATH:` entries as written. (Named path_entries: `path` is robot.yaml itself.)
  std::vector<std::string> path_entries;
  std::vector<std::string> pythonpath;  // `PYTHONPATH:` entries as written
  std::vector<std::string> environment_configs;
  std::string conda_config_file;  // deprecated `condaConfigFile:`
  std::vector<std::string> pre_run_scripts;
  std::vector<std::string> ignore_files;
  // robotni extension, `isolation: subinterpreter | main`: where in-process Python
  // tasks run. Default "subinterpreter".
  std::string isolation = "subinterpreter";
  // robotni extension, top-level `limits:`: every task's unless the task gives its own.
  Limits limits;
  // robotni extension, `jobs: [workers/jobs/jobs.py]`: the Python files (relative to root) or
  // dotted modules that register the robot's job types, which `robotni serve` serves when no
  // --jobs (or `jobs:` in its --config file) is given.
  std::vector<std::string> job_modules;

  // Additions for validation and messages (filled by ParseRobotYaml). A line is 0
  // when the key is absent.
  int tasks_line = 0;
  int dev_tasks_line = 0;
  int artifacts_dir_line = 0;
  int isolation_line = 0;
  int jobs_line = 0;
  // Things rcc silently accepts but that are probably mistakes: unknown top-level
  // keys, duplicate keys (the last one wins, as in rcc). "file:line: field: text".
  std::vector<std::string> warnings;

  std::filesystem::path ArtifactsPath() const { return root / artifacts_dir; }
  // Absolute PATH / PYTHONPATH entries (relative ones resolved against root).
  std::vector<std::filesystem::path> AbsolutePath() const;
  std::vector<std::filesystem::path> AbsolutePythonPath() const;
  // The conda.yaml to use: first existing environmentConfigs entry that fits this
  // OS/arch (names like environment_linux_amd64_freeze.yaml), else condaConfigFile,
  // else empty.
  std::filesystem::path CondaConfigPath() const;
};

// The limits `task` runs under: the robot's `limits:`, then the task's own.
Limits LimitsOf(const RobotYaml& robot, const Task& task);

// The OS/arch names robotni matches environmentConfigs entries against ("linux",
// "amd64" on this build).
const char* PlatformOs();
const char* PlatformArch();

// rcc's rule for one environmentConfigs entry: a name with more than two '_' or with
// "freeze" must contain "<os>_<arch>"; an os or arch word in the name must be ours.
bool EnvironmentConfigFits(const std::string& name, const std::string& os, const std::string& arch);
// Whether a preRunScripts entry is for this platform: an os word (windows, darwin, linux) or
// arch word (amd64, arm64) in it, leftmost first, must be ours; none = every platform.
bool PlatformWordsFit(const std::string& name, const std::string& os, const std::string& arch);

// Reads and parses robot.yaml. A missing/unreadable file is IOError, malformed YAML
// or a wrong type is InvalidArgument; the message names file, line and field
// ("robot.yaml:4: tasks.Producer.shell: expected a string"). rcc exit code 1.
StatusOr<RobotYaml> LoadRobotYaml(const std::filesystem::path& path);
StatusOr<RobotYaml> ParseRobotYaml(const std::string& text, const std::filesystem::path& path);

// Semantic checks rcc makes (tasks non-empty, each task exactly one of shell /
// command / robotTaskName, artifactsDir present, isolation value known, every `jobs:` file
// there...).
// InvalidArgument naming file, line and field. rcc exit code 2.
Status ValidateRobotYaml(const RobotYaml& robot);

// rcc's task lookup: quotes trimmed, exact name, then case-insensitive; with an
// empty name the sole task. NotFound lists the available task names.
// `dev` selects devTasks.
StatusOr<const Task*> FindTask(const RobotYaml& robot, const std::string& name, bool dev);

// Splits a `shell:` line the way rcc does (whitespace, '...' and "..." quoting,
// backslash escapes). InvalidArgument on an unterminated quote.
StatusOr<std::vector<std::string>> SplitShellLine(const std::string& line);

}  // namespace robotni::config

#endif  // ROBOTNI_RUNTIME_CONFIG_ROBOT_YAML_H_
