// End-to-end tests of `robotni run` / `robotni tasks`: the real binary on fixture
// robots (tests/fixtures/robots/run_*), checked against rcc's behaviour
// (reference/robocorp-compat.md §3-5): exit codes, task environment, output
// capture, in-process vs child execution, timeouts, isolation, work items.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <set>

#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

class RunFixture : public ::testing::Test {
 protected:
  // Copies a fixture robot into the temp dir; returns its robot.yaml.
  fs::path Robot(const std::string& fixture = "run_basic") {
    root_ = CopyFixture(fixture, tmp_ / "robot");
    return root_ / "robot.yaml";
  }
  RunResult Run(std::vector<std::string> args, RunOptions opts = {}) {
    if (opts.cwd.empty()) opts.cwd = tmp_.path();
    return RunRobotni(args, opts);
  }
  RunResult RunTask(const std::string& task, std::vector<std::string> extra = {},
                    RunOptions opts = {}) {
    std::vector<std::string> args{"run", "-r", (root_ / "robot.yaml").string(), "-t", task};
    args.insert(args.end(), extra.begin(), extra.end());
    return Run(args, opts);
  }

  TempDir tmp_;
  fs::path root_;
};

// ---------------------------------------------------------------------------
// Exit codes (rcc operations/running.go)

class RunExitCodes : public RunFixture {};

TEST_F(RunExitCodes, SuccessfulTaskExitsZero) {
  Robot();
  RunResult r = RunTask("Ok");
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("ok task ran")) << r;
}

TEST_F(RunExitCodes, MissingRobotYamlExitsOne) {
  fs::path missing = tmp_ / "nowhere" / "robot.yaml";
  RunResult r = Run({"run", "-r", missing.string(), "-t", "Ok"});
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr(missing.string())) << r;
}

TEST_F(RunExitCodes, MalformedYamlExitsOne) {
  Robot();
  WriteFile(root_ / "robot.yaml", "tasks:\n  Ok:\n    shell: [unclosed\nartifactsDir: output\n");
  RunResult r = RunTask("Ok");
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("robot.yaml")) << r;
  EXPECT_THAT(r.out, Not(HasSubstr("ok task ran"))) << r;
}

TEST_F(RunExitCodes, MissingArtifactsDirExitsTwo) {
  Robot();
  WriteFile(root_ / "robot.yaml",
            "tasks:\n  Ok:\n    shell: python -m robocorp.tasks run tasks.py -t ok\n");
  RunResult r = RunTask("Ok");
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("artifactsDir")) << r;
}

TEST_F(RunExitCodes, TaskWithShellAndCommandExitsTwo) {
  Robot();
  WriteFile(root_ / "robot.yaml",
            "tasks:\n  Both:\n    shell: python -m robocorp.tasks run tasks.py -t ok\n"
            "    command: [python, -c, 'print(1)']\nartifactsDir: output\n");
  RunResult r = RunTask("Both");
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("Both")) << r;
}

TEST_F(RunExitCodes, UnknownTaskExitsThreeAndListsTasks) {
  Robot();
  RunResult r = RunTask("Nope");
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("Nope")) << r;
  for (const char* t : {"Ok", "Env", "Fails", "RobotFw", "CommandChild"})
    EXPECT_THAT(r.err, HasSubstr(t)) << r;
}

TEST_F(RunExitCodes, TaskNameMatchesCaseInsensitively) {
  Robot();
  RunResult r = RunTask("oK");
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("ok task ran")) << r;
}

