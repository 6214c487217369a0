// `robotni env create` (package/conda_install.h, docs/packaging.md): the example robot is
// packaged with `robotni package`, unpacked into a prefix, and run from there with
// --python-prefix (and CONDA_PREFIX); the conda-meta record is checked field by field and
// hash by hash against the files on disk (md5 with coreutils' md5sum); noarch: python files
// land in lib/python3.11/site-packages and a task imports them; a corrupt archive or an
// unsafe path (made with Python's tarfile) installs nothing.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>

#include "core/sha256.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;
using Json = nlohmann::json;

constexpr int kExitInvalid = 2;
const std::vector<std::string> kNoEnvironment = {"VIRTUAL_ENV", "CONDA_PREFIX",
                                                 "ROBOTNI_PYTHON_PREFIX"};

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
  return s;
}

// coreutils' md5sum: an independent check of robotni's own MD5.
std::string Md5sum(const fs::path& p) {
  std::string cmd = "md5sum '" + p.string() + "'";
  FILE* f = popen(cmd.c_str(), "r");
  char buf[64] = {};
  size_t n = f ? fread(buf, 1, 32, f) : 0;
  if (f) pclose(f);
  return std::string(buf, n);
}

std::set<std::string> InstalledFiles(const fs::path& prefix) {
  std::set<std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(prefix)) {
    std::string rel = fs::relative(e.path(), prefix).generic_string();
    if (rel.rfind("conda-meta", 0) == 0) continue;
    if (e.is_regular_file() || e.is_symlink()) out.insert(rel);
  }
  return out;
}

// A .tar.bz2 made by Python's tarfile from `script` (which gets `t`, an open TarFile, and
// `add(name, text, **attrs)`), with an info/index.json for `name`.
fs::path MakeTarBz2(const fs::path& path, const std::string& index_json,
                    const std::string& script) {
  fs::path py = path.string() + ".py";
  WriteFile(py,
            "import io, sys, tarfile\n"
            "t = tarfile.open(sys.argv[1], 'w:bz2')\n"
            "def add(name, text='', **kw):\n"
            "    data = text.encode()\n"
            "    i = tarfile.TarInfo(name)\n"
            "    i.size = len(data)\n"
            "    for k, v in kw.items(): setattr(i, k, v)\n"
            "    t.addfile(i, io.BytesIO(data) if i.isreg() else None)\n"
            "add('info/index.json', sys.argv[2])\n" +
                script + "t.close()\n");
  std::string cmd =
      "/usr/bin/python3.11 '" + py.string() + "' '" + path.string() + "' '" + index_json + "'";
  EXPECT_EQ(system(cmd.c_str()), 0) << cmd;
  return path;
}

class EnvCreateTest : public ::testing::TestWithParam<std::string> {
 protected:
  RunResult Robotni(const std::vector<std::string>& args, RunOptions opts = {}) {
    opts.unset_env = kNoEnvironment;
    return RunRobotni(args, opts);
  }
  // The example robot as dist/orders-1.0.0-py_0.<format>.
  fs::path PackageExample(const std::string& format) {
    fs::path root = CopyExampleRobot(tmp_ / "orders");
    WriteFile(root / ".gitignore", "output/\n.robotni/\n");  // robot.yaml's ignoreFiles
    RunResult r = Robotni({"package", "-r", (root / "robot.yaml").string(), "-o",
                           (tmp_ / "dist").string(), "--version", "1.0.0", "--format", format});
    EXPECT_EQ(r.exit_code, 0) << r;
    return Trim(r.out);
  }
  fs::path Prefix() { return tmp_ / "env"; }
  RunResult Create(const std::vector<std::string>& packages) {
    std::vector<std::string> args = {"env", "create", "-p", Prefix().string()};
    args.insert(args.end(), packages.begin(), packages.end());
    return Robotni(args);
  }
  TempDir tmp_;
};

