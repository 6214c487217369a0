// The dispatcher runs registered job types over a real store and warm interpreters.
#include "exec/dispatcher.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "api/jobs_api.h"
#include "exec/store_job.h"
#include "store/sqlite/sqlite_store.h"

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
  // A new dispatcher serving only `types` with `concurrency` runners (and `reserve_ahead_ms`
  // when given), not started.
  void ServeOnly(std::vector<std::string> types, int concurrency,
                 std::optional<int64_t> reserve_ahead_ms = std::nullopt) {
    dispatcher_.reset();
    DispatcherOptions d = options_;
    d.type_filters = std::move(types);
    d.concurrency = concurrency;
    if (reserve_ahead_ms) d.reserve_ahead_ms = *reserve_ahead_ms;
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), &pool_, d);
  }
  // A dispatcher of only unlimited types (add, nap): nothing limits how many it may reserve.
  void ServeUnlimited(int concurrency) { ServeOnly({"add", "nap"}, concurrency); }
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
  EXPECT_EQ(dispatcher_->types().size(), 7u);
}

// In worker processes, a runner sends the jobs it claimed ahead in one message. When the
// worker dies in one of them, only that job fails; those before it keep their outcomes, and
// those after it (never started) run in the new worker without spending an attempt.
TEST_F(DispatcherTest, AWorkerDeathInARunOfJobsFailsOnlyItsJob) {
  dispatcher_.reset();
  DispatcherOptions d = options_;
  d.type_filters = {"add_or_exit", "nap"};
  d.workers = 1;
  d.worker_executable = ROBOTNI_BINARY;
  dispatcher_ = std::make_unique<Dispatcher>(store_.get(), &pool_, d);
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  dispatcher_->Start();
  // Known quick, so claimed and sent in runs.
  std::vector<std::string> warm;
  for (int i = 0; i < 64; ++i) warm.push_back(Submit("add_or_exit", R"({"x": 1, "y": 1})"));
  for (const auto& id : warm) ASSERT_EQ(WaitFinished(id).state, store::State::kDone);
  // The runner naps while the run is queued: its next claim takes the run whole.
  std::string nap = Submit("nap", R"({"seconds": 0.3})");
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::vector<std::string> run;
  for (int i = 0; i < 10; ++i)
    run.push_back(i == 4 ? Submit("add_or_exit", R"({"x": 0, "y": 0, "exit": true})", 1)
                         : Submit("add_or_exit", "{\"x\": " + std::to_string(i) + ", \"y\": 1}"));
  EXPECT_EQ(WaitFinished(nap).state, store::State::kDone);
  for (int i = 0; i < 10; ++i) {
    auto it = WaitFinished(run[i]);
    EXPECT_EQ(it.attempt, 1) << "job " << i;
    if (i == 4) {
      EXPECT_EQ(it.state, store::State::kFailed);
      EXPECT_EQ(it.error_code, "WORKER_DIED");
      EXPECT_NE(it.error_message.find("exit code 3"), std::string::npos) << it.error_message;
    } else {
      EXPECT_EQ(it.state, store::State::kDone) << "job " << i;
      EXPECT_EQ(it.result_json, std::to_string(i + 1));
    }
  }
}

