// Periodic jobs in `robotni serve`, end to end: real serve processes on 127.0.0.1 sharing one
// store (a SQLite file, a PostgreSQL schema), a `*/1 * * * * *` schedule (every second) from a
// job type's decorator and one from the config file.
//
// - Two serves on one store enqueue exactly one job per tick between them: the keys are
//   distinct and the "schedule ... job N" lines of both processes add up to the jobs (without
//   the store's compare and set both would enqueue, and the second would get the first's job
//   back through the idempotency key and log it too).
// - A restart enqueues no tick that was already handled, and after a downtime one job for the
//   latest missed tick, not one per missed tick.
// - GET /api/worker/schedules lists them; pause stops the jobs, resume starts them again.
// - Config mistakes (cron, type, params) stop the start naming the file, line and field.
#include <gtest/gtest.h>
#include <time.h>

#include <chrono>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

const char* kConfig = R"(schedules:
  - name: every2
    type: report
    cron: "*/2 * * * * *"
    timezone: Europe/Helsinki
    params: {x: 7}
)";

std::unique_ptr<Process> StartServe(const std::string& store, const fs::path& config) {
  fs::path robot = FixtureDir("schedules");
  std::vector<std::string> args = {"serve",
                                   "-r",
                                   (robot / "robot.yaml").string(),
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--store",
                                   store,
                                   "--isolation",
                                   "subinterpreter",
                                   "--concurrency",
                                   "1",
                                   "--grace",
                                   "1",
                                   "--config",
                                   config.string(),
                                   "--no-auth"};
  RunOptions opts;
  opts.timeout_seconds = 120;
  auto p = std::make_unique<Process>(args, opts);
  EXPECT_TRUE(p->WaitForOutput("serving on", 30)) << p->output();
  return p;
}

std::string Stop(Process& p) {
  p.Kill(SIGTERM);
  RunResult r = p.Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  return r.out + r.err;
}

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The jobs of schedule `name` in the store: tick (seconds) -> job id.
std::map<int64_t, std::string> ScheduledJobs(const std::string& url, const std::string& name) {
  std::map<int64_t, std::string> out;
  const std::string prefix = "schedule:" + name + ":";
  for (const auto& it : AllItems(url)) {
    if (it.idempotency_key.rfind(prefix, 0) != 0) continue;
    int64_t tick = std::stoll(it.idempotency_key.substr(prefix.size()));
    EXPECT_TRUE(out.emplace(tick, it.id).second) << "tick " << tick << " twice";
    EXPECT_EQ(it.kind, store::Kind::kJob);
  }
  return out;
}

// "2026-12-07T04:09:10.186Z" -> whole seconds since the epoch.
int64_t IsoSeconds(const std::string& s) {
  struct tm tm {};
  if (sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
             &tm.tm_min, &tm.tm_sec) < 6)
    return -1;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class ServeSchedulesTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ok()) << store_.error();
    WriteFile(config_, kConfig);
  }

  TempDir dir_;
  TestStore store_{GetParam(), dir_.path()};
  fs::path config_ = dir_.path() / "serve.yaml";
};

ROBOTNI_STORE_BACKENDS(ServeSchedulesTest);

TEST_P(ServeSchedulesTest, TwoServesEnqueueOncePerTickAndARestartRepeatsNone) {
  std::string logs;
  {
    auto a = StartServe(store_.url(), config_);
    auto b = StartServe(store_.url(), config_);
    {
      OutputPump pa(a.get()), pb(b.get());
      std::this_thread::sleep_for(std::chrono::seconds(4));
    }
    logs = Stop(*a) + Stop(*b);
  }
  auto ticks = ScheduledJobs(store_.url(), "tick");
  // About four ticks in four seconds (a loaded machine may have caught some up as one).
  EXPECT_GE(ticks.size(), 2u) << logs;
  EXPECT_EQ(Count(logs, "schedule 'tick': job "), ticks.size()) << logs;
  auto every2 = ScheduledJobs(store_.url(), "every2");
  EXPECT_GE(every2.size(), 1u) << logs;
  EXPECT_EQ(Count(logs, "schedule 'every2': job "), every2.size()) << logs;
  for (const auto& [tick, id] : every2) EXPECT_EQ(tick % 2, 0) << tick;
  const int64_t last_before = ticks.rbegin()->first;

  // Down for three seconds, then one serve again: the latest missed tick is caught up, once.
  std::this_thread::sleep_for(std::chrono::seconds(3));
  const int64_t restart = NowSeconds();
  auto c = StartServe(store_.url(), config_);
  {
    OutputPump pc(c.get());
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  }
  logs = Stop(*c);
  auto after = ScheduledJobs(store_.url(), "tick");
  size_t missed = 0;
  for (const auto& [tick, id] : after) {
    if (ticks.count(tick)) {
      EXPECT_EQ(ticks[tick], id);  // a tick done before keeps its one job
      continue;
    }
    EXPECT_GT(tick, last_before);
    if (tick < restart) ++missed;
  }
  EXPECT_LE(missed, 1u) << "one job for the missed ticks, not one each\n" << logs;
  EXPECT_GT(after.size(), ticks.size()) << logs;
  EXPECT_EQ(Count(logs, "schedule 'tick': job "), after.size() - ticks.size()) << logs;
}

