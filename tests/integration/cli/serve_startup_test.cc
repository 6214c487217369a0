// What `robotni serve` serves when it starts: the job modules robot.yaml's `jobs:` names
// (run in the robot's folder, no --jobs), --jobs instead of them, and the mistakes that stop
// the start with an error saying what is there (a missing jobs file, --types matching nothing).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

const char kRobotJobs[] = R"(from robotni import job

@job("robot.echo")
def echo(text):
    return text
)";

const char kOtherJobs[] = R"(from robotni import job

@job("other.one")
def one():
    return 1
)";

std::vector<std::string> TypeNames(int port) {
  std::vector<std::string> names;
  auto r = SendHttp(port, "GET", "/api/worker/types");
  for (const auto& t : r.body["types"]) names.push_back(t["type"]);
  std::sort(names.begin(), names.end());
  return names;
}

class ServeStartup : public ::testing::Test {
 protected:
  void SetUp() override {
    robot_ = tmp_ / "robot";
    WriteFile(robot_ / "robot.yaml",
              "tasks:\n  A:\n    shell: python -c pass\nartifactsDir: output\n"
              "jobs: [workers/robot_jobs.py]\n");
    WriteFile(robot_ / "workers" / "robot_jobs.py", kRobotJobs);
    WriteFile(robot_ / "other_jobs.py", kOtherJobs);
  }
  // serve in the robot's folder (no -r); the types it serves, or {} when it did not start.
  std::vector<std::string> ServeTypes(std::vector<std::string> extra) {
    std::vector<std::string> args = {"serve",       "--no-auth", "--listen",
                                     "127.0.0.1:0", "--grace",   "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    Process server(args, RunOptions{.cwd = robot_});
    if (!server.WaitForOutput("serving on", 60)) {
      ADD_FAILURE() << server.output();
      return {};
    }
    int port = ServingPort(server);
    std::vector<std::string> types = TypeNames(port);
    // A job runs: the module was found relative to robot.yaml, in a worker process.
    if (!types.empty() && types.front() == "robot.echo") {
      auto sub = SendHttp(port, "POST", "/api/worker/jobs",
                          R"({"type":"robot.echo","params":{"text":"hi"}})");
      EXPECT_EQ(sub.status, 202) << sub.body.dump();
      auto done = SendHttp(
          port, "GET",
          "/api/worker/jobs/" + sub.body["job_id"].get<std::string>() + "/wait?timeout=30");
      EXPECT_EQ(done.body["result"], "hi") << done.body.dump();
    }
    server.Kill(SIGTERM);
    RunResult r = server.Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
    return types;
  }

  TempDir tmp_;
  fs::path robot_;
};

TEST_F(ServeStartup, RobotYamlJobsAreServedWithoutTheJobsFlag) {
  EXPECT_EQ(ServeTypes({}), (std::vector<std::string>{"robot.echo"}));
}

TEST_F(ServeStartup, TheJobsFlagReplacesRobotYamlJobs) {
  EXPECT_EQ(ServeTypes({"--jobs", "other_jobs.py"}), (std::vector<std::string>{"other.one"}));
  // So does the --config file's `jobs:` (it is --jobs in a file).
  WriteFile(tmp_ / "serve.yaml", "jobs: [other_jobs.py]\n");
  EXPECT_EQ(ServeTypes({"--config", (tmp_ / "serve.yaml").string()}),
            (std::vector<std::string>{"other.one"}));
}

TEST_F(ServeStartup, AMissingRobotYamlJobsFileIsAnErrorNamingTheKey) {
  WriteFile(robot_ / "robot.yaml",
            "tasks:\n  A:\n    shell: python -c pass\nartifactsDir: output\n"
            "jobs: [workers/robot_jobs.py, workers/gone.py]\n");
  RunResult r = RunRobotni({"serve", "--no-auth", "--listen", "127.0.0.1:0"}, {.cwd = robot_});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("robot.yaml:5: jobs[1]: \"workers/gone.py\": no such file")) << r;
  EXPECT_THAT(r.err, Not(HasSubstr("serving on"))) << r;
}

// The example robot's robot.yaml names workers/jobs/jobs.py: `robotni serve` in the
// repository's root serves the README's `add`.
TEST(ServeExampleRobot, ServesItsJobTypesWithoutTheJobsFlag) {
  TempDir tmp;
  Process server({"serve", "--no-auth", "--listen", "127.0.0.1:0", "--grace", "1", "--store",
                  (tmp / "wi.db").string()},
                 RunOptions{.cwd = SourceDir()});
  ASSERT_TRUE(server.WaitForOutput("serving on", 60)) << server.output();
  std::vector<std::string> types = TypeNames(ServingPort(server));
  EXPECT_THAT(types, ::testing::Contains("add")) << server.output();
  server.Kill(SIGTERM);
  EXPECT_EQ(server.Wait().exit_code, 0);
}

TEST_F(ServeStartup, TypesMatchingNoJobTypeIsAnErrorListingThem) {
  for (const std::string types : {"nosuch", "robot.echo,nosuch", "nothing.%"}) {
    RunResult r = RunRobotni({"serve", "--no-auth", "--listen", "127.0.0.1:0", "--types", types},
                             {.cwd = robot_});
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_THAT(r.err, HasSubstr("matches no job type; the job types are: robot.echo")) << r;
    EXPECT_THAT(r.err, Not(HasSubstr("serving on"))) << r;
  }
  // A prefix that matches serves.
  EXPECT_EQ(ServeTypes({"--types", "robot.%"}), (std::vector<std::string>{"robot.echo"}));
}

}  // namespace
}  // namespace robotni::testing
