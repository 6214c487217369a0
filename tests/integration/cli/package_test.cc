// `robotni package` (runtime/package/, docs/packaging.md): the package is extracted with
// Debian's conda-package-handling (`cph x`) and every info/ field and every file's hash
// and size is checked; two builds of the same robot are byte-identical; bad input is a
// clear error that writes no package.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/sha256.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr const char* kCph = "/usr/bin/cph";

// A robot with everything the packager treats specially.
fs::path MakeRobot(const fs::path& root) {
  WriteFile(root / "robot.yaml",
            "tasks:\n  Main:\n    shell: python -m robocorp.tasks run tasks.py\n"
            "environmentConfigs:\n  - conda.yaml\nartifactsDir: output\n"
            "PYTHONPATH:\n  - lib\nignoreFiles:\n  - .gitignore\n");
  WriteFile(root / "conda.yaml",
            "name: Order Bot\nchannels:\n  - conda-forge\ndependencies:\n  - python=3.11\n"
            "  - numpy>=1.20\n  - requests==2.28.1\n  - pip:\n      - robocorp-tasks==2.9.0\n"
            "      - requests==2.31.0\n");
  WriteFile(root / ".gitignore", "# local files\n*.log\nsecrets/\n/local.txt\n\n");
  WriteFile(root / "tasks.py", "from robocorp.tasks import task\n\n@task\ndef main():\n    pass\n");
  WriteFile(root / "data" / "orders.csv", "id,qty\n1,2\n");
  WriteFile(root / "bin" / "tool.sh", "#!/bin/sh\necho tool\n");
  chmod((root / "bin" / "tool.sh").c_str(), 0755);
  WriteFile(root / "lib" / "helpers.py", "X = 1\n");
  WriteFile(root / "lib" / "__pycache__" / "helpers.cpython-311.pyc", "bytecode");
  WriteFile(root / "run.log", "ignored by *.log\n");
  WriteFile(root / "secrets" / "key.txt", "ignored by secrets/\n");
  WriteFile(root / "local.txt", "ignored by /local.txt\n");
  WriteFile(root / "data" / "local.txt", "kept: /local.txt is anchored at the root\n");
  WriteFile(root / "output" / "old.txt", "the artifactsDir: never packaged\n");
  WriteFile(root / ".robotni" / "workitems.db", "the work-item store: never packaged\n");
  WriteFile(root / "dist" / "old-0.1-py_0.conda", "an earlier build: never packaged\n");
  return root;
}

const std::set<std::string> kPackaged = {".gitignore",     "bin/tool.sh",     "conda.yaml",
                                         "data/local.txt", "data/orders.csv", "lib/helpers.py",
                                         "robot.yaml",     "tasks.py"};
const std::string kPrefix = "share/robotni/robots/order-bot/";

// `cph x PACKAGE --dest DEST`, through the shell (it is a Python script).
int Extract(const fs::path& package, const fs::path& dest) {
  std::string cmd = std::string(kCph) + " x '" + package.string() + "' --dest '" + dest.string() +
                    "' >/dev/null 2>&1";
  return system(cmd.c_str());
}

std::set<std::string> FilesUnder(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) out.insert(fs::relative(e.path(), dir).generic_string());
  return out;
}

class PackageTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    ASSERT_EQ(access(kCph, X_OK), 0)
        << kCph << " is missing: scripts/setup.sh --test installs conda-package-handling";
    root_ = MakeRobot(tmp_ / "order bot");
  }
  RunResult Package(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"package", "-r", (root_ / "robot.yaml").string()};
    args.insert(args.end(), extra.begin(), extra.end());
    return RunRobotni(args);
  }
  TempDir tmp_;
  fs::path root_;
};

