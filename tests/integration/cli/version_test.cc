// `robotni version` / `--version`, and how robotni finds its Python packages
// (runtime/python/python_dir.h): the built binary finds them through the build tree's
// marker file; a copy of the binary moved to a directory without them says so in one line
// and exits 4 (kExitInstallBroken) instead of aborting in CPython; ROBOTNI_PYTHON_DIR wins.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Python.h>
#include <spawn.h>
#include <sqlite3.h>

#include <regex>

#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

constexpr int kExitInstallBroken = 4;

// Runs `binary args...` in `cwd` with the test's environment minus ROBOTNI_PYTHON_DIR plus
// `env`; stdout and stderr go to files (no pipes to drain), read back when it has ended.
RunResult RunBinary(const fs::path& binary, const std::vector<std::string>& args,
                    const fs::path& cwd, const std::map<std::string, std::string>& env = {}) {
  fs::path out = cwd / ".version-test.out", err = cwd / ".version-test.err";
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addchdir_np(&fa, cwd.c_str());

  std::vector<std::string> argv_s{binary.string()};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::map<std::string, std::string> vars;
  for (char** e = environ; e && *e; ++e) {
    std::string s = *e;
    auto eq = s.find('=');
    if (eq != std::string::npos) vars[s.substr(0, eq)] = s.substr(eq + 1);
  }
  for (const char* k : {"ROBOTNI_PYTHON_DIR", "RC_WORKITEM_DB_PATH", "RC_WORKITEM_QUEUE_NAME",
                        "RC_WORKITEM_OUTPUT_QUEUE_NAME", "RC_WORKITEM_ADAPTER", "VIRTUAL_ENV"})
    vars.erase(k);
  for (const auto& [k, v] : env) vars[k] = v;
  std::vector<std::string> env_s;
  for (const auto& [k, v] : vars) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t pid = 0;
  int rc = posix_spawn(&pid, binary.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error(std::string("posix_spawn failed: ") + strerror(rc));
  int status = 0;
  waitpid(pid, &status, 0);
  RunResult r;
  if (WIFEXITED(status)) r.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) r.term_signal = WTERMSIG(status);
  r.out = ReadFile(out);
  r.err = ReadFile(err);
  fs::remove(out);
  fs::remove(err);
  return r;
}

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream ss(text);
  for (std::string line; std::getline(ss, line);) lines.push_back(line);
  return lines;
}

// The value of the "name value" line, or "" when there is none.
std::string Field(const std::string& out, const std::string& name) {
  for (const auto& line : Lines(out))
    if (line.rfind(name + " ", 0) == 0) return line.substr(name.size() + 1);
  return "";
}

// A copy of the built binary alone in a fresh directory: no share/robotni/python above it,
// no robotni-python-dir.txt beside it.
fs::path CopyBinary(const TempDir& tmp) {
  fs::path dir = tmp / "opt" / "bin";
  fs::create_directories(dir);
  fs::copy_file(RobotniBinary(), dir / "robotni");
  return dir / "robotni";
}

TEST(Version, PrintsRobotniPythonAndSqliteVersionsAndWhereThePackagesAre) {
  TempDir tmp;
  RunResult r = RunBinary(RobotniBinary(), {"version"}, tmp.path());
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err, "");
  EXPECT_TRUE(std::regex_match(Field(r.out, "robotni"), std::regex(R"(\d+\.\d+\.\d+)"))) << r;
  // The linked libpython's version (same as the headers', so no "built with").
  EXPECT_EQ(Field(r.out, "python"), PY_VERSION) << r;
  EXPECT_EQ(Field(r.out, "sqlite"), sqlite3_libversion()) << r;
  EXPECT_THAT(Field(r.out, "libuv"), Not("")) << r;
  // A binary in the build tree finds the source tree's packages through the marker file.
  EXPECT_EQ(Field(r.out, "packages"),
            (SourceDir() / "runtime" / "python").string() + " (build tree)")
      << r;
}

TEST(Version, DashDashVersionPrintsTheSame) {
  TempDir tmp;
  RunResult sub = RunBinary(RobotniBinary(), {"version"}, tmp.path());
  RunResult flag = RunBinary(RobotniBinary(), {"--version"}, tmp.path());
  ASSERT_EQ(flag.exit_code, 0) << flag;
  EXPECT_EQ(flag.out, sub.out);
}