TEST_P(ServeSchedulesTest, ListedPausedAndResumedFromTheApi) {
  auto serve = StartServe(store_.url(), config_);
  int port = ServingPort(*serve);
  auto pump = std::make_unique<OutputPump>(serve.get());
  ASSERT_NE(port, 0);

  auto list = SendHttp(port, "GET", "/api/worker/schedules");
  ASSERT_EQ(list.status, 200) << list.raw;
  ASSERT_EQ(list.body["schedules"].size(), 2u) << list.raw;
  json every2 = list.body["schedules"][0], tick = list.body["schedules"][1];
  EXPECT_EQ(every2["name"], "every2");
  EXPECT_EQ(every2["type"], "report");
  EXPECT_EQ(every2["cron"], "*/2 * * * * *");
  EXPECT_EQ(every2["timezone"], "Europe/Helsinki");
  EXPECT_EQ(every2["params"], json({{"x", 7}}));
  EXPECT_EQ(tick["name"], "tick");
  EXPECT_EQ(tick["params"], json({{"source", "decorator"}}));
  EXPECT_EQ(tick["timezone"], "UTC");
  EXPECT_EQ(tick["paused"], false);
  EXPECT_EQ(tick["served"], true);
  EXPECT_TRUE(tick["next_run"].is_string()) << list.raw;

  auto paused = SendHttp(port, "POST", "/api/worker/schedules/tick/pause");
  ASSERT_EQ(paused.status, 200) << paused.raw;
  EXPECT_EQ(paused.body["paused"], true);
  EXPECT_TRUE(paused.body["next_run"].is_null());
  auto jobs_of = [&] {
    auto r = SendHttp(port, "GET", "/api/worker/jobs?type=tick&limit=1000");
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body["jobs"].size();
  };
  size_t at_pause = jobs_of();
  const int64_t paused_at = NowSeconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  EXPECT_EQ(jobs_of(), at_pause) << "a paused schedule enqueued";
  list = SendHttp(port, "GET", "/api/worker/schedules");
  EXPECT_EQ(list.body["schedules"][1]["paused"], true);

  auto resumed = SendHttp(port, "POST", "/api/worker/schedules/tick/resume");
  ASSERT_EQ(resumed.status, 200) << resumed.raw;
  EXPECT_EQ(resumed.body["paused"], false);
  EXPECT_TRUE(resumed.body["next_run"].is_string());
  // The resume moved the last tick to its own time: the ticks passed while paused are skipped.
  const int64_t resumed_at = IsoSeconds(resumed.body["last_tick"].get<std::string>());
  EXPECT_GE(resumed_at, paused_at + 2) << resumed.raw;
  bool more = false;
  for (int i = 0; i < 100 && !more; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    more = jobs_of() > at_pause;
  }
  EXPECT_TRUE(more) << "no job after resume";
  EXPECT_EQ(SendHttp(port, "POST", "/api/worker/schedules/nope/pause").status, 404);
  EXPECT_EQ(SendHttp(port, "GET", "/api/worker/schedules/tick/pause").status, 405);
  pump.reset();
  Stop(*serve);
  for (const auto& [tick, id] : ScheduledJobs(store_.url(), "tick"))
    EXPECT_FALSE(tick > paused_at + 1 && tick <= resumed_at)
        << "job " << id << " for tick " << tick << ", passed while paused (" << paused_at << " to "
        << resumed_at << ")";
}

RunResult StartWith(const std::string& config_text) {
  TempDir dir;
  fs::path config = dir.path() / "serve.yaml";
  WriteFile(config, config_text);
  RunOptions opts;
  opts.timeout_seconds = 60;
  return RunRobotni({"serve", "-r", (FixtureDir("schedules") / "robot.yaml").string(), "--listen",
                     "127.0.0.1:0", "--store", (dir.path() / "wi.db").string(), "--isolation",
                     "subinterpreter", "--config", config.string(), "--no-auth"},
                    opts);
}

TEST(ServeSchedulesConfigTest, ConfigMistakesStopTheStart) {
  auto r = StartWith("schedules:\n  - type: report\n    cron: \"61 * * * *\"\n");
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("serve.yaml:3: schedules[0]: cron '61 * * * *': minute: '61': 61 is out "
                       "of range 0-59"),
            std::string::npos)
      << r;
  r = StartWith("schedules:\n  - type: report\n    cron: \"* * * * *\"\n    timezone: Mars/Base\n");
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("timezone 'Mars/Base'"), std::string::npos) << r;
  r = StartWith("schedules:\n  - type: nosuch\n    cron: \"@daily\"\n");
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("schedules[0]: type 'nosuch' is not a job type this server serves"),
            std::string::npos)
      << r;
  r = StartWith("schedules:\n  - type: report\n    cron: \"@daily\"\n    params: {y: 1}\n");
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("params do not match the input schema of 'report'"), std::string::npos) << r;
  r = StartWith("schedules:\n  - type: report\n    cron: \"@daily\"\n    every: 1\n");
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("schedules[0].every: unknown key"), std::string::npos) << r;
}

}  // namespace
}  // namespace robotni::testing
