// Running in a Python environment (python/python_env.h, docs/packaging.md): a real venv
// made by `python3.11 -m venv --without-pip`, holding a package this test writes into its
// site-packages, is imported by a task only when robotni runs in it (VIRTUAL_ENV,
// --python-prefix, CONDA_PREFIX), also from a worker process and in `env check`; an
// environment of another Python minor version is refused with exit 8.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr int kExitTaskFailed = 10;
constexpr int kExitPythonEnvironment = 8;
const std::vector<std::string> kNoEnvironment = {"VIRTUAL_ENV", "CONDA_PREFIX",
                                                 "ROBOTNI_PYTHON_PREFIX"};

class PythonEnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    venv_ = tmp_ / "venv";
    std::string cmd = "/usr/bin/python3.11 -m venv --without-pip '" + venv_.string() + "'";
    ASSERT_EQ(system(cmd.c_str()), 0) << cmd;
    fs::path site = venv_ / "lib" / "python3.11" / "site-packages";
    ASSERT_TRUE(fs::is_directory(site));
    WriteFile(site / "envpkg_probe" / "__init__.py", "VALUE = 'from-the-venv'\n");
    // A .pth file: site.addsitedir must read it, as the venv's own python would.
    WriteFile(tmp_ / "pth-target" / "pth_probe.py", "VALUE = 'from-a-pth'\n");
    WriteFile(site / "extra.pth", (tmp_ / "pth-target").string() + "\n");
    robot_ = tmp_ / "robot";
    WriteFile(robot_ / "robot.yaml",
              "tasks:\n  Probe:\n    shell: python probe.py\n"
              "environmentConfigs:\n  - conda.yaml\nartifactsDir: output\n");
    WriteFile(robot_ / "conda.yaml", "dependencies:\n  - python=3.11\n  - envpkg-probe\n");
    WriteFile(robot_ / "probe.py",
              "import sys, envpkg_probe, pth_probe\n"
              "print('got', envpkg_probe.VALUE, pth_probe.VALUE)\n"
              "site = [p for p in sys.path if p.endswith('site-packages')][0]\n"
              "debian = sys.path.index('/usr/lib/python3/dist-packages')\n"
              "print('venv before debian:', sys.path.index(site) < debian)\n");
  }
  RunResult Run(std::vector<std::string> extra, std::map<std::string, std::string> env = {}) {
    std::vector<std::string> args = {"run", "-r", (robot_ / "robot.yaml").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    RunOptions opts;
    opts.unset_env = kNoEnvironment;
    opts.env = std::move(env);
    return RunRobotni(args, opts);
  }
  // A prefix with lib/python3.12/site-packages only (a conda environment of 3.12).
  fs::path Python312Prefix() {
    fs::path p = tmp_ / "py312";
    fs::create_directories(p / "lib" / "python3.12" / "site-packages");
    return p;
  }
  TempDir tmp_;
  fs::path venv_, robot_;
};

TEST_F(PythonEnvTest, WithoutTheEnvironmentTheImportFails) {
  RunResult r = Run({});
  EXPECT_EQ(r.exit_code, kExitTaskFailed) << r;
  EXPECT_THAT(r.all(), HasSubstr("No module named 'envpkg_probe'")) << r;
}

TEST_F(PythonEnvTest, VirtualEnvIsImported) {
  RunResult r = Run({}, {{"VIRTUAL_ENV", venv_.string()}});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("got from-the-venv from-a-pth")) << r;
  EXPECT_THAT(r.out, HasSubstr("venv before debian: True")) << r;
}

