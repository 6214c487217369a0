// The info/ files' pieces: names, versions and match specs from conda.yaml.
#include "package/conda_metadata.h"

#include <gtest/gtest.h>

namespace robotni::package {
namespace {

TEST(CondaMetadataTest, NamesAreMadeCondaNames) {
  EXPECT_EQ(*CondaName("Order Bot"), "order-bot");
  EXPECT_EQ(*CondaName("my_robot.v2"), "my_robot.v2");
  EXPECT_EQ(*CondaName("  --Robot!! "), "robot");
  EXPECT_FALSE(CondaName("%%").ok());
}

TEST(CondaMetadataTest, Versions) {
  EXPECT_TRUE(CheckCondaVersion("1.2.0").ok());
  EXPECT_TRUE(CheckCondaVersion("2024.1+local").ok());
  EXPECT_FALSE(CheckCondaVersion("1.0-beta").ok());
  EXPECT_FALSE(CheckCondaVersion("").ok());
  EXPECT_FALSE(CheckCondaVersion("1.*").ok());
}

TEST(CondaMetadataTest, MatchSpecs) {
  EXPECT_EQ(MatchSpec("python=3.11"), "python 3.11.*");
  EXPECT_EQ(MatchSpec("python=3.11.*"), "python 3.11.*");
  EXPECT_EQ(MatchSpec("numpy==1.26.4"), "numpy ==1.26.4");
  EXPECT_EQ(MatchSpec("numpy>=1.26,<2"), "numpy >=1.26,<2");
  EXPECT_EQ(MatchSpec("numpy=1.26=py311_0"), "numpy 1.26.* py311_0");
  EXPECT_EQ(MatchSpec("conda-forge::nodejs"), "nodejs");
  EXPECT_EQ(MatchSpec("pip"), "pip");
}

TEST(CondaMetadataTest, JsonIsSortedWithAFinalNewline) {
  PackageMeta meta;
  meta.name = "bot";
  meta.version = "1";
  meta.depends = {"robotni"};
  std::string index = IndexJson(meta);
  EXPECT_EQ(index.back(), '\n');
  EXPECT_LT(index.find("\"arch\""), index.find("\"build\""));
  EXPECT_LT(index.find("\"subdir\""), index.find("\"version\""));
  EXPECT_EQ(FilesList({{"a/b", "00", 1}, {"a/c", "11", 2}}), "a/b\na/c\n");
}

}  // namespace
}  // namespace robotni::package