TEST_F(RunExitCodes, SoleTaskRunsWithoutTaskFlag) {
  fs::path robot = Robot("run_single");
  RunResult r = Run({"run", "-r", robot.string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("the sole task ran")) << r;
}

TEST_F(RunExitCodes, NoTaskFlagWithSeveralTasksExitsThree) {
  fs::path robot = Robot();
  RunResult r = Run({"run", "-r", robot.string()});
  EXPECT_EQ(r.exit_code, 3) << r;
  EXPECT_THAT(r.err, HasSubstr("--task")) << r;
  EXPECT_THAT(r.err, HasSubstr("Ok")) << r;
}

TEST_F(RunExitCodes, MalformedEnvJsonExitsFive) {
  Robot();
  WriteFile(tmp_ / "env.json", "{\"A\": \"1\",,}");
  RunResult r = RunTask("Ok", {"-e", (tmp_ / "env.json").string()});
  EXPECT_EQ(r.exit_code, 5) << r;
  EXPECT_THAT(r.err, HasSubstr("env.json")) << r;
  EXPECT_THAT(r.out, Not(HasSubstr("ok task ran"))) << r;
}

TEST_F(RunExitCodes, NestedEnvJsonValueExitsFive) {
  Robot();
  WriteFile(tmp_ / "env.json", "{\"NESTED\": {\"a\": 1}}");
  RunResult r = RunTask("Ok", {"-e", (tmp_ / "env.json").string()});
  EXPECT_EQ(r.exit_code, 5) << r;
  EXPECT_THAT(r.err, HasSubstr("NESTED")) << r;
  EXPECT_THAT(r.out, Not(HasSubstr("ok task ran"))) << r;
}

TEST_F(RunExitCodes, UncaughtExceptionExitsTenWithTraceback) {
  Robot();
  RunResult r = RunTask("Fails");
  EXPECT_EQ(r.exit_code, 10) << r;
  EXPECT_THAT(r.out, HasSubstr("about to fail")) << r;
  // robocorp.tasks prints the "Full Traceback" section on stdout (its console), as
  // under rcc; robotni's own failure line is on stderr.
  EXPECT_THAT(r.out, HasSubstr("Full Traceback (running fails)")) << r;
  EXPECT_THAT(r.out, HasSubstr("Traceback (most recent call last)")) << r;
  EXPECT_THAT(r.out, HasSubstr("ValueError: boom from the fails task")) << r;
  EXPECT_THAT(r.err, HasSubstr("task 'Fails' FAILED")) << r;
  EXPECT_THAT(ReadFile(root_ / "output" / "stdout.log"),
              HasSubstr("ValueError: boom from the fails task"));
}

TEST_F(RunExitCodes, SystemExitFourExitsTen) {
  Robot();
  RunResult r = RunTask("Exit4");
  EXPECT_EQ(r.exit_code, 10) << r;
  EXPECT_THAT(r.err, HasSubstr("exit code 4")) << r;
}

TEST_F(RunExitCodes, CommandNotFoundExitsSix) {
  Robot();
  RunResult r = RunTask("Missing");
  EXPECT_EQ(r.exit_code, 6) << r;
  EXPECT_THAT(r.err, HasSubstr("robotni-no-such-command-xyz")) << r;
}

// ---------------------------------------------------------------------------
// Other commands

class RunCommands : public RunFixture {};

TEST_F(RunCommands, TasksListsEveryTask) {
  fs::path robot = Robot();
  RunResult r = Run({"tasks", "-r", robot.string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  for (const char* t : {"Ok", "Env", "Argv", "Fails", "Exit4", "Logs", "Stream", "Loop",
                        "InProcess", "Numpy", "ShellChild", "CommandChild", "Missing", "RobotFw"})
    EXPECT_THAT(r.out, HasSubstr(t)) << r;
  EXPECT_THAT(r.out, HasSubstr("robocorp.tasks run tasks.py -t ok")) << r;
}

TEST_F(RunCommands, VersionPrintsVersion) {
  RunResult r = Run({"--version"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("robotni ")) << r;
}

TEST_F(RunCommands, HelpOnRunTasksAndItems) {
  RunResult run = Run({"run", "--help"});
  EXPECT_EQ(run.exit_code, 0) << run;
  for (const char* opt :
       {"--task", "--robot", "--environment", "--timeout", "--isolation", "--store", "--input"})
    EXPECT_THAT(run.out, HasSubstr(opt)) << run;
  RunResult tasks = Run({"tasks", "--help"});
  EXPECT_EQ(tasks.exit_code, 0) << tasks;
  EXPECT_THAT(tasks.out, HasSubstr("--robot")) << tasks;
  RunResult items = Run({"items", "--help"});
  EXPECT_EQ(items.exit_code, 0) << items;
  EXPECT_THAT(items.out, HasSubstr("items")) << items;
}

// ---------------------------------------------------------------------------
// The task environment, as rcc builds it

class RunEnv : public RunFixture {
 protected:
  std::map<std::string, std::string> RunEnvTask(RunOptions opts = {},
                                                std::vector<std::string> extra = {}) {
    RunResult r = RunTask("Env", extra, opts);
    EXPECT_EQ(r.exit_code, 0) << r;
    return ParseKeyValues(r.out, "ENV");
  }
};

TEST_F(RunEnv, RobotRootArtifactsAndCwd) {
  Robot();
  auto env = RunEnvTask();  // started from tmp_, not from the robot dir
  EXPECT_EQ(env["ROBOT_ROOT"], root_.string());
  EXPECT_EQ(env["ROBOT_ARTIFACTS"], (root_ / "output").string());
  EXPECT_EQ(env["CWD"], root_.string());
}

TEST_F(RunEnv, RobotPythonPathOnSysPathAndInVariable) {
  Robot();
  auto env = RunEnvTask({.env = {{"PYTHONPATH", "/host/pythonpath"}}});
  auto pp = Split(env["PYTHONPATH"], ':');
  ASSERT_FALSE(pp.empty());
  EXPECT_EQ(pp[0], (root_ / "lib").string()) << env["PYTHONPATH"];
  EXPECT_THAT(env["PYTHONPATH"], HasSubstr("/host/pythonpath"));
  // python -m: sys.path[0] is the cwd (the robot root), then PYTHONPATH entries.
  EXPECT_EQ(env["SYS_PATH_0"], root_.string());
  EXPECT_EQ(env["SYS_PATH_1"], (root_ / "lib").string());
  EXPECT_EQ(env["FIXTURE_LIB"], "fixture lib from robot PYTHONPATH");
}

TEST_F(RunEnv, RobotPathEntriesPrepended) {
  Robot();
  auto env = RunEnvTask();
  auto path = Split(env["PATH"], ':');
  ASSERT_FALSE(path.empty());
  EXPECT_EQ(path[0], (root_ / "bin").string()) << env["PATH"];
  EXPECT_EQ(env["WHICH_HELPER"], (root_ / "bin" / "fixture-helper").string());
}

TEST_F(RunEnv, ArgvOfRobocorpTasksRun) {
  Robot();
  auto env = RunEnvTask();
  // python -m robocorp.tasks run tasks.py -t env: argv[0] is the module, then the args.
  auto argv = Split(env["ARGV"], '|');
  ASSERT_EQ(argv.size(), 5u) << env["ARGV"];
  EXPECT_THAT(argv[0], HasSubstr("robocorp")) << env["ARGV"];
  EXPECT_EQ(argv[1], "run");
  EXPECT_EQ(argv[2], "tasks.py");
  EXPECT_EQ(argv[3], "-t");
  EXPECT_EQ(argv[4], "env");
}

TEST_F(RunEnv, EnvJsonValuesWinOverHostEnvironment) {
  Robot();
  WriteFile(tmp_ / "env.json",
            "{\"FROM_ENV_JSON\": \"from env.json\", \"SHARED_VAR\": \"env.json wins\"}");
  auto env = RunEnvTask({.env = {{"SHARED_VAR", "host value"}, {"HOST_ONLY_VAR", "host only"}}},
                        {"-e", (tmp_ / "env.json").string()});
  EXPECT_EQ(env["FROM_ENV_JSON"], "from env.json");
  EXPECT_EQ(env["SHARED_VAR"], "env.json wins");
  EXPECT_EQ(env["HOST_ONLY_VAR"], "host only");
}

TEST_F(RunEnv, ArgsAfterDoubleDashAppendedToArgv) {
  Robot();
  RunResult r = RunTask("Argv", {"--", "extra", "two words"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("ARGV argv.py|--first|extra|two words")) << r;
  EXPECT_THAT(r.out, HasSubstr("CWD " + root_.string())) << r;
}

// rcc appends everything after `--`, options included (`rcc run -t X -- --name=v`).
TEST_F(RunEnv, DashedArgsAfterDoubleDashAppendedToArgv) {
  Robot();
  RunResult r = RunTask("Argv", {"--", "--extra", "--name=value", "-x"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("ARGV argv.py|--first|--extra|--name=value|-x")) << r;
}

// ---------------------------------------------------------------------------
// Output capture

class RunCapture : public RunFixture {};

TEST_F(RunCapture, LogsInArtifactsDirIncludingPythonLogging) {
  Robot();
  RunResult r = RunTask("Logs");
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("a stdout line from the task")) << r;
  EXPECT_THAT(r.err, HasSubstr("a stderr line from the task")) << r;
  std::string out_log = ReadFile(root_ / "output" / "stdout.log");
  std::string err_log = ReadFile(root_ / "output" / "stderr.log");
  EXPECT_THAT(out_log, HasSubstr("a stdout line from the task"));
  EXPECT_THAT(out_log, Not(HasSubstr("a stderr line from the task")));
  EXPECT_THAT(err_log, HasSubstr("a stderr line from the task"));
  EXPECT_THAT(err_log, HasSubstr("INFO fixture a logging line from the task"));
}

TEST_F(RunCapture, OutputStreamsToConsoleWhileTaskRuns) {
  Robot();
  Process p({"run", "-r", (root_ / "robot.yaml").string(), "-t", "Stream"},
            {.cwd = tmp_.path(), .timeout_seconds = 60});
  ASSERT_TRUE(p.WaitForOutput("first streamed line", 30)) << p.out() << p.err();
  EXPECT_TRUE(p.Running()) << "the first line arrived only after robotni exited";
  EXPECT_THAT(p.out(), Not(HasSubstr("second streamed line")));
  RunResult r = p.Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("second streamed line")) << r;
}

// ---------------------------------------------------------------------------
// In-process vs child

class RunExec : public RunFixture {};

TEST_F(RunExec, PythonShellTaskRunsInProcess) {
  Robot();
  Process p({"run", "-r", (root_ / "robot.yaml").string(), "-t", "InProcess"},
            {.cwd = tmp_.path()});
  pid_t pid = p.pid();
  RunResult r = p.Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("INPROC pid=" + std::to_string(pid) + " module=_robotni")) << r;
}

TEST_F(RunExec, ShellLineTaskRunsAsChildWithOutputCaptured) {
  Robot();
  Process p({"run", "-r", (root_ / "robot.yaml").string(), "-t", "ShellChild"},
            {.cwd = tmp_.path()});
  pid_t pid = p.pid();
  RunResult r = p.Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("hi from shell pid ")) << r;
  EXPECT_THAT(r.out, Not(HasSubstr("hi from shell pid " + std::to_string(pid) + "\n"))) << r;
  EXPECT_THAT(r.err, HasSubstr("shell err line")) << r;
  EXPECT_THAT(ReadFile(root_ / "output" / "stdout.log"), HasSubstr("hi from shell pid "));
  EXPECT_THAT(ReadFile(root_ / "output" / "stderr.log"), HasSubstr("shell err line"));
}

TEST_F(RunExec, CommandListTaskRunsAsChildWithOutputCaptured) {
  Robot();
  RunResult r = RunTask("CommandChild");
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("hi from command")) << r;
  EXPECT_THAT(r.err, HasSubstr("command err line")) << r;
  EXPECT_THAT(ReadFile(root_ / "output" / "stdout.log"), HasSubstr("hi from command"));
  EXPECT_THAT(ReadFile(root_ / "output" / "stderr.log"), HasSubstr("command err line"));
}

TEST_F(RunExec, RobotTaskNameSaysRobotFrameworkIsNotImportable) {
  if (system("/usr/bin/python3.11 -c 'import robot' >/dev/null 2>&1") == 0)
    GTEST_SKIP() << "Robot Framework is installed for /usr/bin/python3.11";
  Robot();
  RunResult r = RunTask("RobotFw");
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("Robot Framework is not importable")) << r;
  EXPECT_THAT(r.err, HasSubstr("RobotFw")) << r;
}