TEST_F(PythonEnvTest, PythonPrefixFlagIsImported) {
  RunResult r = Run({"--python-prefix", venv_.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("got from-the-venv from-a-pth")) << r;
}

TEST_F(PythonEnvTest, WorkerProcessesInheritThePrefix) {
  RunResult r = Run({"--python-prefix", venv_.string(), "--isolation", "process"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("got from-the-venv from-a-pth")) << r;
}

TEST_F(PythonEnvTest, CondaPrefixIsImported) {
  RunResult r = Run({}, {{"CONDA_PREFIX", venv_.string()}});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("got from-the-venv")) << r;
}

TEST_F(PythonEnvTest, FlagBeatsVirtualEnvWhichBeatsCondaPrefix) {
  fs::path bad = Python312Prefix();
  RunResult r = Run({"--python-prefix", venv_.string()}, {{"VIRTUAL_ENV", bad.string()}});
  EXPECT_EQ(r.exit_code, 0) << r;
  r = Run({}, {{"VIRTUAL_ENV", venv_.string()}, {"CONDA_PREFIX", bad.string()}});
  EXPECT_EQ(r.exit_code, 0) << r;
  r = Run({}, {{"VIRTUAL_ENV", bad.string()}, {"CONDA_PREFIX", venv_.string()}});
  EXPECT_EQ(r.exit_code, kExitPythonEnvironment) << r;
}

TEST_F(PythonEnvTest, AnotherMinorVersionIsRefused) {
  fs::path bad = Python312Prefix();
  RunResult r = Run({"--python-prefix", bad.string()});
  EXPECT_EQ(r.exit_code, kExitPythonEnvironment) << r;
  EXPECT_THAT(r.err, HasSubstr("--python-prefix=" + bad.string() +
                               " is a Python 3.12 environment; robotni embeds CPython 3.11"))
      << r;
  EXPECT_THAT(r.out, Not(HasSubstr("got"))) << r;
  r = Run({}, {{"CONDA_PREFIX", bad.string()}});
  EXPECT_EQ(r.exit_code, kExitPythonEnvironment) << r;
  EXPECT_THAT(r.err, HasSubstr("CONDA_PREFIX=" + bad.string() + " is a Python 3.12")) << r;
  // serve is refused the same way, before it listens.
  r = RunRobotni({"serve", "-r", (robot_ / "robot.yaml").string(), "--listen", "127.0.0.1:0",
                  "--python-prefix", bad.string()});
  EXPECT_EQ(r.exit_code, kExitPythonEnvironment) << r;
}

TEST_F(PythonEnvTest, VenvOfAnotherVersionIsRefusedByItsPyvenvCfg) {
  // The venv's own pyvenv.cfg says which Python made it, whatever lib/ holds.
  std::string cfg = ReadFile(venv_ / "pyvenv.cfg");
  WriteFile(venv_ / "pyvenv.cfg", "home = /usr/bin\nversion = 3.12.1\n");
  RunResult r = Run({}, {{"VIRTUAL_ENV", venv_.string()}});
  EXPECT_EQ(r.exit_code, kExitPythonEnvironment) << r;
  EXPECT_THAT(r.err, HasSubstr("is a Python 3.12 environment")) << r;
}

TEST_F(PythonEnvTest, NotAnEnvironmentIsRefused) {
  fs::create_directories(tmp_ / "empty");
  RunResult r = Run({"--python-prefix", (tmp_ / "empty").string()});
  EXPECT_EQ(r.exit_code, kExitPythonEnvironment) << r;
  EXPECT_THAT(r.err, HasSubstr("has no lib/python3.11/site-packages")) << r;
}

TEST_F(PythonEnvTest, EnvCheckLooksInTheEnvironment) {
  std::vector<std::string> args = {"env", "check", "-r", (robot_ / "robot.yaml").string()};
  RunOptions opts;
  opts.unset_env = kNoEnvironment;
  RunResult without = RunRobotni(args, opts);
  EXPECT_EQ(without.exit_code, 7) << without;
  EXPECT_THAT(without.out, HasSubstr("missing")) << without;
  opts.env = {{"VIRTUAL_ENV", venv_.string()}};
  RunResult with = RunRobotni(args, opts);
  EXPECT_EQ(with.exit_code, 0) << with;
  EXPECT_THAT(with.out, HasSubstr("module envpkg_probe from " + venv_.string())) << with;
  opts.env = {};
  args.insert(args.end(), {"--python-prefix", venv_.string()});
  EXPECT_EQ(RunRobotni(args, opts).exit_code, 0);
}

}  // namespace
}  // namespace robotni::testing