TEST_P(PackageTest, CphExtractsEveryFieldAndHash) {
  const std::string format = GetParam();
  // The output folder inside the robot: it must not package itself.
  RunResult r =
      Package({"-o", (root_ / "dist").string(), "--version", "1.2.0", "--format", format});
  ASSERT_EQ(r.exit_code, 0) << r;
  const fs::path pkg = root_ / "dist" / ("order-bot-1.2.0-py_0." + format);
  EXPECT_EQ(r.out, pkg.string() + "\n") << r;
  ASSERT_TRUE(fs::exists(pkg)) << r;
  const fs::path x = tmp_ / "x";
  ASSERT_EQ(Extract(pkg, x), 0);

  Json index = Json::parse(ReadFile(x / "info" / "index.json"));
  EXPECT_EQ(index["name"], "order-bot");
  EXPECT_EQ(index["version"], "1.2.0");
  EXPECT_EQ(index["build"], "py_0");
  EXPECT_EQ(index["build_number"], 0);
  EXPECT_EQ(index["noarch"], "python");
  EXPECT_EQ(index["subdir"], "noarch");
  EXPECT_TRUE(index["arch"].is_null());
  EXPECT_TRUE(index["platform"].is_null());
  EXPECT_EQ(index["depends"],
            Json({"python 3.11.*", "numpy >=1.20", "requests ==2.28.1", "robotni"}));

  Json about = Json::parse(ReadFile(x / "info" / "about.json"));
  EXPECT_EQ(about["channels"], Json({"conda-forge"}));
  EXPECT_EQ(about["extra"]["robotni"]["prefix"], "share/robotni/robots/order-bot");
  EXPECT_EQ(about["extra"]["robotni"]["tasks"], Json({"Main"}));
  EXPECT_EQ(about["extra"]["robotni"]["pip_dependencies"],
            Json({"robocorp-tasks==2.9.0", "requests==2.31.0"}));
  EXPECT_THAT(about["summary"].get<std::string>(),
              HasSubstr("share/robotni/robots/order-bot/robot.yaml"));
  EXPECT_EQ(ReadFile(x / "info" / "pip-requirements.txt"),
            "robocorp-tasks==2.9.0\nrequests==2.31.0\n");
  Json link = Json::parse(ReadFile(x / "info" / "link.json"));
  EXPECT_EQ(link["noarch"]["type"], "python");

  // paths.json: every packaged file, sorted, with its real hash and size; info/files the
  // same paths; nothing else extracted outside info/.
  Json paths = Json::parse(ReadFile(x / "info" / "paths.json"));
  EXPECT_EQ(paths["paths_version"], 1);
  std::set<std::string> listed;
  std::string files_list, previous;
  for (const Json& p : paths["paths"]) {
    const std::string path = p["_path"];
    EXPECT_LT(previous, path) << "paths.json is not sorted";
    previous = path;
    ASSERT_EQ(path.rfind(kPrefix, 0), 0u) << path;
    listed.insert(path.substr(kPrefix.size()));
    files_list += path + "\n";
    const std::string data = ReadFile(x / path);
    EXPECT_EQ(p["sha256"], core::Sha256Hex(data)) << path;
    EXPECT_EQ(p["size_in_bytes"], data.size()) << path;
    EXPECT_EQ(p["path_type"], "hardlink") << path;
    EXPECT_EQ(data, ReadFile(root_ / path.substr(kPrefix.size()))) << path;
  }
  EXPECT_EQ(listed, kPackaged);
  EXPECT_EQ(ReadFile(x / "info" / "files"), files_list);
  std::set<std::string> extracted;
  for (const std::string& f : FilesUnder(x))
    if (f.rfind("info/", 0) != 0) extracted.insert(f);
  std::set<std::string> want;
  for (const std::string& f : kPackaged) want.insert(kPrefix + f);
  EXPECT_EQ(extracted, want);
  EXPECT_EQ(FilesUnder(x / "info"),
            (std::set<std::string>{"about.json", "files", "index.json", "link.json", "paths.json",
                                   "pip-requirements.txt"}));
  struct stat st {};
  ASSERT_EQ(stat((x / kPrefix / "bin" / "tool.sh").c_str(), &st), 0);
  EXPECT_TRUE(st.st_mode & S_IXUSR) << "the executable bit is kept";
}

// Same robot, other mtimes, another output folder: the same bytes (the first package,
// in the robot's dist/, is not packaged into the second). A changed file does change
// them (so the comparison can fail).
TEST_P(PackageTest, TwoBuildsAreByteIdentical) {
  const std::string format = GetParam();
  const std::string name = "order-bot-0.0.0-py_0." + format;
  ASSERT_EQ(Package({"-o", (root_ / "dist").string(), "--format", format}).exit_code, 0);
  for (const auto& e : fs::recursive_directory_iterator(root_))
    fs::last_write_time(e.path(), fs::file_time_type::clock::now() - std::chrono::hours(24));
  ASSERT_EQ(Package({"-o", (tmp_ / "b").string(), "--format", format}).exit_code, 0);
  const std::string a = ReadFile(root_ / "dist" / name);
  ASSERT_FALSE(a.empty());
  EXPECT_TRUE(a == ReadFile(tmp_ / "b" / name)) << "two builds differ";
  WriteFile(root_ / "data" / "orders.csv", "id,qty\n1,3\n");
  ASSERT_EQ(Package({"-o", (tmp_ / "c").string(), "--format", format}).exit_code, 0);
  EXPECT_FALSE(a == ReadFile(tmp_ / "c" / name));
}