// ---------------------------------------------------------------------------
// --timeout

TEST_F(RunExec, TimeoutStopsEndlessPythonLoop) {
  Robot();
  auto start = std::chrono::steady_clock::now();
  RunResult r = RunTask("Loop", {"--timeout", "2"}, {.timeout_seconds = 40});
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_FALSE(r.timed_out) << r;
  EXPECT_EQ(r.exit_code, 10) << r;
  EXPECT_THAT(r.err, HasSubstr("timed out after 2 s")) << r;
  EXPECT_LT(took, 15) << r;
}

// ---------------------------------------------------------------------------
// Isolation: numpy cannot load in a sub-interpreter (reference R13)

class RunIsolation : public RunFixture {};

TEST_F(RunIsolation, NumpyInSubinterpreterFailsNamingIsolationMain) {
  Robot();
  RunResult r = RunTask("Numpy");
  EXPECT_EQ(r.exit_code, 10) << r;
  EXPECT_THAT(r.err, HasSubstr("numpy")) << r;
  EXPECT_THAT(r.err, HasSubstr("isolation: main")) << r;
}

TEST_F(RunIsolation, NumpyWithIsolationMainInRobotYaml) {
  Robot();
  std::string yaml = ReadFile(root_ / "robot.yaml");
  WriteFile(root_ / "robot.yaml", yaml + "isolation: main\n");
  RunResult r = RunTask("Numpy");
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("numpy sum=45")) << r;
}

