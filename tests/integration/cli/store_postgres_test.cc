// The real binary on the PostgreSQL store of the ctest fixture (tests/support/pg_server.h):
// `robotni run` of the example robot (producer, consumer, reporter) with --store
// postgresql://..., read back with `robotni items`; `robotni store migrate` to PostgreSQL and
// back; two `robotni serve` nodes on one schema, jobs submitted through both, each job DONE
// once with its own result, and both nodes running jobs.
#include <gtest/gtest.h>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/pg_server.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

class StorePostgresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    ASSERT_TRUE(PgTestUrl(info->name(), &url_, &error)) << error;
  }
  json Items(const std::string& store, std::vector<std::string> cmd) {
    cmd.insert(cmd.begin(), "items");
    cmd.insert(cmd.end(), {"--store", store, "--json"});
    RunResult r = RunRobotni(cmd);
    EXPECT_EQ(r.exit_code, 0) << r;
    return json::parse(r.out, nullptr, false);
  }
  RunResult RunExample(const fs::path& root, const std::string& store) {
    return RunRobotni(
        {"run", "-r", (root / "robot.yaml").string(), "-t", "Producer", "-t", "Consumer", "-t",
         "Reporter", "--store", store, "--input", "devdata/work-items-in/orders/work-items.json"},
        {.cwd = root});
  }
  std::unique_ptr<Process> Serve(std::vector<std::string> extra = {}) {
    extra.insert(extra.end(), {"--no-auth", "--workers", "1", "--grace", "2"});
    auto p = std::make_unique<Process>(ServeExampleArgs(url_, extra),
                                       RunOptions{.cwd = SourceDir(), .timeout_seconds = 120});
    EXPECT_TRUE(p->WaitForOutput("serving on", 60)) << p->output();
    return p;
  }

  TempDir dir_;
  std::string url_;
};

TEST_F(StorePostgresTest, TheExampleRobotRunsOnPostgreSQLAsOnSQLite) {
  fs::path pg_root = CopyExampleRobot(dir_.path() / "pg");
  RunResult r = RunExample(pg_root, url_);
  ASSERT_EQ(r.exit_code, 0) << r;
  auto summary = json::parse(ReadFile(pg_root / "output" / "summary.json"));
  EXPECT_EQ(summary["orders"], 30);
  EXPECT_EQ(summary["accepted"], 25);
  EXPECT_EQ(summary["rejected"], 5);

  fs::path sqlite_root = CopyExampleRobot(dir_.path() / "sqlite");
  const std::string db = (dir_.path() / "wi.db").string();
  ASSERT_EQ(RunExample(sqlite_root, db).exit_code, 0);
  // The same counts per queue and state on both backends.
  EXPECT_EQ(Items(url_, {"stats"}), Items(db, {"stats"}));
  // RC_WORKITEM_DB_PATH may name the store by URL too (rcc's variable, robotni's default).
  RunResult env = RunRobotni({"items", "stats", "--json"},
                             {.cwd = dir_.path(), .env = {{"RC_WORKITEM_DB_PATH", url_}}});
  ASSERT_EQ(env.exit_code, 0) << env;
  EXPECT_EQ(json::parse(env.out), Items(url_, {"stats"}));
  fs::path again = CopyExampleRobot(dir_.path() / "again");
  RunResult by_env = RunRobotni({"run", "-r", (again / "robot.yaml").string(), "-t", "Producer",
                                 "--input", "devdata/work-items-in/orders/work-items.json"},
                                {.cwd = again, .env = {{"RC_WORKITEM_DB_PATH", url_}}});
  ASSERT_EQ(by_env.exit_code, 0) << by_env;
  EXPECT_FALSE(fs::exists(again / ".robotni")) << "the run used a SQLite file";
  json failed = Items(url_, {"list", "--state", "FAILED", "--limit", "10"});
  EXPECT_EQ(failed["count"], 5);
  for (const auto& it : failed["items"]) EXPECT_EQ(it["exception_type"], "BUSINESS") << it;
}