// Stopping while runs of jobs are in worker processes: the runs end, what was not sent goes
// back, and a second dispatcher runs the rest; every job runs exactly once (each one appends
// its number to a file) and none is lost.
TEST_F(DispatcherTest, AStopBetweenRunsLosesNoJobAndRunsNoneTwice) {
  dispatcher_.reset();
  DispatcherOptions d = options_;
  d.type_filters = {"record"};
  d.workers = 2;
  d.worker_executable = ROBOTNI_BINARY;
  const std::string path = (dir_ / "ran.txt").string();
  auto make = [&] {
    dispatcher_ = std::make_unique<Dispatcher>(store_.get(), &pool_, d);
    ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
    dispatcher_->Start();
  };
  make();
  auto submit = [&](int n) {
    return Submit("record", "{\"path\": \"" + path + "\", \"n\": " + std::to_string(n) + "}");
  };
  ASSERT_EQ(WaitFinished(submit(-1)).state, store::State::kDone);  // known quick from now on
  std::vector<std::string> ids;
  for (int n = 0; n < 2000; ++n) ids.push_back(submit(n));
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  dispatcher_->Drain(std::chrono::milliseconds(5000));
  make();
  for (const auto& id : ids) ASSERT_EQ(WaitFinished(id).state, store::State::kDone) << id;
  std::ifstream in(path);
  std::map<int, int> runs;
  for (int n; in >> n;) ++runs[n];
  for (int n = 0; n < 2000; ++n)
    ASSERT_EQ(runs[n], 1) << "job " << n << " ran " << runs[n] << " times";
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

// A job slower than the reserve-ahead budget, or of a type not run yet, is never held
// behind another: a reserved nap is a started one, and the others stay for other processes.
TEST_F(DispatcherTest, HoldsNoSlowJobItHasNotStarted) {
  ServeUnlimited(/*concurrency=*/1);
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  std::vector<std::string> naps;
  for (int i = 0; i < 6; ++i) naps.push_back(Submit("nap", "{\"seconds\": 0.3}"));
  dispatcher_->Start();
  // The second nap starts once the first, now known to be slow, has ended.
  for (int i = 0; i < 500 && dispatcher_->counters().done < 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  for (int i = 0; i < 500 && dispatcher_->counters().busy == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_EQ(dispatcher_->counters().busy, 1);
  int reserved = 0;
  for (const auto& id : naps) {
    auto it = store_->Get(id);
    if (it->state == store::State::kReserved) {
      ++reserved;
      EXPECT_GT(it->started_ms, 0);
    } else if (it->state == store::State::kPending) {
      EXPECT_EQ(it->started_ms, 0) << id;
    }
  }
  EXPECT_EQ(reserved, 1);
  EXPECT_EQ(dispatcher_->Drain(std::chrono::milliseconds(0)), 1);  // the running one
}

// The store's group-commit counters (the fixture's store is SQLite).
int64_t Commits(store::WorkItemStore* s) {
  return dynamic_cast<store::sqlite::SqliteStore*>(s)->TEST_WriterStats().commits;
}

// Quick jobs are claimed several at a time, and a run of outcomes commits with the next claim.
TEST_F(DispatcherTest, ClaimsQuickJobsAheadAndCommitsTheirOutcomesTogether) {
  for (int64_t ahead_ms : {int64_t{1000}, int64_t{0}}) {  // 1 s: whatever the machine's load
    SCOPED_TRACE("reserve_ahead_ms " + std::to_string(ahead_ms));
    ServeOnly({"add"}, 1, ahead_ms);
    ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
    std::vector<store::NewItem> jobs(200, store::NewItem{.queue = "add"});
    for (size_t i = 0; i < jobs.size(); ++i)
      jobs[i].payload_json = "{\"x\": " + std::to_string(i) + ", \"y\": 1}";
    auto ids = store_->CreateBatch(jobs);
    ASSERT_TRUE(ids.ok());
    const int64_t before = Commits(store_.get());
    dispatcher_->Start();
    for (size_t i = 0; i < ids->size(); ++i) {
      auto it = WaitFinished((*ids)[i]);
      ASSERT_EQ(it.state, store::State::kDone) << i;
      EXPECT_EQ(it.result_json, std::to_string(i + 1));
      EXPECT_EQ(it.attempt, 1);
    }
    const int64_t commits = Commits(store_.get()) - before;
    if (ahead_ms > 0) {
      EXPECT_LT(commits, 50);  // the ramp 1, 2, 4 .. then up to 32 jobs a commit
    } else {
      EXPECT_GE(commits, 200);  // one per job
    }
    EXPECT_EQ(dispatcher_->counters().done, 200);
  }
}

// A job claimed ahead starts after its claim: its `started` is its handler's start, after the
// previous job of the runner ended (jobs of 20 ms, a budget of 1 s: runs of up to 32).
TEST_F(DispatcherTest, AJobClaimedAheadRecordsItsHandlersStart) {
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::mutex mu;
  std::map<std::string, std::pair<int64_t, int64_t>> ran;  // id -> handler's start, end
  JobTypeInfo pace;
  pace.name = "pace";
  pace.schema = {{"type", "object"}};
  pace.native = [&](StoreJob& job) {
    const int64_t start = now_ms();
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    job.SetResult("1");
    std::lock_guard<std::mutex> l(mu);
    ran[job.item().id] = {start, now_ms()};
  };
  ServeOnly({"pace"}, 1, 1000);
  ASSERT_TRUE(dispatcher_->RegisterNativeType(pace).ok());
  auto ids = store_->CreateBatch(
      std::vector<store::NewItem>(40, store::NewItem{.queue = "pace", .payload_json = "{}"}));
  ASSERT_TRUE(ids.ok());
  const int64_t before = Commits(store_.get());
  dispatcher_->Start();
  for (const auto& id : *ids) ASSERT_EQ(WaitFinished(id).state, store::State::kDone);
  EXPECT_LT(Commits(store_.get()) - before, 20);       // jobs were claimed ahead
  std::vector<std::pair<int64_t, std::string>> order;  // handler start, id
  for (const auto& [id, times] : ran) order.push_back({times.first, id});
  std::sort(order.begin(), order.end());
  ASSERT_EQ(order.size(), 40u);
  for (size_t i = 0; i < order.size(); ++i) {
    const std::string& id = order[i].second;
    const int64_t started = store_->Get(id)->started_ms;
    EXPECT_LE(started, ran[id].first) << id;
    if (i > 0) EXPECT_GE(started, ran[order[i - 1].second].second) << id;
  }
}

// Jobs claimed ahead (held) show queued, with no start and no worker, until their handler
// starts; a held job whose handler runs past the budget shows running from its handler's
// start without waiting for its outcome. The runner learns the type is quick (its claims grow
// to 32), then claims a batch of ten in one go: the first runs, the second blocks in its
// handler, the eight behind it are held.
TEST_F(DispatcherTest, JobsClaimedAheadShowQueuedUntilTheirHandlerStarts) {
  auto now_ms = [] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, holding = false;
  int since_hold = 0;
  std::string blocked;
  int64_t blocked_start = 0;
  std::map<std::string, std::pair<int64_t, int64_t>> ran;  // id -> handler's start, end
  JobTypeInfo gate;
  gate.name = "gate";
  gate.schema = {{"type", "object"}};
  gate.native = [&](StoreJob& job) {
    const int64_t start = now_ms();
    std::unique_lock<std::mutex> l(mu);
    if (hold && ++since_hold == 2) {
      blocked = job.item().id;
      blocked_start = start;
      holding = true;
      cv.notify_all();
      cv.wait(l, [&] { return !hold; });
    }
    ran[job.item().id] = {start, now_ms()};
    l.unlock();
    job.SetResult("1");
  };
  ServeOnly({"gate"}, 1);
  ASSERT_TRUE(dispatcher_->RegisterNativeType(gate).ok());
  dispatcher_->Start();
  auto warm = store_->CreateBatch(
      std::vector<store::NewItem>(100, store::NewItem{.queue = "gate", .payload_json = "{}"}));
  ASSERT_TRUE(warm.ok());
  dispatcher_->Wake();
  for (const auto& id : *warm) ASSERT_EQ(WaitFinished(id).state, store::State::kDone);
  auto release = [&] {
    {
      std::lock_guard<std::mutex> l(mu);
      hold = false;
    }
    cv.notify_all();
  };
  // A failed check below still lets the blocked handler go before the dispatcher stops.
  struct OnExit {
    std::function<void()> f;
    ~OnExit() { f(); }
  } on_exit{release};
  {
    std::lock_guard<std::mutex> l(mu);
    hold = true;
  }
  auto batch = store_->CreateBatch(
      std::vector<store::NewItem>(10, store::NewItem{.queue = "gate", .payload_json = "{}"}));
  ASSERT_TRUE(batch.ok());
  const std::vector<std::string>& ids = *batch;
  dispatcher_->Wake();
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return holding; }));
  }
  ASSERT_EQ(blocked, ids[1]);  // the second of the batch: a held job

  // The blocked job's start is recorded while it runs (hang guard: 10 s).
  int64_t recorded = 0;
  for (int i = 0; i < 500 && recorded == 0; ++i) {
    recorded = store_->Get(blocked)->started_ms;
    if (recorded == 0) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_GT(recorded, 0) << "the start of a held job running past the budget was not recorded";
  EXPECT_LE(recorded, blocked_start);
  {
    std::lock_guard<std::mutex> l(mu);
    EXPECT_GE(recorded, ran[ids[0]].second);  // after the job before it ended
  }
  nlohmann::json running = api::JobJson(*store_->Get(blocked));
  EXPECT_EQ(running["status"], "running") << running.dump();
  EXPECT_TRUE(running["worker"].is_string()) << running.dump();
  EXPECT_NE(running["timeline"]["timeStarted"], "") << running.dump();

  // The eight behind it: leased, not started, shown queued.
  for (size_t i = 2; i < ids.size(); ++i) {
    auto it = store_->Get(ids[i]);
    ASSERT_TRUE(it.ok());
    EXPECT_EQ(it->state, store::State::kReserved) << ids[i];
    EXPECT_EQ(it->started_ms, 0) << ids[i];
    EXPECT_EQ(it->lease_owner, "dispatcher-test") << ids[i];
    nlohmann::json j = api::JobJson(*it);
    EXPECT_EQ(j["status"], "queued") << j.dump();
    EXPECT_EQ(j["timeline"]["timeStarted"], "") << j.dump();
    EXPECT_TRUE(j["worker"].is_null()) << j.dump();
  }
  auto stats = store_->Stats("gate");
  ASSERT_TRUE(stats.ok());
  ASSERT_EQ(stats->size(), 1u);
  const store::QueueStats& q = (*stats)[0];
  EXPECT_EQ(q.held, 8);
  EXPECT_EQ(q.total(), 110);
  int64_t sum = 0;
  for (const auto& [name, n] : store::StateCounts(q)) {
    if (std::string(name) == "queued") EXPECT_EQ(n, 8);
    sum += n;
  }
  EXPECT_EQ(sum, 110);

  release();
  for (const auto& id : ids) ASSERT_EQ(WaitFinished(id).state, store::State::kDone);
  // Each stored start is its handler's: at or before the handler's own reading, after the
  // job before it ended; the blocked job keeps the start recorded while it ran.
  EXPECT_EQ(store_->Get(blocked)->started_ms, recorded);
  std::lock_guard<std::mutex> l(mu);
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t started = store_->Get(ids[i])->started_ms;
    EXPECT_GT(started, 0) << ids[i];
    EXPECT_LE(started, ran[ids[i]].first) << ids[i];
    if (i > 0) EXPECT_GE(started, ran[ids[i - 1]].second) << ids[i];
  }
}