TEST_F(RunIsolation, NumpyWithIsolationFlag) {
  Robot();
  RunResult r = RunTask("Numpy", {"--isolation", "main"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("numpy sum=45")) << r;
}

// ---------------------------------------------------------------------------
// Work items

class RunWorkItems : public RunFixture {
 protected:
  // The repository's example robot in tmp.
  fs::path ExampleRobot() {
    root_ = CopyExampleRobot(tmp_ / "example");
    return root_ / "robot.yaml";
  }
};

// The items of a store after a run, read through the store's interface (either backend).
class StoreContents {
 public:
  explicit StoreContents(const std::string& url) : items_(AllItems(url)) {
    for (const auto& it : items_) by_id_[it.id] = &it;
  }
  // How many items of `queue` (every queue when "") are in `state` (any when none) and pass
  // `also` (when given).
  int64_t Count(const std::string& queue, std::optional<store::State> state = {},
                const std::function<bool(const store::Item&)>& also = {}) const {
    return std::count_if(items_.begin(), items_.end(), [&](const store::Item& it) {
      return (queue.empty() || it.queue == queue) && (!state || it.state == *state) &&
             (!also || also(it));
    });
  }
  // The parent of `it` in this store; nullptr when it has none.
  const store::Item* Parent(const store::Item& it) const {
    auto p = by_id_.find(it.parent_id);
    return p == by_id_.end() ? nullptr : p->second;
  }
  const std::vector<store::Item>& items() const { return items_; }

 private:
  std::vector<store::Item> items_;
  std::map<std::string, const store::Item*> by_id_;
};

nlohmann::json Payload(const store::Item& it) { return nlohmann::json::parse(it.payload_json); }

// Runs that leave items in a store, checked there, on each backend. On SQLite the runs use the
// default store (<robot root>/.robotni/workitems.db) unless a test names one.
class RunStore : public RunWorkItems, public ::testing::WithParamInterface<Backend> {
 protected:
  void SetUp() override { ASSERT_TRUE(store_.ok()) << store_.error(); }
  bool IsPostgres() const { return GetParam() == Backend::kPostgres; }
  // --store for a run of the test's store: none on SQLite (the default store).
  std::vector<std::string> StoreFlag() const {
    if (!IsPostgres()) return {};
    return {"--store", store_.url()};
  }
  // Where the runs without a --store of their own stored.
  std::string RunStoreUrl() const {
    return IsPostgres() ? store_.url() : (root_ / ".robotni" / "workitems.db").string();
  }

  TestStore store_{GetParam(), tmp_.path()};
};

ROBOTNI_STORE_BACKENDS(RunStore);

TEST_P(RunStore, ExampleChainWritesSummaryAndSettlesStore) {
  fs::path robot = ExampleRobot();
  std::vector<std::string> args = StoreFlag();
  args.insert(args.begin(),
              {"run", "-r", robot.string(), "-t", "Producer", "-t", "Consumer", "-t", "Reporter",
               "--input", "devdata/work-items-in/orders/work-items.json"});
  RunResult r = Run(args, {.cwd = root_});
  ASSERT_EQ(r.exit_code, 0) << r;
  auto summary = nlohmann::json::parse(ReadFile(root_ / "output" / "summary.json"));
  EXPECT_EQ(summary["orders"], 30);
  EXPECT_EQ(summary["accepted"], 25);
  EXPECT_EQ(summary["rejected"], 5);
  EXPECT_EQ(summary["rejections"].size(), 5u);

  if (!IsPostgres()) {
    ASSERT_TRUE(fs::exists(root_ / ".robotni" / "workitems.db"));
  }
  using store::State;
  StoreContents db(RunStoreUrl());
  EXPECT_EQ(db.Count("producer", State::kDone), 1);
  EXPECT_EQ(db.Count("producer"), 1);
  EXPECT_EQ(db.Count("consumer"), 30);
  EXPECT_EQ(db.Count("consumer", State::kDone), 25);
  EXPECT_EQ(db.Count("consumer", State::kFailed,
                     [](const store::Item& it) {
                       return it.exception_type == store::ExceptionType::kBusiness;
                     }),
            5);
  EXPECT_EQ(db.Count("reporter"), 30);
  EXPECT_EQ(db.Count("reporter", State::kDone), 30);
  EXPECT_EQ(db.Count("", State::kPending) + db.Count("", State::kReserved), 0);
  // Every consumer item's parent is the producer's input; every reporter item's
  // parent is a distinct consumer item.
  std::set<std::string> reporter_parents;
  for (const auto& it : db.items())
    if (it.queue == "reporter" && !it.parent_id.empty()) reporter_parents.insert(it.parent_id);
  EXPECT_EQ(reporter_parents.size(), 30u);
  auto parent_in = [&](const std::string& queue) {
    return [&db, queue](const store::Item& it) {
      const store::Item* p = db.Parent(it);
      return p && p->queue == queue;
    };
  };
  EXPECT_EQ(db.Count("consumer", {}, parent_in("producer")), 30);
  EXPECT_EQ(db.Count("reporter", {}, parent_in("consumer")), 30);
}

TEST_F(RunWorkItems, FileAdapterModeLikeRcc) {
  fs::path robot = ExampleRobot();
  RunResult prod =
      Run({"run", "-r", robot.string(), "-t", "Producer", "-e", "devdata/env-for-producer.json"},
          {.cwd = root_});
  ASSERT_EQ(prod.exit_code, 0) << prod;
  auto produced =
      nlohmann::json::parse(ReadFile(root_ / "devdata/work-items-out/producer/work-items.json"));
  ASSERT_TRUE(produced.is_array());
  EXPECT_EQ(produced.size(), 30u);
  EXPECT_TRUE(produced[0]["payload"].contains("order")) << produced[0].dump();

  RunResult cons =
      Run({"run", "-r", robot.string(), "-t", "Consumer", "-e", "devdata/env-for-consumer.json"},
          {.cwd = root_});
  ASSERT_EQ(cons.exit_code, 0) << cons;
  EXPECT_THAT(cons.out, HasSubstr("Consumed 30 orders: 25 accepted, 5 rejected")) << cons;
  auto consumed =
      nlohmann::json::parse(ReadFile(root_ / "devdata/work-items-out/consumer/work-items.json"));
  ASSERT_TRUE(consumed.is_array());
  EXPECT_EQ(consumed.size(), 30u);
  int accepted = 0, rejected = 0;
  for (const auto& it : consumed) {
    std::string status = it["payload"].value("status", "");
    accepted += status == "accepted";
    rejected += status == "rejected";
    EXPECT_TRUE(it.contains("files")) << it.dump();
  }
  EXPECT_EQ(accepted, 25);
  EXPECT_EQ(rejected, 5);
  // rcc's FileAdapter never touches a queue database.
  EXPECT_FALSE(fs::exists(root_ / ".robotni" / "workitems.db"));
}

// Paths on the command line are relative to where robotni was started, like -r and -e.
TEST_F(RunWorkItems, InputPathRelativeToInvocationDir) {
  Robot("run_actions_wi");
  RunResult r = Run({"run", "-r", "robot/robot.yaml", "--input", "robot/devdata/work-items.json"},
                    {.cwd = tmp_.path()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("doubled 3 items")) << r;
}

TEST_P(RunStore, ActionsWorkItemsRobotRunsAgainstStore) {
  fs::path robot = Robot("run_actions_wi");
  std::vector<std::string> args = StoreFlag();
  args.insert(args.begin(), {"run", "-r", robot.string(), "--input", "devdata/work-items.json"});
  RunResult r = Run(args, {.cwd = root_});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("doubled 3 items")) << r;
  StoreContents db(RunStoreUrl());
  EXPECT_EQ(db.Count("double", store::State::kDone), 3);
  EXPECT_EQ(db.Count("double"), 3);
  // Each output doubles its parent's n, in the parents' order.
  std::vector<std::pair<int64_t, const store::Item*>> outputs;  // parent id, output
  for (const auto& it : db.items())
    if (it.queue == "double_output" && db.Parent(it))
      outputs.emplace_back(std::stoll(it.parent_id), &it);
  std::sort(outputs.begin(), outputs.end());
  ASSERT_EQ(outputs.size(), 3u);
  for (size_t i = 0; i < outputs.size(); ++i) {
    EXPECT_EQ(Payload(*db.Parent(*outputs[i].second))["n"], i + 1);
    EXPECT_EQ(Payload(*outputs[i].second)["double"], 2 * (i + 1));
  }
}

}  // namespace
// robocorp.workitems keeps the task's inputs and outputs out of CPython's cyclic GC while
// its context holds them (the real _robotni.gc_hold), and puts them back at the end: a
// cycle through a work item is collected once the task let go of it.
TEST_F(RunExitCodes, WorkItemsAreHeldFromTheGcAndReleasedAfterTheTask) {
  root_ = tmp_ / "gcrobot";
  fs::create_directories(root_);
  WriteFile(root_ / "robot.yaml",
            "tasks:\n  Consume:\n    shell: python -m robocorp.tasks run tasks.py -t consume\n"
            "artifactsDir: output\n");
  WriteFile(root_ / "items.json", R"([{"payload": {"n": 1}}, {"payload": {"n": 2}},
                                      {"payload": {"n": 3}}, {"payload": {"n": 4}}])");
  WriteFile(root_ / "tasks.py", R"PY(
import gc, weakref
import _robotni
from robocorp import workitems
from robocorp.tasks import task
from robocorp.workitems import RobotniAdapter
from robocorp.workitems._context import Context


@task
def consume():
    seen = 0
    for item in workitems.inputs:
        out = workitems.outputs.create({"n": item.payload["n"]})
        assert not gc.is_tracked(item) and not gc.is_tracked(out), "package context holds"
        seen += 1
        if seen == 2:
            break
    # The mechanism on its own context: held, released, and a cycle collected after.
    ctx = Context(adapter=RobotniAdapter())
    ctx.hold_from_gc(_robotni)
    item = ctx.reserve_input()
    out = ctx.create_output()
    out.payload = {"n": 0}
    out.save()
    out.parent_object = item
    item.cycle = {"me": item, "out": out}
    assert not gc.is_tracked(item) and not gc.is_tracked(out)
    assert not gc.is_tracked(item._outputs)
    item.done()
    ctx.release_gc_hold()
    assert gc.is_tracked(item) and gc.is_tracked(out) and gc.is_tracked(item._outputs)
    ref = weakref.ref(item)
    del item, out, ctx
    gc.collect()
    assert ref() is None, "the cycle through the released item was not collected"
    print("gc hold ok")
)PY");
  RunResult r = RunTask("Consume", {"--input", (root_ / "items.json").string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("gc hold ok")) << r;
}

