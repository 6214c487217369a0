// A serve node whose database goes away while jobs run (issue #14 point 3): the test's own
// database refuses connections (ALLOW_CONNECTIONS false) and every session to it is ended for
// four seconds while two 2-second jobs run and a third runner is idle. The node stops claiming
// meanwhile, claims again once the database is back, and stores the outcomes it could not store
// then: every job ends DONE, and none ran twice (each run appends a line to a file the test reads).
#include <gtest/gtest.h>
#include <libpq-fe.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/pg_server.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

std::string Exec(PGconn* c, const std::string& sql) {
  PGresult* r = PQexec(c, sql.c_str());
  std::string error = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK
                          ? ""
                          : PQerrorMessage(c);
  PQclear(r);
  return error;
}

TEST(ServePostgresLostDb, OutcomesFinishedWhileTheDatabaseWasGoneAreStoredOnce) {
  std::string url, error;
  ASSERT_TRUE(PgTestUrl("lostdb", &url, &error)) << error;
  // A database of its own (other tests share the fixture's), so it can be closed.
  const size_t slash = url.rfind('/'), q = url.find('?');
  const std::string db = "lost_" + std::to_string(getpid());
  PGconn* admin = PQconnectdb(url.substr(0, q).c_str());
  ASSERT_EQ(PQstatus(admin), CONNECTION_OK) << PQerrorMessage(admin);
  ASSERT_EQ(Exec(admin, "CREATE DATABASE " + db), "");
  const std::string store = url.substr(0, slash + 1) + db + "?search_path=lost";

  TempDir dir;
  const fs::path runs = dir / "runs.txt";
  WriteFile(dir / "jobs.py",
            "import time\nfrom robotni import job\n\n@job(\"slow\")\n"
            "def slow(n):\n    time.sleep(2)\n"
            "    with open(" +
                json(runs.string()).dump() +
                ", \"a\") as f:\n"
                "        f.write(f\"{n}\\n\")\n    return n\n");
  Process node({"serve", "-r", (SourceDir() / "robot.yaml").string(), "--store", store, "--jobs",
                (dir / "jobs.py").string(), "--listen", "127.0.0.1:0", "--no-auth", "--workers",
                "3", "--grace", "5"},
               RunOptions{.timeout_seconds = 180});
  ASSERT_TRUE(node.WaitForOutput("serving on", 60)) << node.output();
  const int port = ServingPort(node);
  auto pump = std::make_unique<OutputPump>(&node);
  std::vector<std::string> ids;
  auto submit = [&](int first, int count) {
    json batch = json::array();
    for (int n = first; n < first + count; ++n)
      batch.push_back({{"type", "slow"}, {"params", {{"n", n}}}});
    auto sent = SendHttp(port, "POST", "/api/worker/jobs/batch", batch.dump());
    EXPECT_EQ(sent.status, 202) << sent.raw;
    for (const auto& j : sent.body["jobs"]) ids.push_back(j["job_id"]);
  };
  // Two jobs for three runners: two run and one runner is idle, claiming, when the database
  // goes away.
  submit(0, 2);
  std::this_thread::sleep_for(std::chrono::milliseconds(700));

  ASSERT_EQ(Exec(admin, "ALTER DATABASE " + db + " ALLOW_CONNECTIONS false"), "");
  const auto back_at = std::chrono::steady_clock::now() + std::chrono::seconds(4);
  int ended = 0;
  while (std::chrono::steady_clock::now() < back_at) {
    PGresult* r = PQexec(admin, ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                 "WHERE datname = '" +
                                 db + "'")
                                    .c_str());
    if (PQresultStatus(r) == PGRES_TUPLES_OK) ended += atoi(PQgetvalue(r, 0, 0));
    PQclear(r);
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  ASSERT_EQ(Exec(admin, "ALTER DATABASE " + db + " ALLOW_CONNECTIONS true"), "");
  EXPECT_GT(ended, 0) << "the node had no session to end";

  submit(2, 4);  // and four more once it is back
  std::map<std::string, int> by_status;
  for (const std::string& id : ids) {
    auto r = SendHttp(port, "GET", "/api/worker/jobs/" + id + "/wait?timeout=60");
    ASSERT_EQ(r.status, 200) << r.raw;
    ++by_status[r.body["status"].get<std::string>()];
  }
  EXPECT_EQ(by_status["done"], 6) << json(by_status).dump();
  pump.reset();
  node.Kill(SIGTERM);
  RunResult r = node.Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  // Each job ran once: a lost outcome would have run it again after its lease expired.
  std::multiset<std::string> lines;
  std::istringstream in(ReadFile(runs));
  for (std::string line; std::getline(in, line);) lines.insert(line);
  EXPECT_EQ(lines.size(), 6u) << ReadFile(runs);
  EXPECT_EQ(std::set<std::string>(lines.begin(), lines.end()).size(), 6u) << ReadFile(runs);
  // The two jobs running when the database went away stored their outcomes on a retry.
  EXPECT_NE(r.err.find("its outcome was stored after a retry"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("cannot claim jobs"), std::string::npos) << r.err;
  PQfinish(admin);
}

}  // namespace
}  // namespace robotni::testing