TEST_P(EnvCreateTest, ExampleRobotRunsFromThePrefix) {
  fs::path pkg = PackageExample(GetParam());
  ASSERT_TRUE(fs::exists(pkg)) << pkg;
  RunResult created = Create({pkg.string()});
  ASSERT_EQ(created.exit_code, 0) << created;
  fs::path record_path = Prefix() / "conda-meta" / "orders-1.0.0-py_0.json";
  EXPECT_EQ(Trim(created.out), fs::canonical(record_path).string()) << created;
  EXPECT_TRUE(fs::exists(Prefix() / "conda-meta" / "history"));
  EXPECT_TRUE(fs::is_directory(Prefix() / "lib" / "python3.11" / "site-packages"));

  // The record, in conda's PrefixRecord format, against the archive and the files.
  Json rec = Json::parse(ReadFile(record_path));
  std::string bytes = ReadFile(pkg);
  EXPECT_EQ(rec["name"], "orders");
  EXPECT_EQ(rec["version"], "1.0.0");
  EXPECT_EQ(rec["build"], "py_0");
  EXPECT_EQ(rec["build_number"], 0);
  EXPECT_EQ(rec["subdir"], "noarch");
  EXPECT_EQ(rec["noarch"], "python");
  EXPECT_EQ(rec["fn"], pkg.filename().string());
  EXPECT_EQ(rec["md5"], Md5sum(pkg));
  EXPECT_EQ(rec["sha256"], core::Sha256Hex(bytes));
  EXPECT_EQ(rec["size"], bytes.size());
  EXPECT_EQ(rec["depends"], Json::array({"python 3.11.*", "robotni"}));
  EXPECT_EQ(rec["channel"], "file://" + pkg.parent_path().string());
  EXPECT_EQ(rec["package_tarball_full_path"], pkg.string());
  EXPECT_TRUE(rec.contains("extracted_package_dir"));
  EXPECT_EQ(rec["requested_spec"], "orders");
  EXPECT_EQ(rec["link"]["type"], 1);
  EXPECT_EQ(rec["paths_data"]["paths_version"], 1);
  std::set<std::string> files;
  for (const auto& f : rec["files"]) files.insert(f.get<std::string>());
  EXPECT_EQ(files, InstalledFiles(Prefix()));
  EXPECT_TRUE(files.count("share/robotni/robots/orders/robot.yaml"));
  ASSERT_EQ(rec["paths_data"]["paths"].size(), files.size());
  for (const auto& p : rec["paths_data"]["paths"]) {
    std::string data = ReadFile(Prefix() / p["_path"].get<std::string>());
    EXPECT_EQ(p["path_type"], "hardlink") << p;
    EXPECT_EQ(p["sha256"], core::Sha256Hex(data)) << p;
    EXPECT_EQ(p["size_in_bytes"], data.size()) << p;
  }

  // Installing again changes nothing in the record.
  RunResult again = Create({pkg.string()});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(Json::parse(ReadFile(record_path)), rec);

  // The robot runs from the prefix: the example's chain, its summary in the robot's output/.
  fs::path robot_dir = Prefix() / "share" / "robotni" / "robots" / "orders";
  RunOptions run;
  run.cwd = robot_dir;
  RunResult r =
      Robotni({"run", "-r", (robot_dir / "robot.yaml").string(), "-t", "Producer", "-t", "Consumer",
               "-t", "Reporter", "--input", "devdata/work-items-in/orders/work-items.json",
               "--python-prefix", Prefix().string()},
              run);
  ASSERT_EQ(r.exit_code, 0) << r;
  Json summary = Json::parse(ReadFile(robot_dir / "output" / "summary.json"));
  EXPECT_EQ(summary["orders"], 30);
}

INSTANTIATE_TEST_SUITE_P(Formats, EnvCreateTest, ::testing::Values("conda", "tar.bz2"));

class EnvCreateArchives : public EnvCreateTest {};

