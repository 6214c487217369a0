// GET /api/worker/jobs as the dashboard pages and filters it (issue #16): keyset cursors that
// hold while jobs are added, the total for the filter, type / state / text / time filters, and
// a 400 naming the parameter for each bad value. A real `robotni serve` on 127.0.0.1, a real
// store (SQLite and PostgreSQL) and a real HTTP client.
#include <gtest/gtest.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

constexpr const char* kToken = "serve-job-list-test-token-0123456789abcdef";

class ServeJobListTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ok()) << store_.error();
    fs::path jobs = FixtureDir("jobs_http");
    RunOptions opts;
    opts.env["ROBOTNI_TOKENS"] = kToken;
    server_ = std::make_unique<Process>(
        std::vector<std::string>{"serve", "-r", (jobs / "robot.yaml").string(), "--jobs", "jobs.py",
                                 "--listen", "127.0.0.1:0", "--store", store_.url(), "--grace",
                                 "1"},
        opts);
    ASSERT_TRUE(server_->WaitForOutput("serving on", 30)) << "server did not start";
    port_ = ServingPort(*server_);
  }
  void TearDown() override {
    if (!server_) return;
    server_->Kill(SIGTERM);
    RunResult r = server_->Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
  }
  HttpReply Call(const std::string& method, const std::string& path, const std::string& body = "") {
    return SendHttp(port_, method, path, body, kToken);
  }
  json List(const std::string& query) {
    auto r = Call("GET", "/api/worker/jobs?" + query);
    EXPECT_EQ(r.status, 200) << query << ": " << r.raw;
    return r.body;
  }
  static std::vector<std::string> Ids(const json& page) {
    std::vector<std::string> ids;
    for (const auto& j : page["jobs"]) ids.push_back(j["job_id"]);
    return ids;
  }
  std::vector<std::string> SubmitQuiet(int from, int n) {
    json jobs = json::array();
    for (int i = from; i < from + n; ++i)
      jobs.push_back({{"type", "quiet"}, {"params", {{"n", i}, {"tag", "t" + std::to_string(i)}}}});
    auto r = Call("POST", "/api/worker/jobs/batch", json{{"jobs", jobs}}.dump());
    EXPECT_EQ(r.status, 202) << r.raw;
    std::vector<std::string> ids;
    for (const auto& j : r.body["jobs"]) ids.push_back(j["job_id"]);
    return ids;
  }
  void WaitDone(const std::string& id) {
    auto r = Call("GET", "/api/worker/jobs/" + id + "/wait?timeout=30");
    ASSERT_EQ(r.status, 200) << r.raw;
    ASSERT_NE(r.body["status"], "queued") << r.raw;
    ASSERT_NE(r.body["status"], "running") << r.raw;
  }

  TempDir dir_;
  TestStore store_{GetParam(), dir_.path()};
  std::unique_ptr<Process> server_;
  int port_ = 0;
};

ROBOTNI_STORE_BACKENDS(ServeJobListTest);

TEST_P(ServeJobListTest, CursorsPageThroughEveryJobOnceAndHoldWhileJobsAreAdded) {
  std::vector<std::string> ids = SubmitQuiet(0, 25);
  ASSERT_EQ(ids.size(), 25u);
  ASSERT_NO_FATAL_FAILURE(WaitDone(ids.back()));

  json p1 = List("limit=10");
  EXPECT_EQ(p1["total"], 25) << p1;
  EXPECT_TRUE(p1["prev_cursor"].is_null()) << p1;
  ASSERT_TRUE(p1["next_cursor"].is_string()) << p1;
  // Three jobs arrive between page 1 and page 2: the cursor's page 2 is still the ten after
  // page 1 (an offset would now repeat three of page 1).
  std::vector<std::string> later = SubmitQuiet(100, 3);
  json p2 = List("limit=10&cursor=" + p1["next_cursor"].get<std::string>());
  json p3 = List("limit=10&cursor=" + p2["next_cursor"].get<std::string>());
  EXPECT_EQ(p2["total"], 28) << "the total counts the new jobs";
  EXPECT_TRUE(p3["next_cursor"].is_null()) << p3;
  std::vector<std::string> seen;
  for (const json* p : {&p1, &p2, &p3})
    for (const auto& id : Ids(*p)) seen.push_back(id);
  std::vector<std::string> expected(ids.rbegin(), ids.rend());  // newest first
  EXPECT_EQ(seen, expected);

  // Back from page 3: page 2 again; back from page 2: page 1 (the ten just above page 2);
  // back from page 1: the three jobs added meanwhile, and nothing above them.
  json back2 = List("limit=10&cursor=" + p3["prev_cursor"].get<std::string>());
  EXPECT_EQ(Ids(back2), Ids(p2));
  json back1 = List("limit=10&cursor=" + back2["prev_cursor"].get<std::string>());
  EXPECT_EQ(Ids(back1), Ids(p1));
  ASSERT_TRUE(back1["prev_cursor"].is_string()) << back1;
  json newest = List("limit=10&cursor=" + back1["prev_cursor"].get<std::string>());
  EXPECT_EQ(Ids(newest), (std::vector<std::string>{later[2], later[1], later[0]}));
  EXPECT_TRUE(newest["prev_cursor"].is_null()) << newest;
  EXPECT_EQ(newest["next_cursor"], "o" + later[0]) << newest;
}

