// Never crash, never throw: every input gives a value or a non-OK Status.

#include <gtest/gtest.h>

#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "config/conda_yaml.h"
#include "config/env_json.h"
#include "config/robot_yaml.h"
#include "config_test_util.h"

namespace robotni::config {
namespace {

using testing::FixtureDir;

// Runs every parser (and the validator) over `text`; returns how many failed.
int ParseAll(const std::string& text) {
  int failed = 0;
  StatusOr<RobotYaml> robot = ParseRobotYaml(text, "/fuzz/robot.yaml");
  if (robot.ok()) {
    Status st = ValidateRobotYaml(*robot);
    if (!st.ok()) {
      ++failed;
      EXPECT_EQ(st.message().rfind("/fuzz/robot.yaml:", 0), 0u) << st.message();
    }
    (void)FindTask(*robot, "x", false);
    (void)FindTask(*robot, "", true);
    (void)robot->CondaConfigPath();
  } else {
    ++failed;
    EXPECT_TRUE(robot.status().IsInvalidArgument()) << robot.status().ToString();
    EXPECT_EQ(robot.status().message().rfind("/fuzz/robot.yaml:", 0), 0u)
        << robot.status().message();
  }
  StatusOr<EnvVars> env = ParseEnvJson(text, "/fuzz/env.json");
  if (!env.ok()) {
    ++failed;
    EXPECT_TRUE(env.status().IsInvalidArgument());
  }
  StatusOr<CondaYaml> conda = ParseCondaYaml(text, "/fuzz/conda.yaml");
  if (conda.ok()) {
    (void)CondaWarnings(*conda);
  } else {
    ++failed;
    EXPECT_TRUE(conda.status().IsInvalidArgument());
  }
  return failed;
}

TEST(RobustnessTest, OddTopLevels) {
  for (const char* text : {"",
                           "\n",
                           "~",
                           "null",
                           "42",
                           "'str'",
                           "[]",
                           "[1, [2]]",
                           "{}",
                           "---",
                           "--- !!binary aGVsbG8=",
                           "...",
                           "- - -",
                           "? a\n: b",
                           "&a [*a]",
                           "*undefined_alias",
                           "tasks: *nope",
                           "%YAML 1.2\n---\n{}",
                           "tasks:\n  A: {shell: [}",
                           "\xEF\xBB\xBFtasks: {}"}) {
    SCOPED_TRACE(text);
    ParseAll(text);
  }
}

TEST(RobustnessTest, BinaryJunkAndNulBytes) {
  std::string junk;
  for (int i = 0; i < 4096; ++i) junk.push_back(static_cast<char>((i * 131 + 7) % 256));
  EXPECT_GT(ParseAll(junk), 0);
  EXPECT_GT(ParseAll(std::string("tasks:\0\0\xff\xfe", 10)), -1);
  EXPECT_GT(ParseAll(std::string("\xff\xfe\x00t\x00a\x00s\x00k\x00s\x00:\x00", 14)), -1);
  std::mt19937 rng(12345);
  for (int round = 0; round < 300; ++round) {
    std::string text(rng() % 200, '\0');
    for (char& c : text) c = static_cast<char>(rng() % 256);
    ParseAll(text);
  }
}

TEST(RobustnessTest, Tabs) {
  EXPECT_GT(ParseAll("tasks:\n\tA:\n\t\tshell: a\nartifactsDir: o\n"), 0);
  ParseAll("tasks: {A: {shell: \"a\tb\"}}\nartifactsDir:\to\n");
}

TEST(RobustnessTest, HugeNesting) {
  for (int depth : {100, 10000, 200000}) {
    SCOPED_TRACE(depth);
    ParseAll(std::string(depth, '[') + std::string(depth, ']'));
    ParseAll("tasks: " + std::string(depth, '{') + std::string(depth, '}'));
    std::string block;
    for (int i = 0; i < std::min(depth, 3000); ++i) block += std::string(i, ' ') + "k:\n";
    ParseAll(block);
    std::string seq;
    for (int i = 0; i < std::min(depth, 3000); ++i) seq += std::string(i * 2, ' ') + "- \n";
    ParseAll(seq);
  }
}

TEST(RobustnessTest, ManyAliasesDoNotExplode) {
  std::string text = "a: &a [x, x, x, x, x, x, x, x, x]\n";
  char prev = 'a';
  for (char c = 'b'; c <= 'z'; ++c) {
    text += std::string(1, c) + ": &" + c + " [";
    for (int i = 0; i < 9; ++i) text += std::string(i ? ", *" : "*") + prev;
    text += "]\n";
    prev = c;
  }
  text += "tasks: {A: {command: *z}}\nPATH: *z\nartifactsDir: o\n";
  ParseAll(text);
}

TEST(RobustnessTest, EveryPrefixOfTheValidCorpus) {
  for (const char* kind : {"robot", "env", "conda"}) {
    for (const auto& entry : std::filesystem::directory_iterator(FixtureDir() / kind / "valid")) {
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream buf;
      buf << in.rdbuf();
      const std::string text = buf.str();
      for (size_t n = 0; n <= text.size(); ++n) ParseAll(text.substr(0, n));
      // Single-byte corruptions.
      for (size_t i = 0; i < text.size(); ++i) {
        for (char c : {'\t', '"', '\'', '[', '{', ':', '-', '\0', '\xff', '&', '*', '!'}) {
          std::string mutated = text;
          mutated[i] = c;
          ParseAll(mutated);
        }
      }
    }
  }
}

TEST(RobustnessTest, NonStringListItemsAndNullTaskBodies) {
  StatusOr<RobotYaml> robot = ParseRobotYaml(
      "tasks:\n  A:\n  B: ~\n  C: {command: [1, 2.5, true, ~]}\nPATH: [1, ~, yes]\n"
      "artifactsDir: o\n",
      "/r/robot.yaml");
  ASSERT_TRUE(robot.ok()) << robot.status().ToString();
  EXPECT_EQ(robot->tasks.size(), 3u);
  EXPECT_FALSE(ValidateRobotYaml(*robot).ok());
}

}  // namespace
}  // namespace robotni::config
