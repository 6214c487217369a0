// `robotni env check` and run's one-line warning (service/env_check.h): each conda.yaml
// dependency is looked up in the embedded CPython (numpy is Debian's python3-numpy, which
// scripts/setup.sh --test installs), a missing one or one at another version exits 7.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

constexpr int kExitDependencyMissing = 7;

class EnvCheckTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = tmp_ / "robot";
    WriteFile(root_ / "robot.yaml",
              "tasks:\n  Main:\n    shell: python -c \"print('task ran')\"\n"
              "environmentConfigs:\n  - conda.yaml\nartifactsDir: output\n"
              "PYTHONPATH:\n  - lib\n");
    WriteFile(root_ / "lib" / "own_helpers" / "__init__.py", "");
  }
  RunResult Check() { return RunRobotni({"env", "check", "-r", (root_ / "robot.yaml").string()}); }
  std::string LineOf(const std::string& text, const std::string& spec) {
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);)
      if (line.find(" " + spec + " ") != std::string::npos) return line;
    return "";
  }
  TempDir tmp_;
  fs::path root_;
};

TEST_F(EnvCheckTest, EverythingThereExitsZero) {
  WriteFile(root_ / "conda.yaml",
            "dependencies:\n  - python=3.11\n  - pip=23.2\n  - numpy>=1.0\n"
            "  - pip:\n      - own-helpers\n      - robocorp-tasks\n"
            "      - git+https://example.invalid/x.git\n");
  RunResult r = Check();
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(LineOf(r.out, "python=3.11"),
              MatchesRegex("ok +conda +python=3.11 +3\\.11\\.[0-9]+ .*"))
      << r;
  EXPECT_THAT(LineOf(r.out, "pip=23.2"), HasSubstr("skipped")) << r;
  // numpy's version comes from importlib.metadata.
  EXPECT_THAT(LineOf(r.out, "numpy>=1.0"),
              MatchesRegex("ok +conda +numpy>=1.0 +[0-9]+\\.[0-9]+.* module numpy from .*"))
      << r;
  // A module of the robot's own PYTHONPATH is found; '-' maps to '_'.
  EXPECT_THAT(LineOf(r.out, "own-helpers"), HasSubstr("own_helpers")) << r;
  // robotni ships robocorp.tasks itself.
  EXPECT_THAT(LineOf(r.out, "robocorp-tasks"), HasSubstr("(robotni's own)")) << r;
  EXPECT_THAT(LineOf(r.out, "git+https://example.invalid/x.git"), HasSubstr("skipped")) << r;

  r = RunRobotni({"run", "-r", (root_ / "robot.yaml").string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.err, Not(HasSubstr("dependencies missing"))) << r;
}

TEST_F(EnvCheckTest, MissingAndWrongVersionExitSeven) {
  WriteFile(root_ / "conda.yaml",
            "dependencies:\n  - python=3.11\n  - numpy<1.0\n  - no-such-package=1.0\n"
            "  - pip:\n      - also_not_here==2.0\n");
  RunResult r = Check();
  EXPECT_EQ(r.exit_code, kExitDependencyMissing) << r;
  EXPECT_THAT(LineOf(r.out, "numpy<1.0"), MatchesRegex("wrong-version .* wants <1.0")) << r;
  EXPECT_THAT(LineOf(r.out, "no-such-package=1.0"),
              HasSubstr("missing       conda no-such-package=1.0"))
      << r;
  EXPECT_THAT(LineOf(r.out, "no-such-package=1.0"),
              HasSubstr("module no_such_package not importable"))
      << r;
  EXPECT_THAT(LineOf(r.out, "also_not_here==2.0"), HasSubstr("missing")) << r;
  EXPECT_THAT(r.err, HasSubstr("3 of 4 dependencies missing or at another version")) << r;

  // `robotni run` says the same in one warning line, and runs the task anyway.
  r = RunRobotni({"run", "-r", (root_ / "robot.yaml").string()});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("task ran")) << r;
  int lines = 0;
  std::istringstream in(r.err);
  for (std::string line; std::getline(in, line);) {
    if (line.find("dependencies missing") == std::string::npos) continue;
    ++lines;
    EXPECT_THAT(line, HasSubstr("warning: " + (root_ / "conda.yaml").string() +
                                ": 3 of 3 dependencies missing for the embedded CPython: "));
    EXPECT_THAT(line, HasSubstr("numpy ("));
    EXPECT_THAT(line, HasSubstr("no-such-package (module no_such_package not importable)"));
    EXPECT_THAT(line, HasSubstr("also_not_here ("));
    EXPECT_THAT(line, HasSubstr("see `robotni env check`"));
  }
  EXPECT_EQ(lines, 1) << r;
}

TEST_F(EnvCheckTest, NoCondaYamlIsAnError) {
  RunResult r = Check();
  EXPECT_EQ(r.exit_code, 1) << r;
  EXPECT_THAT(r.err, HasSubstr("no conda.yaml")) << r;
  WriteFile(root_ / "conda.yaml", "dependencies: [python=3.11\n");
  r = Check();
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_THAT(r.err, HasSubstr((root_ / "conda.yaml").string() + ":")) << r;
}

}  // namespace
}  // namespace robotni::testing