TEST_F(EnvCreateArchives, NoarchPythonGoesToSitePackagesAndImports) {
  fs::path pkg =
      MakeTarBz2(tmp_ / "greeter-0.1-py_0.tar.bz2",
                 R"({"name": "greeter", "version": "0.1", "build": "py_0", "build_number": 0, )"
                 R"("noarch": "python", "subdir": "noarch", "depends": ["python >=3.8"]})",
                 "add('site-packages/greeter/__init__.py', 'HELLO = \"hello from conda\"\\n')\n"
                 "add('python-scripts/greet', '#!/bin/sh\\necho hi\\n', mode=0o755)\n");
  RunResult created = Create({pkg.string()});
  ASSERT_EQ(created.exit_code, 0) << created;
  EXPECT_TRUE(fs::exists(Prefix() / "lib/python3.11/site-packages/greeter/__init__.py"));
  EXPECT_TRUE(fs::status(Prefix() / "bin/greet").permissions() == fs::perms(0755));
  Json rec = Json::parse(ReadFile(Prefix() / "conda-meta" / "greeter-0.1-py_0.json"));
  EXPECT_EQ(rec["files"],
            Json::array({"bin/greet", "lib/python3.11/site-packages/greeter/__init__.py"}));

  fs::path robot = tmp_ / "robot";
  WriteFile(robot / "robot.yaml",
            "tasks:\n  Greet:\n    shell: python greet.py\nartifactsDir: output\n");
  WriteFile(robot / "greet.py", "import greeter\nprint(greeter.HELLO)\n");
  RunOptions opts;
  opts.env = {{"CONDA_PREFIX", Prefix().string()}};
  RunResult r = Robotni({"run", "-r", (robot / "robot.yaml").string()}, opts);
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("hello from conda")) << r;
}

TEST_F(EnvCreateArchives, CorruptArchiveInstallsNothing) {
  fs::path good = PackageExample("conda");
  std::string bytes = ReadFile(good);
  fs::path bad = tmp_ / "orders-1.0.0-py_0.conda";
  WriteFile(bad, bytes.substr(0, bytes.size() / 2));
  RunResult r = Create({good.string(), bad.string()});
  EXPECT_EQ(r.exit_code, kExitInvalid) << r;
  EXPECT_THAT(r.err, HasSubstr(bad.string() + ": not a valid zip")) << r;
  EXPECT_FALSE(fs::exists(Prefix())) << "a corrupt package among several installs none";

  // A zstd stream damaged inside a well-formed zip: also refused.
  WriteFile(tmp_ / "garbage.tar.bz2", "BZh9 this is not bzip2 data");
  r = Create({(tmp_ / "garbage.tar.bz2").string()});
  EXPECT_EQ(r.exit_code, kExitInvalid) << r;
  EXPECT_THAT(r.err, HasSubstr("bzip2")) << r;
  EXPECT_FALSE(fs::exists(Prefix() / "conda-meta"));
}

TEST_F(EnvCreateArchives, PathsOutsideThePrefixAreRefused) {
  const std::string index = R"({"name": "evil", "version": "1", "build": "0"})";
  struct Case {
    std::string script, message;
  } cases[] = {
      {"add('../escaped.txt', 'x')\n", "not a relative path inside the prefix"},
      {"add('/tmp/absolute.txt', 'x')\n", "not a relative path inside the prefix"},
      {"add('lib/a/../../../escaped.txt', 'x')\n", "not a relative path inside the prefix"},
      {"add('etc-link', type=tarfile.SYMTYPE, linkname='/etc')\n", "outside the prefix"},
      {"add('lib/up', type=tarfile.SYMTYPE, linkname='../../..')\n", "outside the prefix"},
      {"add('conda-meta/other.json', '{}')\n", "not a path a package may write"},
  };
  int i = 0;
  for (const Case& c : cases) {
    fs::path pkg = MakeTarBz2(tmp_ / ("evil-" + std::to_string(i++) + ".tar.bz2"), index,
                              "add('share/fine.txt', 'fine')\n" + c.script);
    RunResult r = Create({pkg.string()});
    EXPECT_EQ(r.exit_code, kExitInvalid) << c.script << r;
    EXPECT_THAT(r.err, HasSubstr(c.message)) << c.script << r;
    EXPECT_FALSE(fs::exists(Prefix())) << c.script;
    EXPECT_FALSE(fs::exists(tmp_ / "escaped.txt")) << c.script;
  }
}

