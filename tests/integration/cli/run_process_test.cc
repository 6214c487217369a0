// `robotni run --isolation process` (issue #11): the task runs in a worker process; its
// output and work items come through the control process, and a crash costs only the task.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;

const char kTasks[] = R"(import ctypes, os, time
from robocorp import workitems
from robocorp.tasks import task

@task
def produce():
    for i in range(20):
        path = f"data{i}.bin"
        with open(path, "wb") as f:
            f.write(bytes([i, 0, 255]))
        workitems.outputs.create({"n": i}, files=[path])
    print("produced in", os.getpid(), flush=True)

@task
def consume():
    for item in workitems.inputs:
        n = item.payload["n"]
        data = item.get_file(f"data{n}.bin").read_bytes()
        assert data == bytes([n, 0, 255]), data
        workitems.outputs.create({"double": item.payload["n"] * 2})

@task
def crash():
    for item in workitems.inputs:
        ctypes.string_at(0)

@task
def spin():
    try:
        while True:  # in Python: the soft timeout raises here
            pass
    finally:
        print("spin finally ran", flush=True)

@task
def stuck():
    time.sleep(3600)  # in C: only the kill after the grace ends it

@task
def hog():
    held = []
    while True:
        held.append(bytearray(20 << 20))
        time.sleep(0.02)

@task
def flood():
    for _ in range(2000):
        print("z" * 99, flush=True)

@task
def hold():
    for item in workitems.inputs:
        try:
            print("holding", item.payload["n"], flush=True)
            while True:
                time.sleep(0.02)
        finally:
            print("finally ran", flush=True)
)";

const char kRobot[] = R"(tasks:
  Produce:
    shell: python -m robocorp.tasks run tasks.py -t produce
  Consume:
    shell: python -m robocorp.tasks run tasks.py -t consume
  Crash:
    shell: python -m robocorp.tasks run tasks.py -t crash
  Hold:
    shell: python -m robocorp.tasks run tasks.py -t hold
  Spin:
    shell: python -m robocorp.tasks run tasks.py -t spin
    limits: {timeout: 1, kill_grace: 30}
  Stuck:
    shell: python -m robocorp.tasks run tasks.py -t stuck
    limits: {timeout: 1s, kill_grace: 500ms}
  Hog:
    shell: python -m robocorp.tasks run tasks.py -t hog
    limits: {memory_limit: 150MiB}
  Flood:
    shell: python -m robocorp.tasks run tasks.py -t flood
    limits: {max_output: 10KiB}
artifactsDir: output
isolation: process
)";

class RunProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir_ / "tasks.py", kTasks);
    WriteFile(dir_ / "robot.yaml", kRobot);
  }
  RunResult Run(std::vector<std::string> tasks) {
    std::vector<std::string> args = {"run", "-r", (dir_ / "robot.yaml").string()};
    for (auto& t : tasks) args.insert(args.end(), {"-t", t});
    return RunRobotni(args, {.cwd = dir_.path(), .timeout_seconds = 120});
  }
  TempDir dir_;
};

TEST_F(RunProcessTest, ATaskRunsInAWorkerWithItsOutputAndWorkItems) {
  RunResult r = Run({"Produce", "Consume"});
  ASSERT_EQ(r.exit_code, 0) << r;
  EXPECT_THAT(r.out, HasSubstr("produced in")) << r;
  Db db(dir_ / ".robotni" / "workitems.db");
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consume' AND state='DONE'"), 20);
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='crash'"), 20);
  EXPECT_EQ(db.Int("SELECT sum(json_extract(payload, '$.double')) FROM items WHERE "
                   "queue='crash'"),
            380);
}

TEST_F(RunProcessTest, ASegfaultFailsTheTaskNotRobotni) {
  RunResult r = Run({"Produce", "Crash"});
  EXPECT_EQ(r.exit_code, 10) << r;  // the task failed; robotni itself did not die
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_THAT(r.err, HasSubstr("signal 11 (SIGSEGV)")) << r;
}

TEST_F(RunProcessTest, CtrlCReachesTheTaskInItsWorker) {
  Process p({"run", "-r", (dir_ / "robot.yaml").string(), "-t", "Produce", "-t", "Hold"},
            {.cwd = dir_.path(), .timeout_seconds = 60});
  ASSERT_TRUE(p.WaitForOutput("holding 0", 60)) << p.output();
  p.Kill(SIGINT);
  RunResult r = p.Wait();
  EXPECT_EQ(r.exit_code, 130) << r;
  EXPECT_THAT(r.out, HasSubstr("finally ran")) << r;
  Db db(dir_ / ".robotni" / "workitems.db");
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE queue='consume' AND state='PENDING' "
                   "AND attempt=0"),
            20);
}

// robot.yaml limits (issue #11 point 3): past its timeout the task gets the exception in
// Python first (its finally: runs); one stuck in C is killed after its kill grace; one
// over its memory limit is killed with the cause.
TEST_F(RunProcessTest, RobotYamlLimitsStopATaskAndNameTheCause) {
  RunResult spin = Run({"Spin"});
  EXPECT_EQ(spin.exit_code, 10) << spin;
  EXPECT_THAT(spin.out + spin.err, HasSubstr("spin finally ran")) << spin;
  EXPECT_THAT(spin.err, HasSubstr("task 'Spin' timed out after 1 s")) << spin;
  EXPECT_THAT(spin.err, ::testing::Not(HasSubstr("killed"))) << spin;

  RunResult stuck = Run({"Stuck"});
  EXPECT_EQ(stuck.exit_code, 10) << stuck;
  EXPECT_THAT(stuck.err, HasSubstr("timeout after 1 s, killed")) << stuck;

  RunResult hog = Run({"Hog"});
  EXPECT_EQ(hog.exit_code, 10) << hog;
  EXPECT_THAT(hog.err, HasSubstr("memory limit 150 MiB exceeded")) << hog;
}

// robot.yaml `max_output`: the task's stdout.log keeps that much, then a note.
TEST_F(RunProcessTest, RobotYamlMaxOutputTruncatesTheLogWithANote) {
  RunResult r = Run({"Flood"});
  ASSERT_EQ(r.exit_code, 0) << r;
  std::string log = ReadFile(dir_ / "output" / "stdout.log");
  EXPECT_GT(log.size(), 10240u);
  EXPECT_LT(log.size(), 10240u + 200);
  EXPECT_THAT(log, HasSubstr("[robotni: output truncated at max_output 10240 bytes"));
}

}  // namespace
}  // namespace robotni::testing
