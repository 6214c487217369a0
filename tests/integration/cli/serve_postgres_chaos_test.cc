// Scale-out chaos (issue #14 point 3): three `robotni serve` nodes on one PostgreSQL schema,
// node C serving `notify.%` only; 20,000 jobs submitted through all three; nodes killed with
// SIGKILL at random and started again. Every job ends DONE exactly once with its own result,
// no `chaos` job ever ran on node C, and the time from each kill to its jobs being given back
// (the restarted node releases what its dead predecessor held) is printed. Then every robotni
// connection is terminated by the server (pg_terminate_backend): the nodes reconnect and the
// jobs submitted around it all finish.
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <nlohmann/json.hpp>
#include <random>
#include <thread>

#include "tests/integration/cli/chaos_util.h"
#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/pg_server.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

constexpr int kJobsPerType = 10000;
constexpr int kKills = 6;

const char kJobsPy[] = R"(import time
from robotni import job

@job("chaos")
def chaos(n):
    time.sleep(0.001)
    return n * 2

@job("notify.chaos")
def notify_chaos(n):
    time.sleep(0.001)
    return n * 3
)";

// A libpq connection to the test's schema, for reading what the nodes wrote.
class Sql {
 public:
  explicit Sql(const std::string& url) {
    const size_t q = url.find("?search_path=");
    conn_ = PQconnectdb(url.substr(0, q).c_str());
    if (q != std::string::npos) Int("SELECT 0; SET search_path TO " + url.substr(q + 13));
  }
  ~Sql() { PQfinish(conn_); }
  bool ok() const { return PQstatus(conn_) == CONNECTION_OK; }
  int64_t Int(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    int64_t v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0 && !PQgetisnull(r, 0, 0))
      v = atoll(PQgetvalue(r, 0, 0));
    else if (PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
      ADD_FAILURE() << sql << ": " << PQerrorMessage(conn_);
    PQclear(r);
    return v;
  }

 private:
  PGconn* conn_ = nullptr;
};

class ServePostgresChaos : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    ASSERT_TRUE(PgTestUrl("chaos", &url_, &error)) << error;
    WriteFile(dir_ / "jobs.py", kJobsPy);
  }
  struct Node {
    std::vector<std::string> types;
    std::unique_ptr<Process> process;
    std::unique_ptr<OutputPump> pump;
    int port = 0;
    std::vector<pid_t> pids;  // every incarnation
  };
  void Start(Node& n) {
    std::vector<std::string> args = {"serve",
                                     "-r",
                                     (SourceDir() / "robot.yaml").string(),
                                     "--store",
                                     url_,
                                     "--jobs",
                                     (dir_ / "jobs.py").string(),
                                     "--listen",
                                     "127.0.0.1:0",
                                     "--no-auth",
                                     "--workers",
                                     "2",
                                     "--grace",
                                     "1"};
    args.insert(args.end(), n.types.begin(), n.types.end());
    n.process = std::make_unique<Process>(args, RunOptions{.timeout_seconds = 900});
    ASSERT_TRUE(n.process->WaitForOutput("serving on", 60)) << n.process->output();
    n.port = ServingPort(*n.process);
    n.pids.push_back(n.process->pid());
    n.pump = std::make_unique<OutputPump>(n.process.get());
  }
  void Kill(Node& n) {
    n.pump.reset();
    n.process->Kill(SIGKILL);
    n.process->Wait();
  }
  void Submit(Node& n, const std::string& type, int first, int count) {
    json batch = json::array();
    for (int i = first; i < first + count; ++i)
      batch.push_back({{"type", type}, {"params", {{"n", i}}}, {"max_attempts", 20}});
    auto r = SendHttp(n.port, "POST", "/api/worker/jobs/batch", batch.dump());
    ASSERT_EQ(r.status, 202) << r.raw;
  }

  TempDir dir_;
  std::string url_;
};