// A work-items file nested past 128 levels is refused naming the limit before the task runs
// (its payloads would be copied and dumped, one stack frame a level).
TEST_F(RunExitCodes, InputNestedPastTheLimitIsRefused) {
  root_ = tmp_ / "deeprobot";
  fs::create_directories(root_);
  WriteFile(root_ / "robot.yaml",
            "tasks:\n  Consume:\n    shell: python -c \"print('ran')\"\nartifactsDir: output\n");
  WriteFile(root_ / "items.json",
            R"([{"payload": {"a": )" + std::string(70000, '[') + std::string(70000, ']') + "}}]");
  RunResult r = RunTask("Consume", {"--input", (root_ / "items.json").string()});
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("is nested deeper than 128 levels (the limit)")) << r;
  EXPECT_THAT(r.out, ::testing::Not(HasSubstr("ran"))) << r;
}

// --input keeps each payload's keys in the file's order, as robocorp's FileAdapter does.
TEST_F(RunExitCodes, InputPayloadsKeepTheirKeyOrder) {
  root_ = tmp_ / "orderrobot";
  fs::create_directories(root_);
  WriteFile(root_ / "robot.yaml",
            "tasks:\n  Consume:\n    shell: python -m robocorp.tasks run tasks.py -t consume\n"
            "artifactsDir: output\n");
  WriteFile(root_ / "items.json",
            R"([{"payload": {"zeta": 1, "alpha": 2, "mid": {"b": 1, "a": 2}}}])");
  WriteFile(root_ / "tasks.py", R"PY(
from robocorp import workitems
from robocorp.tasks import task


@task
def consume():
    for item in workitems.inputs:
        print("keys", list(item.payload), list(item.payload["mid"]))
)PY");
  RunResult r = RunTask("Consume", {"--input", (root_ / "items.json").string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("keys ['zeta', 'alpha', 'mid'] ['b', 'a']")) << r;
}

// robot.yaml's preRunScripts run before the task, in the robot's directory and environment
// (a script for another platform is skipped); a failing one fails the run with rcc's 12.
TEST_F(RunExitCodes, PreRunScriptsRunBeforeTheTaskAndFailWithTwelve) {
  root_ = tmp_ / "prerun";
  fs::create_directories(root_);
  WriteFile(root_ / "robot.yaml",
            "tasks:\n  Use:\n    shell: python -c \"print(open('made.txt').read())\"\n"
            "devTasks:\n  Dev:\n    shell: python -c \"print('dev ran')\"\n"
            "preRunScripts:\n"
            "  - python -c \"import os; open('made.txt', 'w').write('made by ' + "
            "os.environ['ROBOT_ROOT'])\"\n"
            "  - sh -c 'exit 7' windows_only.bat\n"
            "artifactsDir: output\n");
  RunResult r = RunTask("Use");
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("made by " + root_.string())) << r;
  EXPECT_THAT(r.err, HasSubstr("skipping 'sh -c 'exit 7' windows_only.bat'")) << r;

  WriteFile(root_ / "robot.yaml",
            "tasks:\n  Use:\n    shell: python -c \"print('task ran')\"\n"
            "devTasks:\n  Dev:\n    shell: python -c \"print('dev ran')\"\n"
            "preRunScripts:\n  - sh -c 'echo failing; exit 3'\n"
            "artifactsDir: output\n");
  r = RunTask("Use");
  EXPECT_EQ(r.exit_code, 12) << r;
  EXPECT_THAT(r.err,
              HasSubstr("preRunScripts: 'sh -c 'echo failing; exit 3'' failed with exit code 3"))
      << r;
  EXPECT_THAT(r.out, Not(HasSubstr("task ran"))) << r;
  // devTasks skip preRunScripts, as under rcc.
  r = Run({"run", "-r", (root_ / "robot.yaml").string(), "--dev", "-t", "Dev"});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("dev ran")) << r;
}

