// WorkerProcess::RunBatch against a real worker process (the robotni binary): jobs sent in one
// message run in order, each reported as it ends; a death is blamed on the job it happened in
// and the jobs after it never start; the hard timeout counts from each job's own start.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "worker/worker_process.h"

extern char** environ;

namespace robotni::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
namespace fs = std::filesystem;

constexpr const char* kJobs = R"(
import os
import time
from robotni import job

@job("echo")
def echo(n, sleep=0):
    time.sleep(sleep)
    print(f"echo {n}")
    return n

@job("exit3")
def exit3():
    print("about to exit")
    os._exit(3)

@job("stuck")
def stuck():
    time.sleep(30)  # in C: a soft timeout cannot land until it returns
)";

// Records what the worker reported for one job.
class RecordingJob : public python::JobBackend {
 public:
  explicit RecordingJob(store::Item item) : item_(std::move(item)) {}
  const store::Item& item() const override { return item_; }
  Status Heartbeat(double) override { return Status::OK(); }
  StatusOr<bool> IsCancelled() override { return false; }
  Status Progress(const std::string&) override { return Status::OK(); }
  void SetResult(std::string result_json) override { result = std::move(result_json); }
  void SetFailure(store::ExceptionType, std::string code, std::string message,
                  std::string) override {
    failure = code + ": " + message;
  }
  std::string result, failure;

 private:
  store::Item item_;
};

class WorkerBatchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/robotni-worker-batch-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    std::ofstream(dir_ / "jobs.py") << kJobs;
    WorkerSpec spec;
    spec.executable = ROBOTNI_BINARY;
    spec.config.robot_key = spec.config.robot_root = dir_.string();
    spec.config.job_modules = {"jobs.py"};
    spec.config.kind = python::Interpreter::Kind::kMain;
    spec.generation = 1;
    auto w = WorkerProcess::Start(spec);
    ASSERT_TRUE(w.ok()) << w.status().message();
    worker_ = std::move(w).value();
  }
  void TearDown() override {
    worker_.reset();
    fs::remove_all(dir_);
  }

  // Adds a job of `type` with `payload` under `limits`.
  void Add(const std::string& type, const std::string& payload, RunLimits limits = {}) {
    store::Item item;
    item.id = std::to_string(items_.size() + 1);
    item.queue = type;
    item.payload_json = payload;
    item.attempt = 1;
    item.max_attempts = 3;
    items_.push_back(item);
    limits_.push_back(limits);
  }
  // Runs every added job as one batch; fills started_, runs_ and jobs_.
  size_t RunAll() {
    for (const auto& item : items_) jobs_.push_back(std::make_unique<RecordingJob>(item));
    std::vector<WorkerProcess::BatchJob> batch;
    for (size_t i = 0; i < items_.size(); ++i)
      batch.push_back({&items_[i], limits_[i], jobs_[i].get()});
    return worker_->RunBatch(
        batch, [&](size_t k) { started_.push_back(k); },
        [&](size_t k, WorkerRun run) {
          done_.push_back(k);
          runs_.push_back(std::move(run));
        });
  }

  fs::path dir_;
  std::unique_ptr<WorkerProcess> worker_;
  std::vector<store::Item> items_;
  std::vector<RunLimits> limits_;
  std::vector<std::unique_ptr<RecordingJob>> jobs_;
  std::vector<size_t> started_, done_;
  std::vector<WorkerRun> runs_;
};

TEST_F(WorkerBatchTest, JobsSentTogetherRunInOrderAndEachIsReported) {
  for (int n = 0; n < 5; ++n) Add("echo", "{\"n\": " + std::to_string(n) + "}");
  EXPECT_EQ(RunAll(), 5u);
  EXPECT_THAT(started_, ElementsAre(0, 1, 2, 3, 4));
  EXPECT_THAT(done_, ElementsAre(0, 1, 2, 3, 4));
  for (int n = 0; n < 5; ++n) {
    EXPECT_EQ(jobs_[n]->result, std::to_string(n));
    EXPECT_FALSE(runs_[n].died);
    EXPECT_EQ(runs_[n].log, "echo " + std::to_string(n) + "\n") << "each job keeps its own output";
  }
  EXPECT_EQ(worker_->jobs_run(), 5);
  EXPECT_TRUE(worker_->alive());
}