TEST_F(ServePostgresChaos, TwentyThousandJobsOnThreeNodesSurviveKillsAndLostConnections) {
  Node nodes[3];
  nodes[2].types = {"--types", "notify.%"};
  for (Node& n : nodes) Start(n);
  ASSERT_FALSE(HasFatalFailure());
  // Through all three nodes: C knows only the types it serves (a job of another type is a 400
  // there), so chaos jobs go through A and B.
  for (int first = 0, k = 0; first < kJobsPerType; first += 1000, ++k) {
    Submit(nodes[k % 2], "chaos", first, 1000);
    Submit(nodes[k % 3], "notify.chaos", first, 1000);
  }
  Sql db(url_);
  ASSERT_TRUE(db.ok());
  auto done = [&] { return db.Int("SELECT count(*) FROM items WHERE state = 'DONE'"); };

  std::mt19937 rng(20261207);
  std::vector<int64_t> kill_ms;
  std::vector<std::string> killed_pids;
  auto until = std::chrono::steady_clock::now() + std::chrono::minutes(10);
  while (done() < 2 * kJobsPerType && std::chrono::steady_clock::now() < until) {
    if (static_cast<int>(kill_ms.size()) < kKills && done() >= (kill_ms.size() + 1) * 2500) {
      Node& victim = nodes[rng() % 3];
      killed_pids.push_back(std::to_string(victim.process->pid()));
      kill_ms.push_back(NowMs());
      Kill(victim);
      std::this_thread::sleep_for(std::chrono::milliseconds(200 + rng() % 800));
      Start(victim);
      ASSERT_FALSE(HasFatalFailure());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  ASSERT_EQ(done(), 2 * kJobsPerType) << "not every job finished in time";
  EXPECT_EQ(static_cast<int>(kill_ms.size()), kKills);

  // Lost connections: the server ends every robotni session while jobs are queued.
  for (int first = kJobsPerType; first < kJobsPerType + 1000; first += 500)
    Submit(nodes[0], "chaos", first, 500);
  EXPECT_GT(db.Int("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                   "pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = "
                   "current_database()) t"),
            0);
  Sql db2(url_);  // this test's own session went too
  ASSERT_TRUE(db2.ok());
  until = std::chrono::steady_clock::now() + std::chrono::minutes(3);
  while (db2.Int("SELECT count(*) FROM items WHERE state = 'DONE'") < 2 * kJobsPerType + 1000 &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const int64_t all = 2 * kJobsPerType + 1000;
  EXPECT_EQ(db2.Int("SELECT count(*) FROM items WHERE state = 'DONE'"), all)
      << "jobs lost or stuck after the connections were cut";
  for (Node& n : nodes) {
    n.pump.reset();
    n.process->Kill(SIGTERM);
    RunResult r = n.process->Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
  }

  // Exactly once: one row per job, each DONE with its own result.
  EXPECT_EQ(db2.Int("SELECT count(*) FROM items"), all);
  EXPECT_EQ(db2.Int("SELECT count(DISTINCT (queue, payload)) FROM items"), all);
  EXPECT_EQ(db2.Int("SELECT count(*) FROM items WHERE queue = 'chaos' AND result::bigint = "
                    "2 * (payload::json->>'n')::bigint"),
            kJobsPerType + 1000);
  EXPECT_EQ(db2.Int("SELECT count(*) FROM items WHERE queue = 'notify.chaos' AND "
                    "result::bigint = 3 * (payload::json->>'n')::bigint"),
            kJobsPerType);
  // Node C never held a chaos job: no lease of one ever named any of its processes.
  std::string c_pids;
  for (pid_t p : nodes[2].pids) c_pids += (c_pids.empty() ? "" : "|") + std::to_string(p);
  EXPECT_EQ(db2.Int("SELECT count(*) FROM items WHERE queue = 'chaos' AND lease_owner ~ ':(" +
                    c_pids + "):'"),
            0);
  EXPECT_EQ(db2.Int("SELECT count(*) FROM timeline t JOIN items i ON i.id = t.item_id WHERE "
                    "i.queue = 'chaos' AND t.message ~ ':(" +
                    c_pids + "):'"),
            0);
  EXPECT_GT(db2.Int("SELECT count(*) FROM items WHERE queue = 'notify.chaos' AND lease_owner ~ "
                    "':(" +
                    c_pids + "):'"),
            0)
      << "node C ran no notify job";

  // Takeover: kill -> the killed node's jobs given back (by its restarted successor).
  std::vector<int64_t> takeover;
  for (size_t i = 0; i < kill_ms.size(); ++i) {
    int64_t at = db2.Int(
        "SELECT min(at) FROM timeline WHERE event = 'reaped' AND message LIKE "
        "'holder %:" +
        killed_pids[i] + ":% died%'");
    if (at > 0) takeover.push_back(at - kill_ms[i]);
  }
  const int64_t reaped = db2.Int("SELECT count(*) FROM timeline WHERE event = 'reaped'");
  printf("pg chaos: %d jobs on 3 nodes, %zu kills (%zu held jobs), %lld jobs given back\n",
         2 * kJobsPerType + 1000, kill_ms.size(), takeover.size(), static_cast<long long>(reaped));
  printf("pg chaos: kill -> jobs given back: median %.0f ms, max %.0f ms (includes the restart)\n",
         Percentile(takeover, 0.5), Percentile(takeover, 1.0));
  EXPECT_FALSE(takeover.empty()) << "no kill hit a node holding jobs";
}

}  // namespace
}  // namespace robotni::testing
