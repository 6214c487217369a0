#include "config/robot_yaml.h"

#include <algorithm>
#include <cctype>
#include <map>
#include <system_error>

#include "config/limits_yaml.h"
#include "config/yaml_util.h"

namespace robotni::config {

namespace {

using internal::ErrorAt;
using internal::KindName;
using internal::LineOf;

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

std::string ToLower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string Trim(const std::string& s, std::string_view chars) {
  size_t b = s.find_first_not_of(chars);
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(chars);
  return s.substr(b, e - b + 1);
}

std::string Warning(const std::string& file, int line, const std::string& field,
                    const std::string& text) {
  return file + ":" + std::to_string(line) + ": " + field + ": " + text;
}

// Absolute form of a robot-relative PATH/PYTHONPATH entry (rcc pathBuilder: an
// absolute entry stays as is, a relative one is joined to the root and cleaned).
std::filesystem::path ResolveEntry(const std::filesystem::path& root, const std::string& entry) {
  std::filesystem::path p(entry);
  std::filesystem::path joined = p.is_absolute() ? p : root / p;
  joined = joined.lexically_normal();
  if (!joined.has_filename() && joined.has_relative_path()) joined = joined.parent_path();
  return joined;
}

// Parses one `tasks:`/`devTasks:` map into `out`. Duplicate names: the last wins (as
// yaml.v2 does for rcc), with a warning.
Status ParseTaskMap(const YAML::Node& node, const std::string& file, int key_line,
                    const std::string& section, std::vector<Task>* out,
                    std::vector<std::string>* warnings) {
  out->clear();
  if (node.IsNull()) return Status::OK();
  if (!node.IsMap()) {
    return ErrorAt(file, LineOf(node, key_line), section,
                   std::string("expected a map of task name to task, found ") + KindName(node));
  }
  std::map<std::string, size_t> index;
  for (const auto& [key, body] : internal::MapEntries(node)) {
    int line = LineOf(key, LineOf(node, key_line));
    if (!key.IsScalar() && !key.IsNull()) {
      return ErrorAt(file, line, section,
                     std::string("a task name must be a string, found ") + KindName(key));
    }
    Task task;
    task.name = internal::ScalarText(key);
    task.line = line;
    const std::string field = section + "." + task.name;
    if (!body.IsNull() && !body.IsMap()) {
      return ErrorAt(
          file, LineOf(body, line), field,
          std::string("expected a map with one of shell, command, robotTaskName, found ") +
              KindName(body));
    }
    std::string robot_task_name;
    bool has_shell = false;
    bool has_command = false;
    std::vector<std::string> command;
    const auto body_entries = internal::MapEntries(body);
    for (const auto& [fkey, fval] : body_entries) {
      int fline = LineOf(fkey, line);
      if (!fkey.IsScalar()) {
        return ErrorAt(file, fline, field,
                       std::string("a task key must be a string, found ") + KindName(fkey));
      }
      const std::string& name = fkey.Scalar();
      const std::string sub = field + "." + name;
      if (name == "robotTaskName") {
        ROBOTNI_RETURN_IF_ERROR(internal::ReadString(fval, file, fline, sub, &robot_task_name));
      } else if (name == "shell") {
        ROBOTNI_RETURN_IF_ERROR(internal::ReadString(fval, file, fline, sub, &task.shell_line));
        has_shell = !task.shell_line.empty();
      } else if (name == "command") {
        ROBOTNI_RETURN_IF_ERROR(internal::ReadStringList(fval, file, fline, sub, &command));
        has_command = !command.empty();
      } else if (name == "limits") {
        ROBOTNI_RETURN_IF_ERROR(
            ReadLimits(fval, file, fline, sub, "max_items_per_worker", &task.limits));
      } else {
        task.unknown_keys.push_back(name);
      }
    }
    // Definitions in file order.
    for (const auto& entry : body_entries) {
      if (!entry.first.IsScalar()) continue;
      const std::string& name = entry.first.Scalar();
      bool given = (name == "robotTaskName" && !robot_task_name.empty()) ||
                   (name == "shell" && has_shell) || (name == "command" && has_command);
      if (given && std::find(task.definitions.begin(), task.definitions.end(), name) ==
                       task.definitions.end()) {
        task.definitions.push_back(name);
      }
    }
    if (!robot_task_name.empty()) {
      task.kind = Task::Kind::kRobotTaskName;
      task.robot_task_name = robot_task_name;  // argv is filled in once artifactsDir is known
    } else if (has_shell) {
      task.kind = Task::Kind::kShell;
      StatusOr<std::vector<std::string>> argv = SplitShellLine(task.shell_line);
      if (argv.ok()) task.argv = std::move(*argv);  // else ValidateRobotYaml reports it
    } else if (has_command) {
      task.kind = Task::Kind::kCommand;
      task.argv = std::move(command);
    }
    auto [pos, inserted] = index.emplace(task.name, out->size());
    if (inserted) {
      out->push_back(std::move(task));
    } else {
      Task& prev = (*out)[pos->second];
      warnings->push_back(Warning(file, line, field,
                                  "duplicate task name (first at line " +
                                      std::to_string(prev.line) + "); the last one wins"));
      prev = std::move(task);
    }
  }
  return Status::OK();
}

std::vector<std::string> RobotArgv(const std::string& artifacts_dir, const std::string& name) {
  return {"python",      "-m",         "robot",    "--report", "NONE", "--outputdir",
          artifacts_dir, "--logtitle", "Task log", "--task",   name,   "."};
}

// Reads a list-of-strings key; on a repeated key the last one wins.
Status ParseTopLevel(const YAML::Node& doc, const std::string& file, RobotYaml* robot) {
  std::map<std::string, int> seen;
  for (const auto& [key, val] : internal::MapEntries(doc)) {
    int line = LineOf(key, 1);
    if (!key.IsScalar()) {
      robot->warnings.push_back(
          Warning(file, line, "robot.yaml",
                  std::string("ignoring a key that is ") + KindName(key) + ", not a string"));
      continue;
    }
    const std::string& name = key.Scalar();
    auto [prev, first] = seen.emplace(name, line);
    if (!first) {
      robot->warnings.push_back(Warning(
          file, line, name,
          "duplicate key (first at line " + std::to_string(prev->second) + "); the last one wins"));
      prev->second = line;
    }
    if (name == "tasks") {
      ROBOTNI_RETURN_IF_ERROR(
          ParseTaskMap(val, file, line, "tasks", &robot->tasks, &robot->warnings));
      robot->tasks_line = line;
    } else if (name == "devTasks") {
      ROBOTNI_RETURN_IF_ERROR(
          ParseTaskMap(val, file, line, "devTasks", &robot->dev_tasks, &robot->warnings));
      robot->dev_tasks_line = line;
    } else if (name == "artifactsDir") {
      ROBOTNI_RETURN_IF_ERROR(internal::ReadString(val, file, line, name, &robot->artifacts_dir));
      robot->artifacts_dir_line = line;
    } else if (name == "PATH") {
      ROBOTNI_RETURN_IF_ERROR(
          internal::ReadStringList(val, file, line, name, &robot->path_entries));
    } else if (name == "PYTHONPATH") {
      ROBOTNI_RETURN_IF_ERROR(internal::ReadStringList(val, file, line, name, &robot->pythonpath));
    } else if (name == "environmentConfigs") {
      ROBOTNI_RETURN_IF_ERROR(
          internal::ReadStringList(val, file, line, name, &robot->environment_configs));
    } else if (name == "condaConfigFile") {
      ROBOTNI_RETURN_IF_ERROR(
          internal::ReadString(val, file, line, name, &robot->conda_config_file));
    } else if (name == "preRunScripts") {
      ROBOTNI_RETURN_IF_ERROR(
          internal::ReadStringList(val, file, line, name, &robot->pre_run_scripts));
    } else if (name == "ignoreFiles") {
      ROBOTNI_RETURN_IF_ERROR(
          internal::ReadStringList(val, file, line, name, &robot->ignore_files));
    } else if (name == "isolation") {
      std::string isolation;
      ROBOTNI_RETURN_IF_ERROR(internal::ReadString(val, file, line, name, &isolation));
      robot->isolation = isolation.empty() ? "subinterpreter" : isolation;
      robot->isolation_line = line;
    } else if (name == "jobs") {
      ROBOTNI_RETURN_IF_ERROR(internal::ReadStringList(val, file, line, name, &robot->job_modules));
      robot->jobs_line = line;
    } else if (name == "limits") {
      ROBOTNI_RETURN_IF_ERROR(
          ReadLimits(val, file, line, name, "max_items_per_worker", &robot->limits));
    } else {
      robot->warnings.push_back(
          Warning(file, line, name, "unknown key, ignored (rcc ignores it too)"));
    }
  }
  return Status::OK();
}

Status ValidateTasks(const std::vector<Task>& tasks, const std::string& file,
                     const std::string& section) {
  for (const Task& task : tasks) {
    const std::string field = section + "." + task.name;
    if (task.definitions.size() != 1) {
      std::string msg = "a task needs exactly one of shell, command, robotTaskName (found " +
                        std::to_string(task.definitions.size());
      if (task.definitions.size() > 1) {
        msg += ": ";
        for (size_t i = 0; i < task.definitions.size(); ++i) {
          if (i) msg += ", ";
          msg += task.definitions[i];
        }
      } else if (!task.unknown_keys.empty()) {
        msg += "; unknown key";
        if (task.unknown_keys.size() > 1) msg += "s";
        for (size_t i = 0; i < task.unknown_keys.size(); ++i) {
          msg += (i ? ", " : " ") + Quoted(task.unknown_keys[i]);
        }
      }
      msg += ")";
      return ErrorAt(file, task.line, field, msg);
    }
    if (task.kind == Task::Kind::kShell) {
      StatusOr<std::vector<std::string>> argv = SplitShellLine(task.shell_line);
      if (!argv.ok()) return ErrorAt(file, task.line, field + ".shell", argv.status().message());
      if (argv->empty()) return ErrorAt(file, task.line, field + ".shell", "no command to run");
    }
    if (task.kind == Task::Kind::kCommand && task.argv.front().empty()) {
      return ErrorAt(file, task.line, field + ".command", "the program (first item) is empty");
    }
  }
  return Status::OK();
}

}  // namespace

Limits LimitsOf(const RobotYaml& robot, const Task& task) { return robot.limits.Over(task.limits); }

const char* PlatformOs() {
#if defined(_WIN32)
  return "windows";
#elif defined(__APPLE__)
  return "darwin";
#else
  return "linux";
#endif
}

const char* PlatformArch() {
#if defined(__aarch64__) || defined(_M_ARM64)
  return "arm64";
#else
  return "amd64";
#endif
}

bool PlatformWordsFit(const std::string& name, const std::string& os, const std::string& arch) {
  // rcc: the leftmost case-insensitive match of the word list must be exactly ours.
  auto first_match_is = [&](std::initializer_list<const char*> words, const std::string& want) {
    const std::string lower = ToLower(name);
    for (size_t pos = 0; pos < name.size(); ++pos) {
      for (const char* w : words) {
        std::string_view word(w);
        if (lower.compare(pos, word.size(), word) == 0) {
          return name.compare(pos, word.size(), want) == 0;
        }
      }
    }
    return true;  // no os/arch word: fits everything
  };
  return first_match_is({"windows", "darwin", "linux"}, os) &&
         first_match_is({"amd64", "arm64"}, arch);
}

bool EnvironmentConfigFits(const std::string& name, const std::string& os,
                           const std::string& arch) {
  const std::string marker = os + "_" + arch;
  bool underscored = std::count(name.begin(), name.end(), '_') > 2;
  bool frozen = ToLower(name).find("freeze") != std::string::npos;
  bool marked = name.find(marker) != std::string::npos;
  if ((underscored || frozen) && !marked) return false;
  return PlatformWordsFit(name, os, arch);
}

std::vector<std::filesystem::path> RobotYaml::AbsolutePath() const {
  std::vector<std::filesystem::path> out;
  for (const std::string& e : path_entries) out.push_back(ResolveEntry(root, e));
  return out;
}

std::vector<std::filesystem::path> RobotYaml::AbsolutePythonPath() const {
  std::vector<std::filesystem::path> out;
  for (const std::string& e : pythonpath) out.push_back(ResolveEntry(root, e));
  return out;
}

std::filesystem::path RobotYaml::CondaConfigPath() const {
  for (const std::string& entry : environment_configs) {
    if (entry.empty() || !EnvironmentConfigFits(entry, PlatformOs(), PlatformArch())) continue;
    std::filesystem::path candidate = ResolveEntry(root, entry);
    std::error_code ec;
    if (std::filesystem::is_regular_file(candidate, ec)) return candidate;
  }
  if (!conda_config_file.empty()) return ResolveEntry(root, conda_config_file);
  return {};
}

StatusOr<RobotYaml> LoadRobotYaml(const std::filesystem::path& path) {
  std::filesystem::path abs = internal::AbsoluteNormal(path);
  StatusOr<std::string> text = internal::ReadWholeFile(abs);
  if (!text.ok()) return text.status();
  return ParseRobotYaml(*text, abs);
}

StatusOr<RobotYaml> ParseRobotYaml(const std::string& text, const std::filesystem::path& path) {
  RobotYaml robot;
  robot.path = internal::AbsoluteNormal(path);
  robot.root = robot.path.parent_path();
  const std::string file = robot.path.string();
  try {
    StatusOr<YAML::Node> doc = internal::ParseYamlDocument(text, file, "YAML");
    if (!doc.ok()) return doc.status();
    if (doc->IsNull() || !doc->IsDefined()) return robot;  // empty: Validate reports it
    if (!doc->IsMap()) {
      return ErrorAt(file, LineOf(*doc, 1), "robot.yaml",
                     std::string("expected a map of settings at the top, found ") + KindName(*doc));
    }
    ROBOTNI_RETURN_IF_ERROR(ParseTopLevel(*doc, file, &robot));
  } catch (const YAML::Exception& e) {
    int line = e.mark.is_null() ? 1 : e.mark.line + 1;
    return ErrorAt(file, line, "robot.yaml", e.what());
  } catch (const std::exception& e) {
    return ErrorAt(file, 1, "robot.yaml", e.what());
  }
  for (std::vector<Task>* list : {&robot.tasks, &robot.dev_tasks}) {
    for (Task& task : *list) {
      if (task.kind == Task::Kind::kRobotTaskName) {
        task.argv = RobotArgv(robot.artifacts_dir, task.robot_task_name);
      }
    }
  }
  return robot;
}

namespace {

// `jobs:` entries: a file (ends in .py or has a '/') must exist under the robot's root; other
// entries are dotted module names, found on PYTHONPATH when serve imports them.
Status ValidateJobModules(const RobotYaml& robot) {
  const std::string file = robot.path.string();
  const int line = robot.jobs_line ? robot.jobs_line : 1;
  for (size_t i = 0; i < robot.job_modules.size(); ++i) {
    const std::string& entry = robot.job_modules[i];
    const std::string field = "jobs[" + std::to_string(i) + "]";
    if (entry.empty()) return ErrorAt(file, line, field, "an empty entry");
    bool is_file = entry.find('/') != std::string::npos ||
                   (entry.size() > 3 && entry.compare(entry.size() - 3, 3, ".py") == 0);
    if (!is_file) continue;
    std::error_code ec;
    std::filesystem::path p = robot.root / entry;
    if (!std::filesystem::is_regular_file(p, ec))
      return ErrorAt(file, line, field,
                     Quoted(entry) + ": no such file (" + p.lexically_normal().string() +
                         "; paths are relative to robot.yaml's directory)");
  }
  return Status::OK();
}

}  // namespace

Status ValidateRobotYaml(const RobotYaml& robot) {
  const std::string file = robot.path.string();
  if (robot.tasks_line == 0) {
    return ErrorAt(file, 1, "tasks", "'tasks:' is required (a map of task name to task)");
  }
  if (robot.tasks.empty()) {
    return ErrorAt(file, robot.tasks_line, "tasks", "at least one task must be defined");
  }
  if (robot.artifacts_dir.empty()) {
    return ErrorAt(file, robot.artifacts_dir_line ? robot.artifacts_dir_line : 1, "artifactsDir",
                   "'artifactsDir:' is required (e.g. artifactsDir: output)");
  }
  ROBOTNI_RETURN_IF_ERROR(ValidateTasks(robot.tasks, file, "tasks"));
  ROBOTNI_RETURN_IF_ERROR(ValidateTasks(robot.dev_tasks, file, "devTasks"));
  if (robot.isolation != "subinterpreter" && robot.isolation != "main" &&
      robot.isolation != "process") {
    return ErrorAt(file, robot.isolation_line ? robot.isolation_line : 1, "isolation",
                   "expected process, subinterpreter or main, found " + Quoted(robot.isolation));
  }
  ROBOTNI_RETURN_IF_ERROR(ValidateJobModules(robot));
  return Status::OK();
}

StatusOr<const Task*> FindTask(const RobotYaml& robot, const std::string& name, bool dev) {
  const std::vector<Task>& tasks = dev ? robot.dev_tasks : robot.tasks;
  const char* section = dev ? "devTasks" : "tasks";
  std::vector<std::string> names;
  for (const Task& t : tasks) names.push_back(Quoted(t.name));
  std::sort(names.begin(), names.end());
  std::string available;
  for (size_t i = 0; i < names.size(); ++i) available += (i ? ", " : "") + names[i];
  if (available.empty()) available = "(none)";

  const std::string key = Trim(name, "\t\r\n\"' ");
  if (key.empty()) {
    if (tasks.size() == 1) return &tasks.front();
    return Status::NotFound(robot.path.string() + ": no task name given and " + section + " has " +
                            std::to_string(tasks.size()) +
                            " tasks; choose one with --task: " + available);
  }
  for (const Task& t : tasks) {
    if (t.name == key) return &t;
  }
  const std::string lower = ToLower(key);
  for (const Task& t : tasks) {
    if (ToLower(Trim(t.name, " \t\r\n")) == lower) return &t;
  }
  return Status::NotFound(robot.path.string() + ": no task " + Quoted(key) + " in " + section +
                          "; available tasks: " + available);
}

// google/shlex (used by rcc's shell.Split): whitespace separates words; '...' is
// literal; "..." allows backslash escapes (a backslash keeps the next character,
// whatever it is); a backslash outside quotes escapes the next character; '#' at the
// start of a word starts a comment to the end of the line.
StatusOr<std::vector<std::string>> SplitShellLine(const std::string& line) {
  enum class State { kStart, kWord, kEscape, kQuotedEscape, kDouble, kSingle, kComment };
  std::vector<std::string> words;
  std::string word;
  State state = State::kStart;
  auto is_space = [](char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; };
  for (char c : line) {
    switch (state) {
      case State::kStart:
        if (is_space(c)) break;
        if (c == '"') {
          state = State::kDouble;
        } else if (c == '\'') {
          state = State::kSingle;
        } else if (c == '\\') {
          state = State::kEscape;
        } else if (c == '#') {
          state = State::kComment;
        } else {
          word += c;
          state = State::kWord;
        }
        break;
      case State::kWord:
        if (is_space(c)) {
          words.push_back(std::move(word));
          word.clear();
          state = State::kStart;
        } else if (c == '"') {
          state = State::kDouble;
        } else if (c == '\'') {
          state = State::kSingle;
        } else if (c == '\\') {
          state = State::kEscape;
        } else {
          word += c;
        }
        break;
      case State::kEscape:
        word += c;
        state = State::kWord;
        break;
      case State::kQuotedEscape:
        word += c;
        state = State::kDouble;
        break;
      case State::kDouble:
        if (c == '"') {
          state = State::kWord;
        } else if (c == '\\') {
          state = State::kQuotedEscape;
        } else {
          word += c;
        }
        break;
      case State::kSingle:
        if (c == '\'') {
          state = State::kWord;
        } else {
          word += c;
        }
        break;
      case State::kComment:
        if (c == '\n') state = State::kStart;
        break;
    }
  }
  switch (state) {
    case State::kDouble:
    case State::kQuotedEscape:
      return Status::InvalidArgument("unterminated double quote in shell line: " + line);
    case State::kSingle:
      return Status::InvalidArgument("unterminated single quote in shell line: " + line);
    case State::kEscape:
      return Status::InvalidArgument("shell line ends with a backslash: " + line);
    case State::kWord:
      words.push_back(std::move(word));
      break;
    case State::kStart:
    case State::kComment:
      break;
  }
  return words;
}

}  // namespace robotni::config