// environmentConfigs that all miss, and conda packages robotni does not provide, are each
// said once.
TEST_F(RunExitCodes, MissingEnvironmentConfigsAndCondaPackagesAreWarnedAbout) {
  root_ = tmp_ / "envcfg";
  fs::create_directories(root_);
  WriteFile(root_ / "robot.yaml",
            "tasks:\n  Ok:\n    shell: python -c \"print('ok')\"\n"
            "environmentConfigs:\n  - environment_linux_amd64_freeze.yaml\n  - conda.yaml\n"
            "artifactsDir: output\n");
  RunResult r = RunTask("Ok");
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("none of environmentConfigs (environment_linux_amd64_freeze.yaml, "
                               "conda.yaml) exists"))
      << r;
  WriteFile(root_ / "conda.yaml",
            "channels: [conda-forge]\ndependencies:\n  - python=3.11\n  - no-such-package=1.0\n");
  r = RunTask("Ok");
  EXPECT_EQ(r.exit_code, 0) << r;
  // The dependency check's one line (service/env_check.h), not a list of every package.
  EXPECT_THAT(r.err, HasSubstr("1 of 1 dependencies missing for the embedded CPython: "
                               "no-such-package (module no_such_package not importable)"))
      << r;
  EXPECT_THAT(r.err, Not(HasSubstr("robotni installs none of them"))) << r;
  EXPECT_THAT(r.err, Not(HasSubstr("none of environmentConfigs"))) << r;
}

