// The dispatcher runs registered job types over a real store and warm interpreters.
#include "exec/dispatcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

namespace robotni::exec {
namespace {

namespace fs = std::filesystem;

class DispatcherTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("disp-" + std::to_string(getpid()));
    fs::remove_all(dir_);
    store::StoreOptions o;
    o.url = (dir_ / "workitems.db").string();
    o.retry.base_delay_ms = 1;  // retries due at once
    o.retry.jitter = 0;
    store_ = std::move(store::WorkItemStore::Open(o).value());
    DispatcherOptions d;
    d.python.robot_key = "jobs";
    d.python.robot_root = ROBOTNI_SOURCE_DIR "/tests/fixtures/robots/jobs";
    d.python.job_modules = {"jobs.py"};
    d.concurrency = 2;
    d.owner = "dispatcher-test";
    d.poll_ms = 20;
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), &pool_, d);
    options_ = d;
  }
  // A dispatcher of only unlimited types (add, nap): nothing limits how many it may reserve.
  void ServeUnlimited(int concurrency) {
    dispatcher_.reset();
    DispatcherOptions d = options_;
    d.type_filters = {"add", "nap"};
    d.concurrency = concurrency;
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), &pool_, d);
  }
  void TearDown() override {
    dispatcher_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }
  std::string Submit(const std::string& type, const std::string& payload, int max_attempts = 3) {
    store::NewItem n;
    n.queue = type;
    n.payload_json = payload;
    n.max_attempts = max_attempts;
    auto id = store_->Create(n);
    EXPECT_TRUE(id.ok());
    dispatcher_->Wake();
    return *id;
  }
  store::Item WaitFinished(const std::string& id) {
    for (int i = 0; i < 500; ++i) {
      auto it = store_->Get(id);
      if (it->state == store::State::kDone || it->state == store::State::kFailed) return *it;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return *store_->Get(id);
  }

  fs::path dir_;
  std::unique_ptr<store::WorkItemStore> store_;
  python::InterpreterPool pool_;
  std::unique_ptr<Dispatcher> dispatcher_;
  DispatcherOptions options_;
};

TEST_F(DispatcherTest, LoadsJobTypesWithSchemasAndLimits) {
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  auto add = dispatcher_->FindType("add");
  ASSERT_NE(add, nullptr);
  EXPECT_EQ(add->schema["required"], nlohmann::json({"x", "y"}));
  EXPECT_EQ(add->doc, "Adds two numbers.");
  auto slow = dispatcher_->FindType("slow");
  ASSERT_NE(slow, nullptr);
  EXPECT_EQ(slow->concurrency, 1);
  EXPECT_EQ(slow->limits.timeout, 0.5);
  EXPECT_EQ(dispatcher_->types().size(), 5u);
}

TEST_F(DispatcherTest, RunsJobsAndRecordsResultsAndFailures) {
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  dispatcher_->Start();
  std::vector<std::string> adds;
  for (int i = 0; i < 20; ++i)
    adds.push_back(Submit("add", "{\"x\": " + std::to_string(i) + ", \"y\": 1}"));
  std::string reject = Submit("reject", "{}");
  std::string flaky = Submit("flaky", "{}", 2);
  for (int i = 0; i < 20; ++i) {
    auto it = WaitFinished(adds[i]);
    EXPECT_EQ(it.state, store::State::kDone);
    EXPECT_EQ(it.result_json, std::to_string(i + 1));
  }
  auto r = WaitFinished(reject);
  EXPECT_EQ(r.state, store::State::kFailed);
  EXPECT_EQ(r.exception_type, store::ExceptionType::kBusiness);
  EXPECT_EQ(r.error_code, "BAD_ORDER");
  EXPECT_EQ(r.attempt, 1);  // business failures are not retried
  auto f = WaitFinished(flaky);
  EXPECT_EQ(f.state, store::State::kFailed);
  EXPECT_EQ(f.exception_type, store::ExceptionType::kApplication);
  EXPECT_EQ(f.attempt, 2);  // retried once, then out of attempts
  EXPECT_NE(f.error_message.find("attempt 2 failed"), std::string::npos);
  EXPECT_NE(f.traceback.find("RuntimeError"), std::string::npos);
}