TEST(Version, EnvironmentVariableWins) {
  TempDir tmp;
  fs::path dir = SourceDir() / "runtime" / "python";
  RunResult r = RunBinary(RobotniBinary(), {"version"}, tmp.path(),
                          {{"ROBOTNI_PYTHON_DIR", dir.string()}});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(Field(r.out, "packages"), dir.string() + " (ROBOTNI_PYTHON_DIR)") << r;
}

TEST(MovedBinary, WithoutItsPackagesSaysSoInOneLineAndExits4) {
  TempDir tmp;
  fs::path copy = CopyBinary(tmp);
  fs::path robot = CopyFixture("run_single", tmp / "robot");
  const std::string expected_start = "robotni: cannot find robotni's Python packages (looked in ";
  const std::string expected_end = "); set ROBOTNI_PYTHON_DIR or reinstall";

  // `version` still prints the versions, then the one-line error.
  RunResult v = RunBinary(copy, {"version"}, tmp.path());
  EXPECT_EQ(v.exit_code, kExitInstallBroken) << v;
  EXPECT_EQ(Field(v.out, "python"), PY_VERSION) << v;
  EXPECT_EQ(Field(v.out, "packages"), "not found") << v;
  ASSERT_EQ(Lines(v.err).size(), 1u) << v;
  EXPECT_THAT(v.err, StartsWith(expected_start)) << v;
  EXPECT_THAT(v.err, HasSubstr(expected_end + "\n")) << v;
  // It names where it looked: the installed layout beside the copy, and the marker file.
  EXPECT_THAT(v.err, HasSubstr((tmp / "opt" / "share" / "robotni" / "python").string())) << v;
  EXPECT_THAT(v.err, HasSubstr((tmp / "opt" / "bin" / "robotni-python-dir.txt").string())) << v;
  EXPECT_THAT(v.err, Not(HasSubstr(SourceDir().string()))) << v;

  // A command that runs Python: the same line and code, no CPython abort.
  RunResult r = RunBinary(copy, {"run", "-r", (robot / "robot.yaml").string()}, tmp.path());
  EXPECT_EQ(r.exit_code, kExitInstallBroken) << r;
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.out, "") << r;
  ASSERT_EQ(Lines(r.err).size(), 1u) << r;
  EXPECT_THAT(r.err, StartsWith(expected_start)) << r;
  EXPECT_THAT(r.all(), Not(HasSubstr("Fatal Python error"))) << r;

  // serve checks first too.
  RunResult s = RunBinary(copy, {"serve", "-r", (robot / "robot.yaml").string(), "--listen",
                                 "127.0.0.1:0", "--no-auth"},
                          tmp.path());
  EXPECT_EQ(s.exit_code, kExitInstallBroken) << s;
  EXPECT_THAT(s.err, StartsWith(expected_start)) << s;
}

TEST(MovedBinary, RunsWithRobotniPythonDir) {
  TempDir tmp;
  fs::path copy = CopyBinary(tmp);
  fs::path robot = CopyFixture("run_single", tmp / "robot");
  RunResult r = RunBinary(copy, {"run", "-r", (robot / "robot.yaml").string()}, tmp.path(),
                          {{"ROBOTNI_PYTHON_DIR", (SourceDir() / "runtime" / "python").string()}});
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("the sole task ran")) << r;
}

TEST(MovedBinary, RobotniPythonDirWithoutPackagesIsTheError) {
  TempDir tmp;
  fs::path copy = CopyBinary(tmp);
  fs::create_directories(tmp / "empty");
  RunResult r =
      RunBinary(copy, {"version"}, tmp.path(), {{"ROBOTNI_PYTHON_DIR", (tmp / "empty").string()}});
  EXPECT_EQ(r.exit_code, kExitInstallBroken) << r;
  ASSERT_EQ(Lines(r.err).size(), 1u) << r;
  EXPECT_THAT(r.err, HasSubstr((tmp / "empty").string() + " (ROBOTNI_PYTHON_DIR)")) << r;
}

}  // namespace
}  // namespace robotni::testing