TEST_F(EnvCreateArchives, ANewerVersionReplacesTheOlder) {
  auto make = [&](const std::string& version, const std::string& script) {
    return MakeTarBz2(tmp_ / ("tool-" + version + "-0.tar.bz2"),
                      R"({"name": "tool", "version": ")" + version + R"(", "build": "0"})", script);
  };
  fs::path v1 = make("1", "add('share/tool/a.txt', 'a1')\nadd('share/tool/old.txt', 'old')\n");
  fs::path v2 = make("2", "add('share/tool/a.txt', 'a2')\n");
  ASSERT_EQ(Create({v1.string()}).exit_code, 0);
  RunResult r = Create({v2.string()});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(ReadFile(Prefix() / "share/tool/a.txt"), "a2");
  EXPECT_FALSE(fs::exists(Prefix() / "share/tool/old.txt"));
  EXPECT_FALSE(fs::exists(Prefix() / "conda-meta/tool-1-0.json"));
  EXPECT_TRUE(fs::exists(Prefix() / "conda-meta/tool-2-0.json"));
}

// Packages written by Debian's conda-package-handling (`cph c`, Python's tarfile: pax
// headers for a path over 100 bytes, a symlink), in both formats.
TEST_F(EnvCreateArchives, PackagesMadeByCondaPackageHandling) {
  ASSERT_EQ(access("/usr/bin/cph", X_OK), 0) << "scripts/setup.sh --test installs cph";
  fs::path src = tmp_ / "src";
  std::string deep = "site-packages/deep/" + std::string(120, 'x');
  WriteFile(src / "info" / "index.json",
            R"({"name": "cphpkg", "version": "2.0", "build": "py_1", "build_number": 1, )"
            R"("noarch": "python", "subdir": "noarch", "depends": []})");
  WriteFile(src / deep / "mod.py", "A = 1\n");
  fs::create_symlink("mod.py", src / deep / "alias.py");
  for (const char* ext : {".conda", ".tar.bz2"}) {
    std::string fn = std::string("cphpkg-2.0-py_1") + ext;
    std::string cmd = "/usr/bin/cph c '" + src.string() + "' " + fn + " --out-folder '" +
                      src.parent_path().string() + "' >/dev/null 2>&1";
    ASSERT_EQ(system(cmd.c_str()), 0) << cmd;
    fs::remove_all(Prefix());
    RunResult r = Create({(tmp_ / fn).string()});
    ASSERT_EQ(r.exit_code, 0) << r;
    std::string installed = "lib/python3.11/site-packages/deep/" + std::string(120, 'x');
    EXPECT_EQ(ReadFile(Prefix() / installed / "mod.py"), "A = 1\n") << fn;
    EXPECT_EQ(fs::read_symlink(Prefix() / installed / "alias.py"), "mod.py") << fn;
    Json rec = Json::parse(ReadFile(Prefix() / "conda-meta" / "cphpkg-2.0-py_1.json"));
    EXPECT_EQ(rec["paths_data"]["paths"][0]["path_type"], "softlink") << fn;
    EXPECT_EQ(rec["build_number"], 1) << fn;
  }
}

TEST(CondaRecipe, IsYamlWithRattlerBuildKeys) {
  // rattler-build is not installable here: check the recipe's shape with PyYAML.
  std::string cmd =
      "/usr/bin/python3.11 -c \"import sys, yaml; d = yaml.safe_load(open(sys.argv[1])); "
      "assert set(d) >= {'context', 'package', 'source', 'build', 'requirements', 'tests', "
      "'about'}, sorted(d); assert d['source']['path'] == '../..'; "
      "s = ' '.join(d['build']['script']); assert 'cmake --install' in s and '$PREFIX' in s; "
      "assert set(d['requirements']) >= {'build', 'host', 'run'}; "
      "assert 'python 3.11.*' in d['requirements']['run']; "
      "assert d['about']['license']\" '" +
      (SourceDir() / "packaging" / "conda" / "recipe.yaml").string() + "'";
  EXPECT_EQ(system(cmd.c_str()), 0) << cmd;
}

}  // namespace
}  // namespace robotni::testing
