#include "python/interpreter_pool.h"

#include <gtest/gtest.h>

#include <thread>

#include "tests/unit/python/test_util.h"

namespace robotni::python {
namespace {

const std::string kRobots = ROBOTNI_SOURCE_DIR "/tests/fixtures/robots/";

std::string RunHelpers(InterpreterPool& pool, const std::string& robot) {
  auto lease = pool.Acquire(robot, Interpreter::Kind::kSubinterpreter);
  EXPECT_TRUE(lease.ok()) << lease.status().ToString();
  RecordingContext ctx;
  TaskSpec spec = CodeTask("import helpers\nprint(helpers.NAME)");
  spec.path_prepend = {kRobots + robot};
  (*lease)->Run(spec, &ctx);
  return ctx.out();
}

TEST(InterpreterPoolTest, ReusesTheRobotsWarmInterpreter) {
  InterpreterPool pool;
  auto a = pool.Acquire("helpers_a", Interpreter::Kind::kSubinterpreter);
  ASSERT_TRUE(a.ok());
  RecordingContext ctx;
  (*a)->Run(CodeTask("import json; json.WARM = 'yes'"), &ctx);
  a->Release();
  auto again = pool.Acquire("helpers_a", Interpreter::Kind::kSubinterpreter);
  ASSERT_TRUE(again.ok());
  RecordingContext ctx2;
  (*again)->Run(CodeTask("import json; print(getattr(json, 'WARM', 'cold'))"), &ctx2);
  EXPECT_EQ(ctx2.out(), "yes\n");
  EXPECT_EQ(pool.size(), 1);
}

TEST(InterpreterPoolTest, RobotsGetSeparateInterpreters) {
  InterpreterPool pool;
  std::string a, b;
  std::thread ta([&] {
    for (int i = 0; i < 10; ++i) a += RunHelpers(pool, "helpers_a");
  });
  std::thread tb([&] {
    for (int i = 0; i < 10; ++i) b += RunHelpers(pool, "helpers_b");
  });
  ta.join();
  tb.join();
  std::string want_a, want_b;
  for (int i = 0; i < 10; ++i) {
    want_a += "helpers of robot A\n";
    want_b += "helpers of robot B\n";
  }
  EXPECT_EQ(a, want_a);
  EXPECT_EQ(b, want_b);
  EXPECT_LE(pool.size(), 4);
}

TEST(InterpreterPoolTest, EvictsLeastRecentlyUsedAtTheLimit) {
  InterpreterPool pool(InterpreterPool::Options{1, 1});
  EXPECT_EQ(RunHelpers(pool, "helpers_a"), "helpers of robot A\n");
  EXPECT_EQ(RunHelpers(pool, "helpers_b"), "helpers of robot B\n");
  EXPECT_EQ(pool.size(), 1);
  EXPECT_EQ(RunHelpers(pool, "helpers_a"), "helpers of robot A\n");
}

}  // namespace
}  // namespace robotni::python
