// Ctrl-C and SIGTERM on `robotni run` (issue #11): KeyboardInterrupt in the task, so its
// `finally:` blocks and teardowns run; its held work item goes back to the queue with its
// attempt unspent (on each store backend); exit 130 / 143; a second signal stops at once.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;

const char kTasks[] = R"(import time
from robocorp import workitems
from robocorp.tasks import task, teardown

@teardown
def after(t):
    print("teardown ran", flush=True)

@task
def produce():
    for i in range(3):
        workitems.outputs.create({"n": i})

@task
def consume():
    try:
        for item in workitems.inputs:
            print("holding", item.payload["n"], flush=True)
            end = time.time() + 60
            while time.time() < end:
                time.sleep(0.02)
            workitems.outputs.create({"done": item.payload["n"]})
    finally:
        print("finally ran", flush=True)
)";

const char kRobot[] = R"(tasks:
  Produce:
    shell: python -m robocorp.tasks run tasks.py -t produce
  Consume:
    shell: python -m robocorp.tasks run tasks.py -t consume
artifactsDir: output
)";

class RunInterruptTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ok()) << store_.error();
    WriteFile(dir_ / "tasks.py", kTasks);
    WriteFile(dir_ / "robot.yaml", kRobot);
  }
  // Runs Produce then Consume, sends `sig` while Consume holds its first item, and checks
  // the run and the store.
  void InterruptWith(int sig) {
    Process p({"run", "-r", (dir_ / "robot.yaml").string(), "-t", "Produce", "-t", "Consume",
               "--store", store_.url()},
              {.cwd = dir_.path(), .timeout_seconds = 60});
    ASSERT_TRUE(p.WaitForOutput("holding 0", 30)) << p.output();
    p.Kill(sig);
    RunResult r = p.Wait();
    EXPECT_EQ(r.exit_code, 128 + sig) << r;
    EXPECT_THAT(r.out, HasSubstr("finally ran")) << r;
    EXPECT_THAT(r.out, HasSubstr("teardown ran")) << r;
    EXPECT_THAT(r.all(), HasSubstr("KeyboardInterrupt")) << r;
    EXPECT_THAT(r.err, HasSubstr("was interrupted")) << r;
    int64_t unspent = 0, outputs = 0;
    for (const auto& it : AllItems(store_.url())) {
      unspent += it.queue == "consume" && it.state == store::State::kPending && it.attempt == 0;
      outputs += it.queue == "consume_output";
    }
    EXPECT_EQ(unspent, 3) << "the held item did not go back unspent";
    EXPECT_EQ(outputs, 0);
  }

  TempDir dir_;
  TestStore store_{GetParam(), dir_.path()};
};

ROBOTNI_STORE_BACKENDS(RunInterruptTest);

TEST_P(RunInterruptTest, SigintReachesTheTaskAndItsItemGoesBackUnspent) { InterruptWith(SIGINT); }

TEST_P(RunInterruptTest, SigtermReachesTheTaskAndItsItemGoesBackUnspent) { InterruptWith(SIGTERM); }

TEST(RunInterrupt, ASecondSignalStopsAtOnce) {
  TempDir dir;
  WriteFile(dir / "robot.yaml",
            "tasks:\n  Stuck:\n    shell: python -c \"import time; time.sleep(60)\"\n"
            "artifactsDir: output\n");
  Process p({"run", "-r", (dir / "robot.yaml").string()},
            {.cwd = dir.path(), .timeout_seconds = 60});
  ASSERT_TRUE(p.WaitForOutput("running task", 30)) << p.output();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  p.Kill(SIGINT);  // the task sleeps in C: KeyboardInterrupt waits for its next bytecode
  ASSERT_TRUE(p.WaitForOutput("interrupting the task", 10)) << p.output();
  p.Kill(SIGINT);
  RunResult r = p.Wait();
  EXPECT_EQ(r.exit_code, 130) << r;
  EXPECT_THAT(r.err, HasSubstr("stopping now")) << r;
}

}  // namespace
}  // namespace robotni::testing