// An outcome the store refuses (here a result that is not JSON: Python writes inf as
// Infinity) fails the job on that attempt, in-process as in a worker, instead of leaving its
// lease to expire and the job to run again.
TEST_F(DispatcherTest, OutcomeTheStoreRefusesFailsTheJobAtOnce) {
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  dispatcher_->Start();
  std::string id = Submit("add", "{\"x\": 1e308, \"y\": 1e308}", 3);
  auto it = WaitFinished(id);
  EXPECT_EQ(it.state, store::State::kFailed);
  EXPECT_EQ(it.attempt, 1);
  EXPECT_EQ(it.error_code, "OUTCOME_REFUSED");
  EXPECT_EQ(it.error_message, "the job's outcome was refused: result is not valid JSON");
  EXPECT_EQ(WaitFinished(Submit("add", "{\"x\": 1, \"y\": 1}")).state, store::State::kDone);
}

TEST_F(DispatcherTest, TimeoutFailsTheJobAndTheRunnerCarriesOn) {
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  dispatcher_->Start();
  std::string slow = Submit("slow", "{\"seconds\": 5}", 1);
  std::string add = Submit("add", "{\"x\": 1, \"y\": 1}");
  auto s = WaitFinished(slow);
  EXPECT_EQ(s.state, store::State::kFailed);
  EXPECT_EQ(s.error_code, "TIMEOUT");
  EXPECT_EQ(WaitFinished(add).state, store::State::kDone);
}

TEST_F(DispatcherTest, DrainGivesRunningJobsBackAfterGrace) {
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  dispatcher_->Start();
  std::string slow = Submit("slow", "{\"seconds\": 0.4}", 3);
  for (int i = 0; i < 100 && dispatcher_->counters().busy == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  int given_back = dispatcher_->Drain(std::chrono::milliseconds(0));
  EXPECT_EQ(given_back, 1);
  auto it = store_->Get(slow);
  EXPECT_EQ(it->state, store::State::kPending);
  EXPECT_EQ(it->attempt, 0);
}

TEST_F(DispatcherTest, RunsADeepQueueOfUnlimitedJobs) {
  ServeUnlimited(/*concurrency=*/1);
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  std::vector<std::string> adds;
  for (int i = 0; i < 10; ++i)
    adds.push_back(Submit("add", "{\"x\": " + std::to_string(i) + ", \"y\": 2}"));
  dispatcher_->Start();
  for (int i = 0; i < 10; ++i) {
    auto it = WaitFinished(adds[i]);
    EXPECT_EQ(it.state, store::State::kDone) << i;
    EXPECT_EQ(it.result_json, std::to_string(i + 2));
    EXPECT_EQ(it.attempt, 1);
  }
  EXPECT_EQ(dispatcher_->counters().done, 10);
}

// A reserved job is a started one: the dispatcher holds no job waiting for a free runner
// (it used to reserve four ahead, which showed them running and kept them from other
// serve processes).
TEST_F(DispatcherTest, HoldsNoJobItHasNotStarted) {
  ServeUnlimited(/*concurrency=*/1);
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  std::vector<std::string> naps;
  for (int i = 0; i < 6; ++i) naps.push_back(Submit("nap", "{\"seconds\": 2}"));
  dispatcher_->Start();
  for (int i = 0; i < 500 && dispatcher_->counters().busy == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  ASSERT_EQ(dispatcher_->counters().busy, 1);
  int reserved = 0;
  for (const auto& id : naps) {
    auto it = store_->Get(id);
    if (it->state == store::State::kReserved) {
      ++reserved;
      EXPECT_GT(it->started_ms, 0);
    } else {
      EXPECT_EQ(it->state, store::State::kPending) << id;
      EXPECT_EQ(it->started_ms, 0) << id;
    }
  }
  EXPECT_EQ(reserved, 1);
  EXPECT_EQ(dispatcher_->Drain(std::chrono::milliseconds(0)), 1);  // the running one
  for (const auto& id : naps) {
    auto it = store_->Get(id);
    EXPECT_EQ(it->state, store::State::kPending) << id;
    EXPECT_EQ(it->attempt, 0) << id;
  }
}

}  // namespace
}  // namespace robotni::exec