TEST_F(StorePostgresTest, MigrateMovesTheExampleStoreToPostgreSQLAndBack) {
  fs::path root = CopyExampleRobot(dir_.path() / "example");
  const std::string db = (dir_.path() / "wi.db").string();
  ASSERT_EQ(RunExample(root, db).exit_code, 0);
  RunResult there = RunRobotni({"store", "migrate", "--from", db, "--to", url_, "-q"});
  ASSERT_EQ(there.exit_code, 0) << there;
  EXPECT_EQ(json::parse(there.out)["written"], 61);
  const std::string back = "sqlite://" + (dir_.path() / "back.db").string();
  RunResult home = RunRobotni({"store", "migrate", "--from", url_, "--to", back, "-q"});
  ASSERT_EQ(home.exit_code, 0) << home;
  for (const std::string& store : {url_, back}) {
    SCOPED_TRACE(store);
    EXPECT_EQ(Items(db, {"stats"}), Items(store, {"stats"}));
    EXPECT_EQ(Items(db, {"list", "--limit", "100"}), Items(store, {"list", "--limit", "100"}));
  }
  RunResult again = RunRobotni({"store", "migrate", "--from", db, "--to", url_, "-q"});
  ASSERT_EQ(again.exit_code, 0) << again;
  EXPECT_EQ(json::parse(again.out)["written"], 0);
}

TEST_F(StorePostgresTest, TwoServeNodesShareTheQueueAndRunEachJobOnce) {
  auto a = Serve();
  auto b = Serve();
  const int port_a = ServingPort(*a), port_b = ServingPort(*b);
  ASSERT_GT(port_a, 0);
  ASSERT_GT(port_b, 0);
  // Both nodes' worker processes are up before the jobs come: otherwise the first one alone
  // may run every job (it runs 400 in a fraction of the other's start).
  for (int port : {port_a, port_b}) {
    bool warm = false;
    for (int i = 0; i < 600 && !warm; ++i) {
      auto r = SendHttp(port, "GET", "/api/worker/status");
      warm = r.status == 200 && r.body["workers"]["slots"][0]["pid"].is_number();
      if (!warm) std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    ASSERT_TRUE(warm) << "node on port " << port << " has no worker process after 30 s";
  }
  auto pump_a = std::make_unique<OutputPump>(a.get());
  auto pump_b = std::make_unique<OutputPump>(b.get());
  constexpr int kJobs = 400;
  std::set<std::string> ids;
  for (int first = 0; first < kJobs; first += 100) {
    json batch = json::array();
    for (int n = first; n < first + 100; ++n)
      batch.push_back({{"type", "add"}, {"params", {{"x", n}, {"y", 1000}}}});
    auto r = SendHttp(first % 200 == 0 ? port_a : port_b, "POST", "/api/worker/jobs/batch",
                      batch.dump());
    ASSERT_EQ(r.status, 202) << r.raw;
    for (const auto& j : r.body["jobs"]) ids.insert(j["job_id"].get<std::string>());
  }
  ASSERT_EQ(ids.size(), static_cast<size_t>(kJobs)) << "ids are unique across nodes";
  // Either node answers for every job, and each ends DONE with its own result.
  std::map<std::string, int> by_status;
  int i = 0;
  for (const std::string& id : ids) {
    auto r =
        SendHttp(++i % 2 ? port_a : port_b, "GET", "/api/worker/jobs/" + id + "/wait?timeout=60");
    ASSERT_EQ(r.status, 200) << r.raw;
    ++by_status[r.body["status"].get<std::string>()];
    if (r.body["status"] == "done")
      EXPECT_EQ(r.body["result"], r.body["params"]["x"].get<int>() + 1000) << r.raw;
  }
  const int done = by_status["done"];
  EXPECT_EQ(done, kJobs) << "jobs by status: " << json(by_status).dump();
  // Both nodes ran jobs: each logs a line per job it finished.
  pump_a.reset();
  pump_b.reset();
  auto finished_by = [](Process& p) {
    p.Kill(SIGTERM);
    RunResult r = p.Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
    int n = 0;
    for (size_t at = 0; (at = r.err.find(") done in ", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  const int ran_a = finished_by(*a), ran_b = finished_by(*b);
  EXPECT_GT(ran_a, 0);
  EXPECT_GT(ran_b, 0);
  EXPECT_EQ(ran_a + ran_b, kJobs) << "a job ran on both nodes, or not at all";
}

}  // namespace
}  // namespace robotni::testing