TEST_F(WorkerBatchTest, ADeathIsBlamedOnItsJobAndTheJobsAfterItNeverStart) {
  Add("echo", R"({"n": 0})");
  Add("echo", R"({"n": 1})");
  Add("exit3", "{}");
  Add("echo", R"({"n": 3})");
  EXPECT_EQ(RunAll(), 3u);
  EXPECT_THAT(started_, ElementsAre(0, 1, 2));
  ASSERT_THAT(done_, ElementsAre(0, 1, 2));
  EXPECT_EQ(jobs_[0]->result, "0");
  EXPECT_EQ(jobs_[1]->result, "1");
  EXPECT_FALSE(runs_[1].died);
  EXPECT_TRUE(runs_[2].died);
  EXPECT_EQ(runs_[2].error_code, "WORKER_DIED");
  EXPECT_THAT(runs_[2].cause, HasSubstr("exit code 3"));
  EXPECT_EQ(runs_[2].log, "about to exit\n") << "what it printed before it died";
  EXPECT_EQ(jobs_[3]->result, "");
  EXPECT_FALSE(worker_->alive());
}

TEST_F(WorkerBatchTest, TheHardTimeoutCountsFromEachJobsOwnStart) {
  RunLimits none;
  RunLimits short_limit;
  short_limit.timeout = 0.3;
  short_limit.kill_grace = 0.3;
  // 0.8 s before the second job starts: past its timeout and grace, were they counted from
  // the batch's start.
  Add("echo", R"({"n": 0, "sleep": 0.8})", none);
  Add("echo", R"({"n": 1})", short_limit);
  Add("stuck", "{}", short_limit);
  Add("echo", R"({"n": 3})", short_limit);
  EXPECT_EQ(RunAll(), 3u);
  ASSERT_THAT(done_, ElementsAre(0, 1, 2));
  EXPECT_EQ(jobs_[0]->result, "0");
  EXPECT_EQ(jobs_[1]->result, "1") << runs_[1].cause;
  EXPECT_TRUE(runs_[2].died);
  EXPECT_EQ(runs_[2].error_code, "TIMEOUT");
  EXPECT_THAT(runs_[2].cause, HasSubstr("timeout after 0.3 s, killed"));
  EXPECT_EQ(jobs_[3]->result, "");
}

// A worker executable of another robotni build (its hello names no protocol version: 1) is
// refused at its start, naming both versions, instead of misreading runs later.
TEST_F(WorkerBatchTest, AWorkerOfAnotherProtocolIsRefusedAtItsStart) {
  fs::path old_worker = dir_ / "old-worker";
  std::ofstream(old_worker) << R"(#!/usr/bin/python3.11
import json, os, struct
fd = 3
n = struct.unpack("<I", os.read(fd, 4))[0]
init = b""
while len(init) < n:
    init += os.read(fd, n - len(init))
hello = json.dumps({"t": "hello", "pid": os.getpid(), "types": []}).encode()
os.write(fd, struct.pack("<I", len(hello)) + hello)
os.read(fd, 1)  # until the control process closes the stream
)";
  fs::permissions(old_worker, fs::perms::owner_all);
  WorkerSpec spec;
  spec.executable = old_worker.string();
  spec.config.robot_key = spec.config.robot_root = dir_.string();
  auto w = WorkerProcess::Start(spec);
  ASSERT_FALSE(w.ok());
  EXPECT_THAT(w.status().message(), HasSubstr("speaks worker protocol 1, this robotni " +
                                              std::to_string(kWorkerProtocol)));
}

// And the other way: a control process of another build (its init names no protocol) gets a
// hello that says why this worker will not serve it, and the worker leaves.
TEST_F(WorkerBatchTest, AControlProcessOfAnotherProtocolIsToldAtInit) {
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 3);
  std::string exe = ROBOTNI_BINARY;
  std::vector<char*> argv = {exe.data(), const_cast<char*>("worker"), const_cast<char*>("--fd"),
                             const_cast<char*>("3"), nullptr};
  pid_t pid = -1;
  ASSERT_EQ(posix_spawn(&pid, exe.c_str(), &actions, nullptr, argv.data(), environ), 0);
  posix_spawn_file_actions_destroy(&actions);
  close(sv[1]);
  ASSERT_TRUE(WriteFrame(sv[0], {{"t", "init"}, {"config", nlohmann::json::object()}}).ok());
  FrameReader reader;
  nlohmann::json hello;
  ASSERT_TRUE(ReadFrame(sv[0], &reader, &hello, std::chrono::milliseconds(30000)).ok());
  EXPECT_EQ(hello["t"], "hello");
  EXPECT_THAT(hello.value("error", ""),
              HasSubstr("speaks worker protocol " + std::to_string(kWorkerProtocol) +
                        ", its control process 1"));
  close(sv[0]);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 3) << status;
}

}  // namespace
}  // namespace robotni::worker
