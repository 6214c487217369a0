// The store's schedules: definitions kept across opens, pause / resume, and the compare
// and set that lets processes sharing a store enqueue one job per tick.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <set>
#include <thread>
#include <vector>

#include "store/store.h"
#include "tests/unit/store/store_backends.h"

namespace robotni::store {
namespace {

namespace fs = std::filesystem;

class SchedulesTest : public StoreBackendTest {
 protected:
  std::unique_ptr<WorkItemStore> Open() {
    StoreOptions o;
    o.url = url_;
    o.now_ms = [this] { return now_.load(); };
    auto s = WorkItemStore::Open(o);
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    return std::move(s).value();
  }

  static Schedule Def(const std::string& name, const std::string& cron = "* * * * *") {
    Schedule d;
    d.name = name;
    d.queue = "report";
    d.cron = cron;
    d.timezone = "Europe/Helsinki";
    d.params_json = R"({"x":1})";
    return d;
  }

  static NewItem Job(const std::string& name, int64_t tick_ms) {
    NewItem j;
    j.queue = "report";
    j.payload_json = R"({"x":1})";
    j.kind = Kind::kJob;
    j.idempotency_key = "schedule:" + name + ":" + std::to_string(tick_ms / 1000);
    return j;
  }

  std::atomic<int64_t> now_{1'800'000'000'000};
};

TEST_P(SchedulesTest, DefineStartsAtNowAndKeepsStateAcrossOpens) {
  auto store = Open();
  auto rows = store->DefineSchedules({Def("nightly", "0 3 * * *"), Def("often")});
  ASSERT_TRUE(rows.ok()) << rows.status().ToString();
  ASSERT_EQ(rows->size(), 2u);
  EXPECT_EQ((*rows)[0].name, "nightly");
  EXPECT_EQ((*rows)[0].last_tick_ms, now_.load());
  EXPECT_EQ((*rows)[0].timezone, "Europe/Helsinki");
  EXPECT_EQ((*rows)[0].params_json, R"({"x":1})");
  EXPECT_FALSE((*rows)[0].paused);
  ASSERT_TRUE(store->FireSchedule("often", now_, now_ + 60'000, Job("often", now_ + 60'000)).ok());
  ASSERT_TRUE(store->SetSchedulePaused("nightly", true).ok());
  store.reset();

  // A later start: the definition changes, last tick and pause stay.
  now_ += 3'600'000;
  store = Open();
  rows = store->DefineSchedules({Def("nightly", "0 4 * * *"), Def("often")});
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].cron, "0 4 * * *");
  EXPECT_TRUE((*rows)[0].paused);
  EXPECT_EQ((*rows)[1].last_tick_ms, 1'800'000'060'000);
  EXPECT_FALSE((*rows)[1].last_job_id.empty());
  // `paused` in a definition pauses.
  auto paused = Def("often");
  paused.paused = true;
  rows = store->DefineSchedules({paused});
  ASSERT_TRUE(rows.ok());
  EXPECT_TRUE((*rows)[1].paused);
  // A bad definition names itself.
  auto bad = Def("x");
  bad.params_json = "{nope";
  auto refused = store->DefineSchedules({Def("y"), bad});
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.status().message().find("schedules[1]: params"), std::string::npos)
      << refused.status().message();
}

TEST_P(SchedulesTest, FireIsACompareAndSetWithTheJob) {
  auto store = Open();
  ASSERT_TRUE(store->DefineSchedules({Def("s")}).ok());
  const int64_t start = now_, tick = start + 60'000;
  auto id = store->FireSchedule("s", start, tick, Job("s", tick));
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  auto job = store->Get(*id);
  ASSERT_TRUE(job.ok());
  EXPECT_EQ(job->queue, "report");
  EXPECT_EQ(job->kind, Kind::kJob);
  EXPECT_EQ(job->idempotency_key, "schedule:s:" + std::to_string(tick / 1000));
  // The same tick again, from a process that read the old last tick: refused, no job.
  auto again = store->FireSchedule("s", start, tick, Job("s", tick));
  ASSERT_FALSE(again.ok());
  EXPECT_TRUE(again.status().IsConflict()) << again.status().ToString();
  ListFilter all;
  EXPECT_EQ(store->List(all)->size(), 1u);
  auto rows = store->ListSchedules();
  ASSERT_TRUE(rows.ok());
  EXPECT_EQ((*rows)[0].last_tick_ms, tick);
  EXPECT_EQ((*rows)[0].last_job_id, *id);
  // Unknown schedules conflict (nothing to move on).
  EXPECT_TRUE(store->FireSchedule("nope", 0, tick, Job("nope", tick)).status().IsConflict());
}

TEST_P(SchedulesTest, PausedDoesNotFireAndResumeSkipsWhatPassed) {
  auto store = Open();
  ASSERT_TRUE(store->DefineSchedules({Def("s")}).ok());
  const int64_t start = now_;
  auto paused = store->SetSchedulePaused("s", true);
  ASSERT_TRUE(paused.ok());
  EXPECT_TRUE(paused->paused);
  EXPECT_TRUE(store->FireSchedule("s", start, start + 60'000, Job("s", start + 60'000))
                  .status()
                  .IsConflict());
  now_ += 600'000;
  auto resumed = store->SetSchedulePaused("s", false);
  ASSERT_TRUE(resumed.ok());
  EXPECT_FALSE(resumed->paused);
  EXPECT_EQ(resumed->last_tick_ms, now_.load());  // the ten minutes paused are not caught up
  EXPECT_TRUE(store->SetSchedulePaused("nope", true).status().IsNotFound());
  ListFilter all;
  EXPECT_TRUE(store->List(all)->empty());
}

// Two stores on one file (as two serve processes) race every tick: one job per tick.
TEST_P(SchedulesTest, TwoStoresRacingEnqueueOncePerTick) {
  auto a = Open();
  auto b = Open();
  ASSERT_TRUE(a->DefineSchedules({Def("race")}).ok());
  ASSERT_TRUE(b->DefineSchedules({Def("race")}).ok());
  const int64_t start = now_;
  constexpr int kTicks = 50;
  std::atomic<int> fired{0}, conflicts{0};
  auto racer = [&](WorkItemStore* s) {
    for (int i = 0; i < kTicks; ++i) {
      // Each reads the last tick, then both try to move it to the next.
      int64_t tick = start + (i + 1) * 1000;
      int64_t expected = 0;
      while (true) {
        auto rows = s->ListSchedules();
        ASSERT_TRUE(rows.ok());
        expected = (*rows)[0].last_tick_ms;
        if (expected >= tick - 1000) break;
        std::this_thread::yield();
      }
      if (expected >= tick) continue;
      auto r = s->FireSchedule("race", expected, tick, Job("race", tick));
      if (r.ok()) {
        fired++;
      } else {
        ASSERT_TRUE(r.status().IsConflict()) << r.status().ToString();
        conflicts++;
      }
    }
  };
  std::thread ta(racer, a.get()), tb(racer, b.get());
  ta.join();
  tb.join();
  EXPECT_EQ(fired.load(), kTicks);
  ListFilter all;
  all.limit = 1000;
  auto jobs = a->List(all);
  ASSERT_TRUE(jobs.ok());
  EXPECT_EQ(jobs->size(), static_cast<size_t>(kTicks));
  std::set<std::string> keys;
  for (const auto& j : *jobs) keys.insert(j.idempotency_key);
  EXPECT_EQ(keys.size(), static_cast<size_t>(kTicks));
}

ROBOTNI_STORE_BACKENDS(SchedulesTest);

}  // namespace
}  // namespace robotni::store
