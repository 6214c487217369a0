#include "exec/task_env.h"

#include <gtest/gtest.h>

#include "exec/work_item_queues.h"

namespace robotni::exec {
namespace {

config::RobotYaml Robot() {
  config::RobotYaml r;
  r.root = "/robots/orders";
  r.artifacts_dir = "output";
  r.path_entries = {".", "bin"};
  r.pythonpath = {".", "/opt/libs"};
  config::Task p, c, rep;
  p.name = "Producer";
  c.name = "Consumer";
  rep.name = "Reporter";
  r.tasks = {p, c, rep};
  return r;
}

TEST(EnvBuilderTest, BuildsAsRccDoes) {
  EnvBuilder b({{"PATH", "/usr/bin"}, {"VIRTUAL_ENV", "/venv"}, {"HOME", "/root"}, {"X", "host"}});
  b.SetAll({{"X", "from-env-json"}, {"Y", "1"}});
  b.ApplyRobot(Robot());
  EXPECT_EQ(b.Get("VIRTUAL_ENV"), nullptr);
  EXPECT_EQ(*b.Get("X"), "from-env-json");
  EXPECT_EQ(*b.Get("HOME"), "/root");
  EXPECT_EQ(*b.Get("PATH"), "/robots/orders:/robots/orders/bin:/usr/bin");
  EXPECT_EQ(*b.Get("PYTHONPATH"), "/robots/orders:/opt/libs");
  EXPECT_EQ(*b.Get("ROBOT_ROOT"), "/robots/orders");
  EXPECT_EQ(*b.Get("ROBOT_ARTIFACTS"), "/robots/orders/output");
  EXPECT_EQ(*b.Get("PYTHONDONTWRITEBYTECODE"), "x");
}

TEST(WorkItemQueuesTest, StepsLinkInRobotYamlOrder) {
  auto robot = Robot();
  EnvBuilder env({});
  auto p = DefaultQueues(robot, robot.tasks[0], env);
  EXPECT_EQ(p.input, "producer");
  EXPECT_EQ(p.output, "consumer");
  auto c = DefaultQueues(robot, robot.tasks[1], env);
  EXPECT_EQ(c.input, "consumer");
  EXPECT_EQ(c.output, "reporter");
  auto r = DefaultQueues(robot, robot.tasks[2], env);
  EXPECT_EQ(r.output, "reporter_output");
}

TEST(WorkItemQueuesTest, EnvironmentOverrides) {
  auto robot = Robot();
  EnvBuilder env(Environment{{"RC_WORKITEM_QUEUE_NAME", "orders"}});
  auto q = DefaultQueues(robot, robot.tasks[0], env);
  EXPECT_EQ(q.input, "orders");
  EXPECT_EQ(q.output, "orders_output");
  env.Set("RC_WORKITEM_OUTPUT_QUEUE_NAME", "priced");
  EXPECT_EQ(DefaultQueues(robot, robot.tasks[0], env).output, "priced");
}

TEST(WorkItemQueuesTest, StoreLocation) {
  auto robot = Robot();
  EnvBuilder env({});
  EXPECT_EQ(DefaultStoreUrl(robot, env, ""), "/robots/orders/.robotni/workitems.db");
  EXPECT_EQ(DefaultStoreUrl(robot, env, "sqlite:///tmp/x.db"), "sqlite:///tmp/x.db");
  env.Set("RC_WORKITEM_DB_PATH", "data/wi.db");
  EXPECT_EQ(DefaultStoreUrl(robot, env, ""), "/robots/orders/data/wi.db");
}

}  // namespace
}  // namespace robotni::exec
