// Tests for the JSON depth check (core/json_limits.h).

#include "core/json_limits.h"

#include <gtest/gtest.h>

#include <string>

#include <nlohmann/json.hpp>

namespace robotni {
namespace {

std::string Arrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

TEST(JsonLimitsTest, DepthUpToTheLimitPasses) {
  EXPECT_EQ(JsonDepthProblem("1"), "");
  EXPECT_EQ(JsonDepthProblem(R"({"a": [1, {"b": null}]})"), "");
  EXPECT_EQ(JsonDepthProblem(Arrays(kMaxJsonDepth)), "");
  EXPECT_FALSE(JsonNestedTooDeep(Arrays(kMaxJsonDepth)));
  EXPECT_EQ(JsonDepthProblem(Arrays(3), 3), "");
}

TEST(JsonLimitsTest, DeeperIsRefusedNamingTheLimit) {
  EXPECT_EQ(JsonDepthProblem(Arrays(kMaxJsonDepth + 1)),
            "is nested deeper than 128 levels (the limit)");
  EXPECT_EQ(JsonDepthProblem(Arrays(4), 3), "is nested deeper than 3 levels (the limit)");
  // Objects count as arrays do.
  std::string objects;
  for (int i = 0; i < 200; ++i) objects += "{\"k\":";
  objects += "1" + std::string(200, '}');
  EXPECT_TRUE(JsonNestedTooDeep(objects));
}

// The attack of issue 12: 70,000 levels (~140 KB). The check stops at level 129 and never
// recurses; unfinished text that is already too deep is reported as too deep.
TEST(JsonLimitsTest, SeventyThousandLevelsAreRefusedWithoutRecursion) {
  EXPECT_TRUE(JsonNestedTooDeep(Arrays(70000)));
  EXPECT_TRUE(JsonNestedTooDeep(std::string(70000, '[')));
  EXPECT_EQ(JsonDepthProblem(std::string(70000, '[')),
            "is nested deeper than 128 levels (the limit)");
}

TEST(JsonLimitsTest, InvalidJsonIsNotValid) {
  for (const char* bad : {"", "{", "[1,", "nope", "{'a':1}", "1 2"}) {
    EXPECT_EQ(JsonDepthProblem(bad), "is not valid JSON") << bad;
    EXPECT_FALSE(JsonNestedTooDeep(bad)) << bad;
  }
}

// The one-pass parse keeps the check's answers and gives the value nlohmann's parse gives.
TEST(JsonLimitsTest, ParseWithinParsesWhatFitsAndRefusesTheRest) {
  nlohmann::json v;
  bool too_deep = true;
  ASSERT_TRUE(
      ParseJsonWithin(R"({"a": [1, {"b": null}], "c": "d", "e": 1.5, "f": -2})", &v, &too_deep));
  EXPECT_FALSE(too_deep);
  EXPECT_EQ(v, nlohmann::json::parse(R"({"a": [1, {"b": null}], "c": "d", "e": 1.5, "f": -2})"));
  ASSERT_TRUE(ParseJsonWithin(Arrays(kMaxJsonDepth), &v));
  EXPECT_EQ(v.dump(), Arrays(kMaxJsonDepth));
  for (const std::string& deep : {Arrays(kMaxJsonDepth + 1), std::string(70000, '[')}) {
    EXPECT_FALSE(ParseJsonWithin(deep, &v, &too_deep));
    EXPECT_TRUE(too_deep);
    EXPECT_TRUE(v.is_discarded());
  }
  for (const char* bad : {"", "{", "[1,", "nope", "{'a':1}", "1 2"}) {
    EXPECT_FALSE(ParseJsonWithin(bad, &v, &too_deep)) << bad;
    EXPECT_FALSE(too_deep) << bad;
    EXPECT_TRUE(v.is_discarded()) << bad;
  }
}

}  // namespace
}  // namespace robotni
