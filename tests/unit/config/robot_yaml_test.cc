#include "config/robot_yaml.h"

#include <gtest/gtest.h>

#include <fstream>
#include <string>
#include <vector>

#include "config_test_util.h"

namespace robotni::config {
namespace {

using testing::FixtureDir;
using testing::TempDir;
using Strings = std::vector<std::string>;

std::vector<std::string> Names(const std::vector<Task>& tasks) {
  std::vector<std::string> out;
  for (const Task& t : tasks) out.push_back(t.name);
  return out;
}

TEST(RobotYamlTest, RccExampleParsesIntoTheModel) {
  const std::filesystem::path file = FixtureDir() / "robot" / "valid" / "rcc_example.yaml";
  StatusOr<RobotYaml> robot = LoadRobotYaml(file);
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  ASSERT_TRUE(ValidateRobotYaml(*robot).ok());

  EXPECT_EQ(robot->path, file.lexically_normal());
  EXPECT_TRUE(robot->path.is_absolute());
  EXPECT_EQ(robot->root, file.parent_path().lexically_normal());
  ASSERT_EQ(Names(robot->tasks), (Strings{"Producer", "Consumer"}));
  const Task& producer = robot->tasks[0];
  EXPECT_EQ(producer.kind, Task::Kind::kShell);
  EXPECT_EQ(producer.line, 2);
  EXPECT_EQ(producer.shell_line, "python -m robocorp.tasks run tasks.py -t producer");
  EXPECT_EQ(producer.argv,
            (Strings{"python", "-m", "robocorp.tasks", "run", "tasks.py", "-t", "producer"}));
  EXPECT_EQ(producer.definitions, (Strings{"shell"}));
  EXPECT_EQ(robot->tasks[1].argv.back(), "consumer");
  EXPECT_EQ(robot->tasks[1].line, 3);
  EXPECT_TRUE(robot->dev_tasks.empty());
  EXPECT_EQ(robot->environment_configs,
            (Strings{"environment_windows_amd64_freeze.yaml", "environment_linux_amd64_freeze.yaml",
                     "environment_darwin_amd64_freeze.yaml", "conda.yaml"}));
  EXPECT_EQ(robot->artifacts_dir, "output");
  EXPECT_EQ(robot->ArtifactsPath(), robot->root / "output");
  EXPECT_EQ(robot->path_entries, (Strings{"."}));
  EXPECT_EQ(robot->pythonpath, (Strings{"."}));
  EXPECT_EQ(robot->ignore_files, (Strings{".gitignore"}));
  EXPECT_EQ(robot->AbsolutePath(), (std::vector<std::filesystem::path>{robot->root}));
  EXPECT_EQ(robot->AbsolutePythonPath(), (std::vector<std::filesystem::path>{robot->root}));
  EXPECT_EQ(robot->isolation, "subinterpreter");
  EXPECT_TRUE(robot->conda_config_file.empty());
  EXPECT_TRUE(robot->pre_run_scripts.empty());
  EXPECT_TRUE(robot->warnings.empty());
}

TEST(RobotYamlTest, AllKeysParse) {
  StatusOr<RobotYaml> robot = LoadRobotYaml(FixtureDir() / "robot" / "valid" / "all_keys.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  ASSERT_TRUE(ValidateRobotYaml(*robot).ok()) << ValidateRobotYaml(*robot).ToString();
  ASSERT_EQ(Names(robot->tasks), (Strings{"Run Robot", "Shell task", "Command task"}));

  const Task& rt = robot->tasks[0];
  EXPECT_EQ(rt.kind, Task::Kind::kRobotTaskName);
  EXPECT_EQ(rt.robot_task_name, "Run Example task");
  EXPECT_EQ(rt.argv,
            (Strings{"python", "-m", "robot", "--report", "NONE", "--outputdir", "out/artifacts",
                     "--logtitle", "Task log", "--task", "Run Example task", "."}));
  EXPECT_EQ(rt.line, 3);

  const Task& sh = robot->tasks[1];
  EXPECT_EQ(sh.kind, Task::Kind::kShell);
  EXPECT_EQ(sh.argv, (Strings{"python", "-m", "robocorp.tasks", "run", "tasks.py", "-t",
                              "two words", "--flag=x y"}));

  const Task& cmd = robot->tasks[2];
  EXPECT_EQ(cmd.kind, Task::Kind::kCommand);
  EXPECT_EQ(cmd.argv, (Strings{"python", "-c", "print(\"hello\")"}));

  ASSERT_EQ(Names(robot->dev_tasks), (Strings{"Dev"}));
  EXPECT_EQ(robot->dev_tasks[0].argv, (Strings{"python", "dev.py"}));
  EXPECT_EQ(robot->conda_config_file, "conda.yaml");
  EXPECT_EQ(robot->pre_run_scripts, (Strings{"setup_linux.sh", "setup_windows.bat"}));
  EXPECT_EQ(robot->environment_configs,
            (Strings{"environment_linux_amd64_freeze.yaml", "conda.yaml"}));
  EXPECT_EQ(robot->artifacts_dir, "out/artifacts");
  EXPECT_EQ(robot->path_entries, (Strings{".", "bin"}));
  EXPECT_EQ(robot->AbsolutePath()[1], robot->root / "bin");
  EXPECT_EQ(robot->AbsolutePythonPath()[0], robot->root / "libraries");
  EXPECT_EQ(robot->ignore_files, (Strings{".gitignore"}));
  EXPECT_EQ(robot->isolation, "main");
  // The unknown key is ignored (as in rcc), with a warning.
  ASSERT_EQ(robot->warnings.size(), 1u);
  EXPECT_NE(robot->warnings[0].find(":32: someFutureKey: unknown key"), std::string::npos)
      << robot->warnings[0];
}

TEST(RobotYamlTest, ScalarsOfAnyTypeBecomeText) {
  StatusOr<RobotYaml> robot = LoadRobotYaml(FixtureDir() / "robot" / "valid" / "scalar_types.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  ASSERT_EQ(robot->tasks.size(), 1u);
  EXPECT_EQ(robot->tasks[0].name, "123");
  EXPECT_EQ(robot->tasks[0].argv, (Strings{"python", "42", "true", ""}));
  EXPECT_EQ(robot->artifacts_dir, "0");
  EXPECT_EQ(robot->path_entries, (Strings{"1.5", ""}));
}

TEST(RobotYamlTest, AnchorsAliasesAndMergeKeys) {
  StatusOr<RobotYaml> robot = LoadRobotYaml(FixtureDir() / "robot" / "valid" / "anchors.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  ASSERT_TRUE(ValidateRobotYaml(*robot).ok()) << ValidateRobotYaml(*robot).ToString();
  ASSERT_EQ(robot->tasks.size(), 2u);
  EXPECT_EQ(robot->tasks[0].argv, (Strings{"python", "task.py"}));
  EXPECT_EQ(robot->tasks[1].argv, (Strings{"python", "task.py"}));
}

TEST(RobotYamlTest, OnlyTheFirstDocumentIsRead) {
  StatusOr<RobotYaml> robot =
      LoadRobotYaml(FixtureDir() / "robot" / "valid" / "multi_document.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  EXPECT_EQ(Names(robot->tasks), (Strings{"Only"}));
}

TEST(RobotYamlTest, RobotTaskNameUsesArtifactsDirDeclaredLater) {
  StatusOr<RobotYaml> robot = ParseRobotYaml(
      "tasks:\n  R: {robotTaskName: Smoke}\nartifactsDir: build/out\n", "/r/robot.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  EXPECT_EQ(robot->tasks[0].argv[6], "build/out");
  EXPECT_EQ(robot->tasks[0].argv[10], "Smoke");
}

TEST(RobotYamlTest, SeveralDefinitionsFollowRccPrecedence) {
  StatusOr<RobotYaml> robot = ParseRobotYaml(
      "tasks:\n  T:\n    command: [a]\n    shell: b c\n    robotTaskName: R\nartifactsDir: o\n",
      "/r/robot.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  EXPECT_EQ(robot->tasks[0].kind, Task::Kind::kRobotTaskName);
  EXPECT_EQ(robot->tasks[0].definitions, (Strings{"command", "shell", "robotTaskName"}));
  Status st = ValidateRobotYaml(*robot);
  EXPECT_EQ(st.message(),
            "/r/robot.yaml:2: tasks.T: a task needs exactly one of shell, command, robotTaskName "
            "(found 3: command, shell, robotTaskName)");
}

TEST(RobotYamlTest, ErrorMessageFormatMatchesTheBrief) {
  StatusOr<RobotYaml> robot = ParseRobotYaml(
      "artifactsDir: output\n# comment\ntasks:\n  Producer:\n    shell: python a.py\n"
      "    command: [python, a.py]\n",
      "/abs/robot.yaml");
  ASSERT_TRUE(robot.ok());
  Status st = ValidateRobotYaml(*robot);
  EXPECT_TRUE(st.IsInvalidArgument());
  EXPECT_EQ(st.message(),
            "/abs/robot.yaml:4: tasks.Producer: a task needs exactly one of shell, command, "
            "robotTaskName (found 2: shell, command)");
}

TEST(RobotYamlTest, DuplicateTaskNameLastWinsWithWarning) {
  StatusOr<RobotYaml> robot = ParseRobotYaml(
      "tasks:\n  A: {shell: one}\n  A: {shell: two}\nartifactsDir: o\nartifactsDir: p\n",
      "/r/robot.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  ASSERT_EQ(robot->tasks.size(), 1u);
  EXPECT_EQ(robot->tasks[0].argv, (Strings{"two"}));
  EXPECT_EQ(robot->tasks[0].line, 3);
  EXPECT_EQ(robot->artifacts_dir, "p");
  ASSERT_EQ(robot->warnings.size(), 2u);
  EXPECT_NE(robot->warnings[0].find("/r/robot.yaml:3: tasks.A: duplicate task name"),
            std::string::npos);
  EXPECT_NE(robot->warnings[1].find("/r/robot.yaml:5: artifactsDir: duplicate key"),
            std::string::npos);
}

TEST(RobotYamlTest, RelativePathBecomesAbsolute) {
  StatusOr<RobotYaml> robot =
      ParseRobotYaml("tasks: {A: {shell: a}}\nartifactsDir: o\n", "some/dir/../robot.yaml");
  ASSERT_TRUE(robot.ok());
  EXPECT_TRUE(robot->path.is_absolute());
  EXPECT_EQ(robot->path.filename(), "robot.yaml");
  EXPECT_EQ(robot->root.filename(), "some");
}

// robotni's `jobs:` key: files relative to robot.yaml (checked) or dotted module names.
TEST(RobotYamlTest, JobsListsFilesThatMustExistAndModules) {
  TempDir dir;
  std::filesystem::create_directories(dir.path() / "workers");
  { std::ofstream(dir.path() / "workers" / "jobs.py") << "\n"; }
  const std::string head = "tasks: {A: {shell: a}}\nartifactsDir: o\n";
  StatusOr<RobotYaml> robot =
      ParseRobotYaml(head + "jobs: [workers/jobs.py, pkg.jobs]\n", dir.path() / "robot.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  EXPECT_EQ(robot->job_modules, (Strings{"workers/jobs.py", "pkg.jobs"}));
  EXPECT_TRUE(robot->warnings.empty());  // a key robotni knows, not "unknown key"
  EXPECT_TRUE(ValidateRobotYaml(*robot).ok());

  robot = ParseRobotYaml(head + "jobs:\n  - workers/jobs.py\n  - workers/gone.py\n",
                         dir.path() / "robot.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  Status s = ValidateRobotYaml(*robot);
  EXPECT_EQ(s.code(), Status::Code::kInvalidArgument);
  EXPECT_NE(s.message().find("robot.yaml:3: jobs[1]: \"workers/gone.py\": no such file"),
            std::string::npos)
      << s.message();

  robot = ParseRobotYaml(head + "jobs: {a: b}\n", dir.path() / "robot.yaml");
  EXPECT_FALSE(robot.ok());  // a list of strings, like PATH
}

TEST(RobotYamlTest, MissingFileIsIOError) {
  StatusOr<RobotYaml> robot = LoadRobotYaml("/nonexistent/dir/robot.yaml");
  ASSERT_FALSE(robot.ok());
  EXPECT_EQ(robot.status().code(), Status::Code::kIOError);
  EXPECT_NE(robot.status().message().find("/nonexistent/dir/robot.yaml"), std::string::npos);
}

TEST(RobotYamlTest, DirectoryIsIOError) {
  TempDir dir;
  StatusOr<RobotYaml> robot = LoadRobotYaml(dir.path());
  ASSERT_FALSE(robot.ok());
  EXPECT_EQ(robot.status().code(), Status::Code::kIOError);
}

TEST(RobotYamlTest, SyntaxErrorNamesFileLineAndNearestKey) {
  StatusOr<RobotYaml> robot = ParseRobotYaml(
      "tasks:\n  Producer:\n    shell: python a.py\n   command: [x]\nartifactsDir: o\n",
      "/r/robot.yaml");
  ASSERT_FALSE(robot.ok());
  EXPECT_TRUE(robot.status().IsInvalidArgument());
  EXPECT_EQ(robot.status().message().rfind("/r/robot.yaml:4:", 0), 0u) << robot.status().message();
  EXPECT_NE(robot.status().message().find("YAML syntax error"), std::string::npos);
}

TEST(RobotYamlTest, EnvironmentConfigFitsFollowsRccNaming) {
  struct Case {
    const char* name;
    bool fits;
  } cases[] = {
      {"conda.yaml", true},
      {"environment_linux_amd64_freeze.yaml", true},
      {"environment_windows_amd64_freeze.yaml", false},
      {"environment_darwin_amd64_freeze.yaml", false},
      {"environment_linux_arm64_freeze.yaml", false},
      {"conda_linux.yaml", true},
      {"conda_windows.yaml", false},
      {"conda_amd64.yaml", true},
      {"conda_arm64.yaml", false},
      {"freeze.yaml", false},           // "freeze" requires the linux_amd64 marker
      {"my_conda_file_x.yaml", false},  // more than two '_' requires the marker
      {"Linux_conda.yaml", false},      // rcc compares the matched word case-sensitively
      {"conda_linux_amd64.yaml", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(EnvironmentConfigFits(c.name, "linux", "amd64"), c.fits) << c.name;
  }
  EXPECT_TRUE(EnvironmentConfigFits("environment_darwin_arm64_freeze.yaml", "darwin", "arm64"));
}

TEST(RobotYamlTest, CondaConfigPathPicksFirstExistingFittingFile) {
  if (std::string(PlatformOs()) != "linux" || std::string(PlatformArch()) != "amd64") {
    GTEST_SKIP() << "fixture names are for linux/amd64";
  }
  TempDir dir;
  dir.Write("environment_windows_amd64_freeze.yaml", "");
  dir.Write("conda.yaml", "");
  dir.Write("robot.yaml",
            "tasks: {A: {shell: a}}\nartifactsDir: o\nenvironmentConfigs: "
            "[environment_windows_amd64_freeze.yaml, environment_linux_amd64_freeze.yaml, "
            "conda.yaml]\ncondaConfigFile: legacy.yaml\n");
  StatusOr<RobotYaml> robot = LoadRobotYaml(dir.path() / "robot.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  EXPECT_EQ(robot->CondaConfigPath(), robot->root / "conda.yaml");

  dir.Write("environment_linux_amd64_freeze.yaml", "");
  EXPECT_EQ(robot->CondaConfigPath(), robot->root / "environment_linux_amd64_freeze.yaml");

  robot->environment_configs = {"missing.yaml"};
  EXPECT_EQ(robot->CondaConfigPath(), robot->root / "legacy.yaml");
  robot->conda_config_file.clear();
  EXPECT_TRUE(robot->CondaConfigPath().empty());
}

TEST(RobotYamlTest, AbsoluteEntriesStayAbsolute) {
  RobotYaml robot;
  robot.root = "/r";
  robot.path_entries = {"/usr/bin", "./bin/", "../shared", "."};
  EXPECT_EQ(robot.AbsolutePath(),
            (std::vector<std::filesystem::path>{"/usr/bin", "/r/bin", "/shared", "/r"}));
}

class FindTaskTest : public ::testing::Test {
 protected:
  void SetUp() override {
    StatusOr<RobotYaml> r = ParseRobotYaml(
        "tasks:\n  Producer: {shell: p}\n  Consumer: {shell: c}\n  Run Example task: {shell: "
        "r}\ndevTasks:\n  Dev: {shell: d}\nartifactsDir: o\n",
        "/r/robot.yaml");
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    robot_ = std::move(*r);
  }
  std::string Find(const std::string& name, bool dev = false) {
    StatusOr<const Task*> t = FindTask(robot_, name, dev);
    return t.ok() ? (*t)->name : "!" + t.status().message();
  }
  RobotYaml robot_;
};

TEST_F(FindTaskTest, ExactThenCaseInsensitiveThenTrimmed) {
  EXPECT_EQ(Find("Producer"), "Producer");
  EXPECT_EQ(Find("consumer"), "Consumer");
  EXPECT_EQ(Find("RUN EXAMPLE TASK"), "Run Example task");
  EXPECT_EQ(Find("\"Run Example task\""), "Run Example task");
  EXPECT_EQ(Find("  'producer'\n"), "Producer");
  EXPECT_EQ(Find("Dev", true), "Dev");
  EXPECT_EQ(Find("", true), "Dev");  // sole dev task
}

TEST_F(FindTaskTest, UnknownNameIsNotFoundListingTasks) {
  StatusOr<const Task*> t = FindTask(robot_, "Nope", false);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsNotFound());
  EXPECT_EQ(t.status().message(),
            "/r/robot.yaml: no task \"Nope\" in tasks; available tasks: \"Consumer\", "
            "\"Producer\", \"Run Example task\"");
}

TEST_F(FindTaskTest, EmptyNameNeedsASoleTask) {
  StatusOr<const Task*> t = FindTask(robot_, "", false);
  ASSERT_FALSE(t.ok());
  EXPECT_TRUE(t.status().IsNotFound());
  EXPECT_NE(t.status().message().find("no task name given"), std::string::npos);
  EXPECT_NE(t.status().message().find("\"Consumer\", \"Producer\""), std::string::npos);
  EXPECT_EQ(Find("Producer", true).substr(0, 1), "!");  // not among devTasks
}

// robotni extension: `limits:` at the top (every task's) and under a task (wins).
TEST(RobotYamlTest, LimitsAtTheTopAndPerTask) {
  StatusOr<RobotYaml> robot = ParseRobotYaml(R"(tasks:
  Consume:
    shell: python -m robocorp.tasks run tasks.py -t consume
    limits:
      timeout: 90s
      memory_limit: 1GiB
      max_items_per_worker: 100
  Report:
    shell: python report.py
limits:
  timeout: 10m
  kill_grace: 2.5
  max_output: 64KiB
artifactsDir: output
)",
                                             "/r/robot.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  ASSERT_TRUE(ValidateRobotYaml(*robot).ok());
  EXPECT_TRUE(robot->warnings.empty());
  Limits consume = LimitsOf(*robot, robot->tasks[0]);
  EXPECT_EQ(consume.timeout, 90);
  EXPECT_EQ(consume.kill_grace, 2.5);
  EXPECT_EQ(consume.memory_limit_mb, 1024);
  EXPECT_EQ(consume.max_runs_per_worker, 100);
  EXPECT_EQ(consume.max_output_bytes, 64 * 1024);
  Limits report = LimitsOf(*robot, robot->tasks[1]);
  EXPECT_EQ(report.timeout, 600);
  EXPECT_FALSE(report.memory_limit_mb.has_value());
}

// Each bad value is an error naming the file, line, field and what was expected.
TEST(RobotYamlTest, BadLimitsAreClearErrors) {
  auto error = [](const std::string& limits) {
    auto r = ParseRobotYaml("tasks:\n  T:\n    shell: python t.py\n    limits:\n      " + limits +
                                "\nartifactsDir: output\n",
                            "/r/robot.yaml");
    EXPECT_FALSE(r.ok()) << limits;
    return r.ok() ? std::string() : r.status().message();
  };
  EXPECT_EQ(error("timeout: -5"),
            "/r/robot.yaml:5: tasks.T.limits.timeout: must not be negative, found '-5'");
  EXPECT_EQ(error("timeout: soon"),
            "/r/robot.yaml:5: tasks.T.limits.timeout: expected seconds (a number >= 0, or with a "
            "unit: ms, s, m, h), found 'soon'");
  EXPECT_EQ(error("timeout: 5d"),
            "/r/robot.yaml:5: tasks.T.limits.timeout: unknown unit 'd' in '5d': expected seconds "
            "(a number >= 0, or with a unit: ms, s, m, h)");
  EXPECT_EQ(error("memory_limit: 512MB"),
            "/r/robot.yaml:5: tasks.T.limits.memory_limit: unknown unit 'MB' in '512MB': "
            "expected MiB (an integer >= 0, or with a unit: MiB, GiB)");
  EXPECT_EQ(error("memory_limit: -1"),
            "/r/robot.yaml:5: tasks.T.limits.memory_limit: must not be negative, found '-1'");
  EXPECT_EQ(error("max_output: [1]"),
            "/r/robot.yaml:5: tasks.T.limits.max_output: expected a number, found a list");
  EXPECT_EQ(error("max_items_per_worker: many"),
            "/r/robot.yaml:5: tasks.T.limits.max_items_per_worker: expected an integer >= 0, "
            "found 'many'");
  EXPECT_EQ(error("max_jobs_per_worker: 3"),
            "/r/robot.yaml:5: tasks.T.limits.max_jobs_per_worker: unknown key (limits are "
            "timeout, kill_grace, memory_limit, max_items_per_worker, max_output)");
  auto top = ParseRobotYaml("tasks:\n  T:\n    shell: python t.py\nlimits: 30\n", "/r/robot.yaml");
  ASSERT_FALSE(top.ok());
  EXPECT_EQ(top.status().message(),
            "/r/robot.yaml:4: limits: expected a map of limits, found a string");
}

}  // namespace
}  // namespace robotni::config
