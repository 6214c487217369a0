#include "config/conda_yaml.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "config_test_util.h"

namespace robotni::config {
namespace {

using testing::FixtureDir;
using Strings = std::vector<std::string>;

bool Contains(const std::vector<std::string>& lines, const std::string& needle) {
  for (const std::string& l : lines) {
    if (l.find(needle) != std::string::npos) return true;
  }
  return false;
}

TEST(CondaYamlTest, RccExampleParses) {
  StatusOr<CondaYaml> conda = LoadCondaYaml(FixtureDir() / "conda" / "valid" / "rcc_example.yaml");
  ASSERT_TRUE(conda.ok()) << conda.status().ToString();
  EXPECT_EQ(conda->channels, (Strings{"conda-forge"}));
  EXPECT_EQ(conda->dependencies, (Strings{"python=3.12.8", "uv=0.6.11"}));
  EXPECT_EQ(conda->pip,
            (Strings{"rpaframework==30.0.2", "robocorp==3.0.0", "robocorp-browser==2.3.5"}));
  EXPECT_EQ(conda->python_spec, "3.12.8");
  EXPECT_TRUE(conda->rcc_post_install.empty());

  std::vector<std::string> warnings = CondaWarnings(*conda);
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_NE(warnings[2].find("conda packages (uv=0.6.11); robotni installs none of them"),
            std::string::npos)
      << warnings[2];
  EXPECT_NE(warnings[0].find("python \"3.12.8\", which the embedded CPython 3.11"),
            std::string::npos)
      << warnings[0];
  EXPECT_NE(warnings[1].find("pip packages (rpaframework==30.0.2, robocorp==3.0.0, "
                             "robocorp-browser==2.3.5); robotni does not install them"),
            std::string::npos)
      << warnings[1];
}

TEST(CondaYamlTest, MatchingPythonGivesNoVersionWarning) {
  StatusOr<CondaYaml> conda = LoadCondaYaml(FixtureDir() / "conda" / "valid" / "python311.yaml");
  ASSERT_TRUE(conda.ok()) << conda.status().ToString();
  EXPECT_EQ(conda->name, "robot-env");
  EXPECT_EQ(conda->python_spec, "==3.11.2");
  EXPECT_EQ(conda->rcc_post_install, (Strings{"rfbrowser init"}));
  std::vector<std::string> warnings = CondaWarnings(*conda);
  EXPECT_FALSE(Contains(warnings, "python \"")) << (warnings.empty() ? "" : warnings[0]);
  EXPECT_TRUE(Contains(warnings, "rccPostInstall has 1 command(s)"));
}

TEST(CondaYamlTest, PythonSpecForms) {
  struct Case {
    const char* dep;
    const char* spec;
  } cases[] = {{"python=3.11.2", "3.11.2"},
               {"python==3.11", "==3.11"},
               {"python>=3.10", ">=3.10"},
               {"python", ""},
               {"python 3.11.*", "3.11.*"},
               {"Python>=3.10,<3.12", ">=3.10,<3.12"},
               {"python=3.11.2=h1234_0", "3.11.2=h1234_0"}};
  for (const Case& c : cases) {
    StatusOr<CondaYaml> conda =
        ParseCondaYaml(std::string("dependencies: ['") + c.dep + "', uv]\n", "/c.yaml");
    ASSERT_TRUE(conda.ok()) << c.dep;
    EXPECT_EQ(conda->python_spec, c.spec) << c.dep;
  }
  StatusOr<CondaYaml> none = ParseCondaYaml("dependencies: [pythonnet=3.0]\n", "/c.yaml");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->python_spec, "");
}

TEST(CondaYamlTest, VersionSpecAllows) {
  struct Case {
    const char* spec;
    bool allows_3_11_2;
  } cases[] = {
      {"3.11", true},      {"3.11.2", true},   {"3.11.*", true},    {"3.1", false},
      {"3.12.8", false},   {"3.11.7", false},  {"==3.11.2", true},  {"==3.11", false},
      {"==3.11.*", true},  {">=3.10", true},   {">=3.12", false},   {">=3.10,<3.12", true},
      {"<3.11", false},    {"<=3.11.2", true}, {">3.11.1", true},   {"!=3.11.2", false},
      {"!=3.11.*", false}, {"!=3.10", true},   {"3.10|3.11", true}, {"3.9|3.10", false},
      {"~=3.11.0", true},  {"~=3.10", true},   {"~=3.11.3", false}, {"3.11.2=h1234_0", true},
  };
  for (const Case& c : cases) {
    StatusOr<bool> ok = VersionSpecAllows(c.spec, 3, 11, 2);
    ASSERT_TRUE(ok.ok()) << c.spec << ": " << ok.status().ToString();
    EXPECT_EQ(*ok, c.allows_3_11_2) << c.spec;
  }
  EXPECT_FALSE(VersionSpecAllows("3.11rc1", 3, 11, 2).ok());
  EXPECT_FALSE(VersionSpecAllows(">=banana", 3, 11, 2).ok());
}

TEST(CondaYamlTest, SameSeriesOtherPatchIsASofterWarning) {
  StatusOr<CondaYaml> conda = ParseCondaYaml("dependencies: [python=3.11.99]\n", "/c.yaml");
  ASSERT_TRUE(conda.ok());
  std::vector<std::string> warnings = CondaWarnings(*conda);
  EXPECT_TRUE(Contains(warnings, "same 3.11 series")) << warnings.at(0);
}

TEST(CondaYamlTest, UnknownEntriesBecomeNotes) {
  StatusOr<CondaYaml> conda = ParseCondaYaml(
      "prefix: /opt/x\nchannels: [conda-forge]\ndependencies:\n  - python=3.11\n  - conda: [x]\n"
      "  -\n",
      "/c.yaml");
  ASSERT_TRUE(conda.ok()) << conda.status().ToString();
  EXPECT_EQ(conda->dependencies, (Strings{"python=3.11"}));
  EXPECT_EQ(conda->notes.size(), 3u);
  EXPECT_TRUE(Contains(CondaWarnings(*conda), "/c.yaml:5: dependencies[1]: only a `pip:` list"));
}

TEST(CondaYamlTest, EmptyFileIsEmptyEnvironment) {
  StatusOr<CondaYaml> conda = ParseCondaYaml("", "/c.yaml");
  ASSERT_TRUE(conda.ok());
  EXPECT_TRUE(conda->dependencies.empty());
  EXPECT_TRUE(CondaWarnings(*conda).empty());
}

TEST(CondaYamlTest, MissingFileIsIOError) {
  StatusOr<CondaYaml> conda = LoadCondaYaml("/nonexistent/conda.yaml");
  ASSERT_FALSE(conda.ok());
  EXPECT_EQ(conda.status().code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace robotni::config
