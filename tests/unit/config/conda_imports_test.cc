// What `robotni env check` looks for, for each kind of conda.yaml dependency.
#include "config/conda_imports.h"

#include <gtest/gtest.h>

namespace robotni::config {
namespace {

using Kind = DependencyCheck::Kind;

std::vector<DependencyCheck> Plan(const std::string& yaml) {
  auto conda = ParseCondaYaml(yaml, "/robot/conda.yaml");
  EXPECT_TRUE(conda.ok()) << conda.status().ToString();
  return conda.ok() ? PlanDependencyChecks(*conda) : std::vector<DependencyCheck>{};
}

TEST(CondaImportsTest, CondaNamesMapToModulesProgramsOrChecks) {
  auto c = Plan(
      "dependencies:\n  - python=3.11\n  - pip=23.2\n  - nodejs=22.9.0\n  - PyYAML=6.0\n"
      "  - conda-forge::numpy>=1.26,<2\n  - scikit-learn=1.3=py311_0\n  - python-dateutil\n");
  ASSERT_EQ(c.size(), 7u);
  EXPECT_EQ(c[0].kind, Kind::kPython);
  EXPECT_EQ(c[0].version_spec, "3.11");
  EXPECT_EQ(c[1].kind, Kind::kSkip);
  EXPECT_EQ(c[2].kind, Kind::kProgram);
  EXPECT_EQ(c[2].target, "node");
  EXPECT_EQ(c[3].kind, Kind::kModule);
  EXPECT_EQ(c[3].target, "yaml");
  EXPECT_EQ(c[3].distribution, "pyyaml");
  EXPECT_EQ(c[3].version_spec, "6.0");
  EXPECT_EQ(c[4].name, "numpy");
  EXPECT_EQ(c[4].version_spec, ">=1.26,<2");
  EXPECT_EQ(c[5].target, "sklearn");
  EXPECT_EQ(c[5].version_spec, "1.3");  // the build string does not matter
  EXPECT_EQ(c[6].target, "dateutil");
}

TEST(CondaImportsTest, PipEntries) {
  auto c = Plan(
      "dependencies:\n  - pip:\n      - robocorp-tasks==2.9.0\n      - requests[socks]>=2.31 ; "
      "python_version>'3'\n      - My-Package\n      - git+https://example.invalid/x.git\n"
      "      - --index-url https://example.invalid\n      - nodejs\n");
  ASSERT_EQ(c.size(), 6u);
  EXPECT_EQ(c[0].source, "pip");
  EXPECT_EQ(c[0].target, "robocorp.tasks");
  EXPECT_EQ(c[0].version_spec, "==2.9.0");
  EXPECT_EQ(c[1].target, "requests");
  EXPECT_EQ(c[1].version_spec, ">=2.31");
  EXPECT_EQ(c[2].target, "my_package");
  EXPECT_EQ(c[3].kind, Kind::kSkip);
  EXPECT_EQ(c[4].kind, Kind::kSkip);
  EXPECT_EQ(c[5].kind, Kind::kModule) << "a pip 'nodejs' is a Python package";
}

TEST(CondaImportsTest, NumericVersion) {
  int a = -1, b = -1, c = -1;
  ASSERT_TRUE(NumericVersion("2.31.0", &a, &b, &c));
  EXPECT_EQ(std::vector<int>({a, b, c}), std::vector<int>({2, 31, 0}));
  ASSERT_TRUE(NumericVersion("1.26rc1", &a, &b, &c));
  EXPECT_EQ(std::vector<int>({a, b, c}), std::vector<int>({1, 26, 0}));
  ASSERT_TRUE(NumericVersion("6", &a, &b, &c));
  EXPECT_EQ(std::vector<int>({a, b, c}), std::vector<int>({6, 0, 0}));
  EXPECT_FALSE(NumericVersion("dev", &a, &b, &c));
}

}  // namespace
}  // namespace robotni::config