// Outcomes never wait for their commit behind a slow job: when a nap starts, every job the
// runner ran before it is DONE in the store.
TEST_F(DispatcherTest, OutcomesAreStoredBeforeASlowJobStarts) {
  ServeUnlimited(/*concurrency=*/1);
  ASSERT_TRUE(dispatcher_->LoadJobTypes().ok());
  std::vector<std::string> adds;
  for (int i = 0; i < 40; ++i) adds.push_back(Submit("add", "{\"x\": 1, \"y\": 1}"));
  std::string nap = Submit("nap", "{\"seconds\": 1}");
  for (int i = 0; i < 40; ++i) adds.push_back(Submit("add", "{\"x\": 1, \"y\": 1}"));
  dispatcher_->Start();
  bool nap_seen = false;
  for (int i = 0; i < 1000 && !nap_seen; ++i) {
    for (const auto& job : dispatcher_->Running()) nap_seen = nap_seen || job.id == nap;
    if (!nap_seen) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  ASSERT_TRUE(nap_seen);
  for (int i = 0; i < 40; ++i)
    EXPECT_EQ(store_->Get(adds[i])->state, store::State::kDone) << adds[i];
  EXPECT_EQ(WaitFinished(adds.back()).state, store::State::kDone);
}

// Jobs claimed ahead are leased (RESERVED) while the job before them runs, and Drain gives
// them back unspent with it.
TEST_F(DispatcherTest, JobsHeldAheadGoBackAtDrainUnspent) {
  ServeUnlimited(/*concurrency=*/1);
  std::mutex mu;
  std::condition_variable cv;
  bool hold = false, holding = false;
  JobTypeInfo gate;
  gate.name = "gate";
  gate.schema = {{"type", "object"}};
  gate.native = [&](StoreJob& job) {
    std::unique_lock<std::mutex> l(mu);
    if (hold) {
      holding = true;
      cv.notify_all();
      cv.wait(l, [&] { return !hold; });
    }
    job.SetResult("1");
  };
  ServeOnly({"gate"}, 1);
  ASSERT_TRUE(dispatcher_->RegisterNativeType(gate).ok());
  dispatcher_->Start();
  // Quick runs teach the runner the type's pace, and its claims grow to 32.
  std::vector<store::NewItem> jobs(100, store::NewItem{.queue = "gate", .payload_json = "{}"});
  auto warm = store_->CreateBatch(jobs);
  ASSERT_TRUE(warm.ok());
  dispatcher_->Wake();
  for (const auto& id : *warm) ASSERT_EQ(WaitFinished(id).state, store::State::kDone);
  {
    std::lock_guard<std::mutex> l(mu);
    hold = true;
  }
  auto held = store_->CreateBatch(jobs);
  ASSERT_TRUE(held.ok());
  dispatcher_->Wake();
  {
    std::unique_lock<std::mutex> l(mu);
    ASSERT_TRUE(cv.wait_for(l, std::chrono::seconds(10), [&] { return holding; }));
  }
  int reserved = 0;
  for (const auto& id : *held) reserved += store_->Get(id)->state == store::State::kReserved;
  EXPECT_GT(reserved, 1);  // the running one and those claimed with it
  EXPECT_LE(reserved, 32);
  EXPECT_EQ(dispatcher_->Drain(std::chrono::milliseconds(0)), reserved);
  {
    std::lock_guard<std::mutex> l(mu);
    hold = false;
  }
  cv.notify_all();
  dispatcher_.reset();  // the gate's job ends; its outcome is refused (given back)
  for (const auto& id : *held) {
    auto it = store_->Get(id);
    EXPECT_EQ(it->state, store::State::kPending) << id;
    EXPECT_EQ(it->attempt, 0) << id;
  }
}

}  // namespace
}  // namespace robotni::exec