TEST_P(ServeJobListTest, FiltersByTypeStateTextAndTimeWithTheTotalForTheFilter) {
  int64_t before = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  std::vector<std::string> quiet = SubmitQuiet(0, 12);
  auto add = Call("POST", "/api/worker/jobs", R"({"type":"add","params":{"x":1,"y":2}})");
  ASSERT_EQ(add.status, 202) << add.raw;
  // time.sleep("zzz-nap") raises TypeError: one attempt, then failed.
  auto bad = Call("POST", "/api/worker/jobs",
                  R"({"type":"sleepy","params":{"seconds":"zzz-nap"},"max_attempts":1})");
  ASSERT_EQ(bad.status, 202) << bad.raw;
  std::string add_id = add.body["job_id"], bad_id = bad.body["job_id"];
  ASSERT_NO_FATAL_FAILURE(WaitDone(quiet.back()));
  ASSERT_NO_FATAL_FAILURE(WaitDone(add_id));
  ASSERT_NO_FATAL_FAILURE(WaitDone(bad_id));

  EXPECT_EQ(List("")["total"], 14);
  json q = List("type=quiet&limit=5");
  EXPECT_EQ(q["total"], 12);
  EXPECT_EQ(q["jobs"].size(), 5u);
  EXPECT_EQ(List("type=add")["total"], 1);
  json failed = List("state=failed");
  EXPECT_EQ(failed["total"], 1) << failed;
  EXPECT_EQ(Ids(failed), std::vector<std::string>{bad_id});
  EXPECT_EQ(List("state=done&type=quiet")["total"], 12);

  // Text in the params JSON, ASCII case-insensitive; LIKE's wildcards are literal.
  EXPECT_EQ(Ids(List("q=t7")), std::vector<std::string>{quiet[7]});
  EXPECT_EQ(Ids(List("q=T7")), std::vector<std::string>{quiet[7]});
  EXPECT_EQ(List("q=zzz-nap")["total"], 1);
  EXPECT_EQ(List("q=%25")["total"], 0) << "% is not a wildcard";
  EXPECT_EQ(List("q=t_")["total"], 0) << "_ is not a wildcard";
  // Text in the error (the TypeError's message and traceback), not in any params.
  json err = List("q=TypeError");
  EXPECT_EQ(Ids(err), std::vector<std::string>{bad_id}) << err;
  EXPECT_EQ(List("q=t1&type=quiet")["total"], 3) << "t1, t10, t11";

  // Time range on the queued time: ms or ISO 8601 UTC; since inclusive, until exclusive.
  EXPECT_EQ(List("since=" + std::to_string(before))["total"], 14);
  EXPECT_EQ(List("since=2000-01-01T00:00:00Z")["total"], 14);
  EXPECT_EQ(List("until=2000-01-01T00:00:00Z")["total"], 0);
  EXPECT_EQ(List("until=" + std::to_string(before))["total"], 0);
  EXPECT_EQ(List("since=" + std::to_string(before + 3600 * 1000))["total"], 0);
}

TEST_P(ServeJobListTest, BadValuesAre400NamingTheParameter) {
  for (auto [query, name] : std::vector<std::pair<std::string, std::string>>{
           {"limit=0", "limit"},
           {"limit=1001", "limit"},
           {"limit=ten", "limit"},
           {"offset=-1", "offset"},
           {"state=sleeping", "state"},
           {"cursor=zz", "cursor"},
           {"cursor=o", "cursor"},
           {"cursor=o12&offset=5", "cursor"},
           {"since=yesterday", "since"},
           {"until=2030-13-01T00:00:00Z", "until"},
           {"since=2030-01-02T00:00:00Z&until=2030-01-01T00:00:00Z", "since"},
           {"q=" + std::string(201, 'x'), "q"}}) {
    auto r = Call("GET", "/api/worker/jobs?" + query);
    EXPECT_EQ(r.status, 400) << query << ": " << r.raw;
    std::string msg = r.body["error"].value("message", "");
    EXPECT_EQ(msg.rfind(name + ":", 0), 0u) << query << ": " << msg;
  }
}

}  // namespace
}  // namespace robotni::testing
