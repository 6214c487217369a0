// Two robots whose helpers.py differ, in one process: each sees its own module.
#include <gtest/gtest.h>

#include <thread>

#include "python/interpreter.h"
#include "tests/unit/python/test_util.h"

namespace robotni::python {
namespace {

TaskSpec HelpersTask(const std::string& robot_dir) {
  TaskSpec spec = CodeTask("import helpers, time\ntime.sleep(0.01)\nprint(helpers.NAME)");
  spec.path_prepend = {robot_dir};
  return spec;
}

const std::string kRobots = ROBOTNI_SOURCE_DIR "/tests/fixtures/robots/";

TEST(IsolationTest, RobotsSeeTheirOwnHelpersOneAfterTheOther) {
  auto a = Interpreter::Create(Interpreter::Kind::kSubinterpreter);
  auto b = Interpreter::Create(Interpreter::Kind::kSubinterpreter);
  ASSERT_TRUE(a.ok() && b.ok());
  for (int round = 0; round < 3; ++round) {
    RecordingContext ca, cb;
    ASSERT_EQ((*a)->Run(HelpersTask(kRobots + "helpers_a"), &ca).exit_code, 0) << ca.err();
    ASSERT_EQ((*b)->Run(HelpersTask(kRobots + "helpers_b"), &cb).exit_code, 0) << cb.err();
    EXPECT_EQ(ca.out(), "helpers of robot A\n");
    EXPECT_EQ(cb.out(), "helpers of robot B\n");
  }
}

TEST(IsolationTest, RobotsSeeTheirOwnHelpersAtTheSameTime) {
  auto a = Interpreter::Create(Interpreter::Kind::kSubinterpreter);
  auto b = Interpreter::Create(Interpreter::Kind::kSubinterpreter);
  ASSERT_TRUE(a.ok() && b.ok());
  std::string out_a, out_b;
  std::thread ta([&] {
    for (int i = 0; i < 20; ++i) {
      RecordingContext c;
      (*a)->Run(HelpersTask(kRobots + "helpers_a"), &c);
      out_a += c.out();
    }
  });
  std::thread tb([&] {
    for (int i = 0; i < 20; ++i) {
      RecordingContext c;
      (*b)->Run(HelpersTask(kRobots + "helpers_b"), &c);
      out_b += c.out();
    }
  });
  ta.join();
  tb.join();
  std::string want_a, want_b;
  for (int i = 0; i < 20; ++i) {
    want_a += "helpers of robot A\n";
    want_b += "helpers of robot B\n";
  }
  EXPECT_EQ(out_a, want_a);
  EXPECT_EQ(out_b, want_b);
}

TEST(IsolationTest, ModulesAreSeparatePerInterpreter) {
  auto a = Interpreter::Create(Interpreter::Kind::kSubinterpreter);
  auto b = Interpreter::Create(Interpreter::Kind::kSubinterpreter);
  ASSERT_TRUE(a.ok() && b.ok());
  RecordingContext ca, cb;
  (*a)->Run(CodeTask("import json; json.MARK = 'a'; print(id(json.MARK) != 0)"), &ca);
  (*b)->Run(CodeTask("import json; print(getattr(json, 'MARK', 'unset'))"), &cb);
  EXPECT_EQ(cb.out(), "unset\n");
}

}  // namespace
}  // namespace robotni::python