// A task that is not robot.yaml's first, run alone on an empty queue, gets one empty input
// (as `rcc run -t Second` does with robocorp's local adapter), not EmptyQueue; as the
// second step of a run it gets the first step's outputs only.
TEST_P(RunStore, ANonFirstTaskRunAloneGetsOneEmptyInput) {
  root_ = tmp_ / "second";
  fs::create_directories(root_);
  WriteFile(root_ / "robot.yaml",
            "tasks:\n  First:\n    shell: python -m robocorp.tasks run tasks.py -t first\n"
            "  Second:\n    shell: python -m robocorp.tasks run tasks.py -t second\n"
            "artifactsDir: output\n");
  WriteFile(root_ / "tasks.py", R"PY(
from robocorp import workitems
from robocorp.tasks import task


@task
def first():
    workitems.outputs.create({"from": "first"})


@task
def second():
    for item in workitems.inputs:
        print("second got", item.payload)
)PY");
  TestStore alone(GetParam(), root_, "alone.db"), steps(GetParam(), root_, "steps.db");
  ASSERT_TRUE(alone.ok() && steps.ok()) << alone.error();
  RunResult r = RunTask("Second", {"--store", alone.url()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("second got {}")) << r;
  r = Run({"run", "-r", (root_ / "robot.yaml").string(), "-t", "First", "-t", "Second", "--store",
           steps.url()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("second got {'from': 'first'}")) << r;
  EXPECT_THAT(r.out, Not(HasSubstr("second got {}"))) << r;
}

// robocorp's advanced template: an output created before the input loop and saved after it
// (its parent, the first input, was released in the loop) commits once with that parent;
// when that parent failed and goes back to the queue, the save is refused (the retry makes
// the output again) and nothing is written.
TEST_P(RunStore, AnOutputSavedAfterTheInputLoopIsFencedByItsParent) {
  root_ = tmp_ / "lateoutput";
  fs::create_directories(root_);
  WriteFile(root_ / "robot.yaml",
            "tasks:\n  Sum:\n    shell: python -m robocorp.tasks run tasks.py -t sum_all\n"
            "artifactsDir: output\n");
  WriteFile(root_ / "items.json",
            R"([{"payload": {"n": 1}}, {"payload": {"n": 2}}, {"payload": {"n": 3}}])");
  WriteFile(root_ / "tasks.py", R"PY(
import os
from robocorp import workitems
from robocorp.tasks import task


@task
def sum_all():
    summary = workitems.outputs.create(save=False)
    total = 0
    for item in workitems.inputs:
        if os.environ.get("FAIL_FIRST") and item.payload["n"] == 1:
            item.fail("APPLICATION", message="flaky")
            continue
        total += item.payload["n"]
    summary.payload = {"total": total}
    try:
        summary.save()
        print("saved", summary.id, "parent", summary.parent_id)
    except RuntimeError as e:
        print("refused:", e)
)PY");
  TestStore ok(GetParam(), root_, "ok.db"), retried(GetParam(), root_, "retried.db");
  ASSERT_TRUE(ok.ok() && retried.ok()) << ok.error();
  auto has_parent = [](const store::Item& it) { return !it.parent_id.empty(); };
  RunResult r = RunTask("Sum", {"--input", (root_ / "items.json").string(), "--store", ok.url()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("saved ")) << r;
  {
    StoreContents db(ok.url());
    EXPECT_EQ(db.Count("", {},
                       [&](const store::Item& o) {
                         const store::Item* p = db.Parent(o);
                         return p && Payload(o)["total"] == 6 && p->state == store::State::kDone &&
                                Payload(*p)["n"] == 1;
                       }),
              1);
    EXPECT_EQ(db.Count("", {}, has_parent), 1);
  }
  RunOptions env;
  env.env = {{"FAIL_FIRST", "1"}};
  r = RunTask("Sum", {"--input", (root_ / "items.json").string(), "--store", retried.url()}, env);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("refused: output of work item")) << r;
  EXPECT_THAT(r.out, HasSubstr("the retry makes its outputs again")) << r;
  StoreContents db(retried.url());
  EXPECT_EQ(db.Count("", {}, has_parent), 0);
  EXPECT_EQ(db.Count("", store::State::kPending), 1);
}

}  // namespace robotni::testing
