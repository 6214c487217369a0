// Runs every file under tests/fixtures/yaml/{robot,env,conda}/{valid,malformed}.
// A malformed file `x.yaml` has a sidecar `x.expect`:
//   stage: parse | validate      (which call must fail)
//   line: N                      (the message must contain "<file>:N:")
//   field: tasks.Producer        (the message must contain it)
//   contains: some text          (the message must contain it)

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "config/conda_yaml.h"
#include "config/env_json.h"
#include "config/robot_yaml.h"
#include "config_test_util.h"

namespace robotni::config {
namespace {

using testing::FixtureDir;

struct CorpusCase {
  std::string kind;  // robot, env, conda
  std::filesystem::path file;
};

void PrintTo(const CorpusCase& c, std::ostream* os) { *os << c.file.string(); }

std::vector<CorpusCase> ListCases(const std::string& sub) {
  std::vector<CorpusCase> out;
  for (const char* kind : {"robot", "env", "conda"}) {
    std::filesystem::path dir = FixtureDir() / kind / sub;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
      std::string ext = entry.path().extension().string();
      if (ext == ".yaml" || ext == ".json") out.push_back({kind, entry.path()});
    }
  }
  std::sort(out.begin(), out.end(),
            [](const CorpusCase& a, const CorpusCase& b) { return a.file < b.file; });
  return out;
}

std::string CaseName(const ::testing::TestParamInfo<CorpusCase>& info) {
  std::string name = info.param.kind + "_" + info.param.file.stem().string();
  for (char& c : name) {
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  }
  return name;
}

std::map<std::string, std::string> ReadExpect(const std::filesystem::path& file) {
  std::map<std::string, std::string> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(' '));
    out[line.substr(0, colon)] = value;
  }
  return out;
}

// The status from the stage that must fail: Load, or (robot.yaml only) Validate.
Status RunStage(const CorpusCase& c, const std::string& stage) {
  if (c.kind == "env") return LoadEnvJson(c.file).status();
  if (c.kind == "conda") return LoadCondaYaml(c.file).status();
  StatusOr<RobotYaml> robot = LoadRobotYaml(c.file);
  if (stage == "parse" || !robot.ok()) return robot.status();
  return ValidateRobotYaml(*robot);
}

class MalformedCorpusTest : public ::testing::TestWithParam<CorpusCase> {};

TEST_P(MalformedCorpusTest, FailsNamingFileLineAndField) {
  const CorpusCase& c = GetParam();
  std::filesystem::path expect_file = c.file;
  expect_file.replace_extension(".expect");
  ASSERT_TRUE(std::filesystem::exists(expect_file)) << "missing " << expect_file;
  std::map<std::string, std::string> expect = ReadExpect(expect_file);
  ASSERT_TRUE(expect.count("stage") && expect.count("line") && expect.count("field") &&
              expect.count("contains"))
      << expect_file;

  if (c.kind == "robot" && expect["stage"] == "validate") {
    StatusOr<RobotYaml> robot = LoadRobotYaml(c.file);
    ASSERT_TRUE(robot.ok()) << "must load; only validation fails: " << robot.status().ToString();
  }
  Status st = RunStage(c, expect["stage"]);
  ASSERT_FALSE(st.ok()) << c.file;
  EXPECT_TRUE(st.IsInvalidArgument()) << st.ToString();
  const std::string& msg = st.message();
  const std::string file_line = c.file.string() + ":" + expect["line"] + ":";
  EXPECT_EQ(msg.rfind(file_line, 0), 0u) << "want prefix " << file_line << "\n got " << msg;
  EXPECT_NE(msg.find(expect["field"]), std::string::npos)
      << "want field " << expect["field"] << "\n got " << msg;
  EXPECT_NE(msg.find(expect["contains"]), std::string::npos)
      << "want " << expect["contains"] << "\n got " << msg;
}

INSTANTIATE_TEST_SUITE_P(Corpus, MalformedCorpusTest, ::testing::ValuesIn(ListCases("malformed")),
                         CaseName);

class ValidCorpusTest : public ::testing::TestWithParam<CorpusCase> {};

TEST_P(ValidCorpusTest, LoadsAndValidates) {
  const CorpusCase& c = GetParam();
  if (c.kind == "env") {
    StatusOr<EnvVars> env = LoadEnvJson(c.file);
    EXPECT_TRUE(env.ok()) << env.status().ToString();
  } else if (c.kind == "conda") {
    StatusOr<CondaYaml> conda = LoadCondaYaml(c.file);
    EXPECT_TRUE(conda.ok()) << conda.status().ToString();
  } else {
    StatusOr<RobotYaml> robot = LoadRobotYaml(c.file);
    ASSERT_TRUE(robot.ok()) << robot.status().ToString();
    Status st = ValidateRobotYaml(*robot);
    EXPECT_TRUE(st.ok()) << st.ToString();
  }
}

INSTANTIATE_TEST_SUITE_P(Corpus, ValidCorpusTest, ::testing::ValuesIn(ListCases("valid")),
                         CaseName);

TEST(CorpusSizeTest, HasEnoughCases) {
  std::map<std::string, int> malformed;
  for (const CorpusCase& c : ListCases("malformed")) ++malformed[c.kind];
  EXPECT_GE(malformed["robot"], 20);
  EXPECT_GE(malformed["env"], 3);
  EXPECT_GE(malformed["conda"], 3);
}

}  // namespace
}  // namespace robotni::config
