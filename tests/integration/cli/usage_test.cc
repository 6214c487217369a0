// Usage errors of the robotni command line say what is allowed: an unknown or missing
// command lists the commands, an out-of-range value names the range, a --store in a missing
// directory names the directory (and creates nothing).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

TEST(Usage, UnknownCommandListsTheCommands) {
  RunResult r = RunRobotni({"foo"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("unknown command 'foo'")) << r;
  EXPECT_THAT(r.err, HasSubstr("run, tasks, items, serve, package, env, store or version")) << r;
  EXPECT_THAT(r.err, Not(HasSubstr("worker"))) << r;  // hidden: for serve's own processes
}

TEST(Usage, MissingCommandListsTheCommands) {
  RunResult r = RunRobotni({});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err,
              HasSubstr("a command is required: run, tasks, items, serve, package, env, store or version"))
      << r;
}

TEST(Usage, UnknownItemsCommandListsItsCommands) {
  RunResult r = RunRobotni({"items", "lst"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("robotni items: unknown command 'lst'")) << r;
  EXPECT_THAT(r.err, HasSubstr("list, show, add")) << r;
}

TEST(Usage, UnknownEnvCommandListsItsCommands) {
  RunResult r = RunRobotni({"env", "crate"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("robotni env: unknown command 'crate'")) << r;
  EXPECT_THAT(r.err, HasSubstr("check or create")) << r;
}

TEST(Usage, OutOfRangeValuesSayWhatIsAllowed) {
  struct Case {
    std::vector<std::string> args;
    std::string expect;
  } cases[] = {
      {{"serve", "--concurrency", "0"}, "--concurrency: got '0'; expected an integer >= 1"},
      {{"serve", "--concurrency", "1.5"}, "--concurrency: got '1.5'; expected an integer >= 1"},
      {{"serve", "--workers", "-1"}, "--workers: got '-1'; expected an integer >= 0"},
      {{"serve", "--grace", "-1"}, "--grace: got '-1'; expected a number >= 0"},
      {{"serve", "--rate-limit", "x"}, "--rate-limit: got 'x'; expected a number >= 0"},
      {{"serve", "--max-payload", "5"},
       "--max-payload: got '5'; expected an integer from 1024 to 2147483647"},
      {{"run", "--timeout", "-3"}, "--timeout: got '-3'; expected a number >= 0"},
  };
  for (const auto& c : cases) {
    RunResult r = RunRobotni(c.args);
    EXPECT_EQ(r.exit_code, 2) << r;
    EXPECT_THAT(r.err, HasSubstr(c.expect)) << r;
    EXPECT_LT(r.err.size(), 200u) << "a bound printed as a 300-digit number?\n" << r;
  }
}

// The database file is robotni's to create; a directory is not (a typo would make one).
TEST(Usage, StoreInAMissingDirectoryIsAnErrorNamingIt) {
  TempDir tmp;
  fs::path missing = tmp / "no" / "such";
  fs::path robot = CopyFixture("run_single", tmp / "robot") / "robot.yaml";
  std::string db = (missing / "x.db").string();
  std::vector<std::vector<std::string>> commands = {
      {"serve", "-r", robot.string(), "--no-auth", "--listen", "127.0.0.1:0", "--store", db},
      {"serve", "-r", robot.string(), "--no-auth", "--listen", "127.0.0.1:0", "--store",
       "sqlite://" + db},
      {"run", "-r", robot.string(), "--store", db},
      {"items", "add", "q", "--store", db},
  };
  for (const auto& args : commands) {
    RunResult r = RunRobotni(args);
    EXPECT_EQ(r.exit_code, args[0] == "items" ? 1 : 2) << r;
    EXPECT_THAT(r.err, HasSubstr("--store: the directory " + missing.string() + " does not exist"))
        << r;
    EXPECT_THAT(r.err, Not(HasSubstr("serving on"))) << r;
    EXPECT_FALSE(fs::exists(tmp / "no")) << "created the directory of " << db;
  }
  // Named in serve's --config file: the key, not the flag.
  WriteFile(tmp / "serve.yaml", "store: no/such/x.db\n");
  RunResult r = RunRobotni({"serve", "-r", robot.string(), "--no-auth", "--listen", "127.0.0.1:0",
                            "--config", (tmp / "serve.yaml").string()});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr("store: the directory " + missing.string())) << r;
  EXPECT_FALSE(fs::exists(tmp / "no"));
}

}  // namespace
}  // namespace robotni::testing
