#include "config/env_json.h"

#include <gtest/gtest.h>

#include "config_test_util.h"

namespace robotni::config {
namespace {

using testing::FixtureDir;

TEST(EnvJsonTest, ScalarsBecomeTextInFileOrder) {
  StatusOr<EnvVars> env = LoadEnvJson(FixtureDir() / "env" / "valid" / "basic.json");
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EnvVars want = {{"foo", "bar"},
                  {"num", "42"},
                  {"flag", "true"},
                  {"nothing", ""},
                  {"float", "1.50"},
                  {"url", "http://localhost:8080/x"},
                  {"unicode", "caf\xc3\xa9"}};
  EXPECT_EQ(*env, want);
}

TEST(EnvJsonTest, RccSetupTestCase) {
  // rcc robot/setup_test.go TestCanGetEnvironmentFromBytes.
  StatusOr<EnvVars> env = ParseEnvJson("{\"foo\":\"bar\",\"num\":42,\"flag\":true}", "/e.json");
  ASSERT_TRUE(env.ok()) << env.status().ToString();
  EXPECT_EQ(*env, (EnvVars{{"foo", "bar"}, {"num", "42"}, {"flag", "true"}}));
}

TEST(EnvJsonTest, EmptyFileAndNullAreEmpty) {
  for (const char* text : {"", "   \n", "null", "{}", "# only a comment\n"}) {
    StatusOr<EnvVars> env = ParseEnvJson(text, "/e.json");
    ASSERT_TRUE(env.ok()) << text << ": " << env.status().ToString();
    EXPECT_TRUE(env->empty()) << text;
  }
}

TEST(EnvJsonTest, DuplicateKeyKeepsPositionTakesLastValue) {
  StatusOr<EnvVars> env = ParseEnvJson("{\"A\": \"1\", \"B\": \"2\", \"A\": \"3\"}", "/e.json");
  ASSERT_TRUE(env.ok());
  EXPECT_EQ(*env, (EnvVars{{"A", "3"}, {"B", "2"}}));
}

TEST(EnvJsonTest, NestedValueNamesFileLineAndKey) {
  StatusOr<EnvVars> env = ParseEnvJson("{\n  \"A\": \"1\",\n  \"B\": [1, 2]\n}\n", "/x/env.json");
  ASSERT_FALSE(env.ok());
  EXPECT_TRUE(env.status().IsInvalidArgument());
  EXPECT_EQ(env.status().message(),
            "/x/env.json:3: B: expected a string, number or boolean, found a list");
}

TEST(EnvJsonTest, MissingFileIsIOError) {
  StatusOr<EnvVars> env = LoadEnvJson("/nonexistent/env.json");
  ASSERT_FALSE(env.ok());
  EXPECT_EQ(env.status().code(), Status::Code::kIOError);
}

}  // namespace
}  // namespace robotni::config