INSTANTIATE_TEST_SUITE_P(Formats, PackageTest, ::testing::Values("conda", "tar.bz2"),
                         [](const auto& info) {
                           return info.param == "conda" ? std::string("Conda")
                                                        : std::string("TarBz2");
                         });

class PackageBadInput : public PackageTest {
 protected:
  // Runs `robotni package` and checks it failed with `code`, said `message`, wrote nothing.
  void ExpectError(int code, const std::string& message, std::vector<std::string> extra = {}) {
    extra.insert(extra.begin(), {"-o", (tmp_ / "dist").string()});
    RunResult r = Package(extra);
    EXPECT_EQ(r.exit_code, code) << r;
    EXPECT_THAT(r.err, HasSubstr(message)) << r;
    EXPECT_TRUE(r.out.empty()) << r;
    EXPECT_FALSE(fs::exists(tmp_ / "dist") && !fs::is_empty(tmp_ / "dist")) << r;
  }
};

TEST_F(PackageBadInput, MissingCondaYaml) {
  fs::remove(root_ / "conda.yaml");
  ExpectError(2, "no conda.yaml: environmentConfigs (or condaConfigFile) must name one");
}

TEST_F(PackageBadInput, MalformedCondaYaml) {
  WriteFile(root_ / "conda.yaml", "dependencies:\n  - python=3.11\n  - [unclosed\n");
  ExpectError(2, (root_ / "conda.yaml").string() + ":");
}

TEST_F(PackageBadInput, MalformedRobotYaml) {
  WriteFile(root_ / "robot.yaml", "tasks: [unclosed\n");
  ExpectError(1, (root_ / "robot.yaml").string());
}

TEST_F(PackageBadInput, UnreadableIgnoreFile) {
  fs::remove(root_ / ".gitignore");
  ExpectError(1, "ignoreFiles: cannot read " + (root_ / ".gitignore").string());
}

TEST_F(PackageBadInput, NotARegularFile) {
  ASSERT_EQ(mkfifo((root_ / "data" / "pipe").c_str(), 0644), 0);
  ExpectError(2, (root_ / "data" / "pipe").string() + ": not a regular file");
}

// As root (CI) a mode-000 file is readable: robotni then runs as nobody (setpriv).
TEST_F(PackageBadInput, UnreadableFile) {
  chmod((root_ / "tasks.py").c_str(), 0);
  if (geteuid() != 0) return ExpectError(1, "cannot read " + (root_ / "tasks.py").string());
  ASSERT_EQ(access("/usr/bin/setpriv", X_OK), 0) << "setpriv (util-linux) is missing";
  chmod(tmp_.path().c_str(), 0755);
  const fs::path err = tmp_ / "err.txt";
  std::string cmd = "/usr/bin/setpriv --reuid=65534 --regid=65534 --clear-groups '" +
                    std::string(RobotniBinary()) + "' package -r '" +
                    (root_ / "robot.yaml").string() + "' -o '" + (tmp_ / "dist").string() +
                    "' >/dev/null 2>'" + err.string() + "'";
  int status = system(cmd.c_str());
  ASSERT_TRUE(WIFEXITED(status)) << cmd;
  EXPECT_EQ(WEXITSTATUS(status), 1) << ReadFile(err);
  EXPECT_THAT(ReadFile(err),
              HasSubstr("cannot read " + (root_ / "tasks.py").string() + ": Permission denied"));
  EXPECT_FALSE(fs::exists(tmp_ / "dist"));
}

TEST_F(PackageBadInput, BadVersionAndName) {
  ExpectError(2, "package version \"1.0-beta\" is not a conda version", {"--version", "1.0-beta"});
  ExpectError(2, "package name \"%%\" has no letter or digit", {"--name", "%%"});
  ExpectError(2, "--format: zip not in {conda,tar.bz2}", {"--format", "zip"});
}

}  // namespace
}  // namespace robotni::testing
