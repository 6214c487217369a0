// `robotni serve` end to end: a real server on 127.0.0.1 probed by a real client, on each
// store backend (SQLite, PostgreSQL).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

HttpReply Http(int port, const std::string& method, const std::string& path,
               const std::string& body = "") {
  return SendHttp(port, method, path, body);
}

class ServeTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ok()) << store_.error();
    std::vector<std::string> args = ServeExampleArgs(
        store_.url(), {"--grace", "1", "--no-auth"});  // loopback only; tokens: serve_auth_test.cc
    server_ = std::make_unique<Process>(args, RunOptions{});
    ASSERT_TRUE(server_->WaitForOutput("serving on", 30)) << "server did not start";
    port_ = ServingPort(*server_);  // --listen 127.0.0.1:0: a free port
  }
  json WaitDone(const std::string& id) {
    for (int i = 0; i < 200; ++i) {
      auto r = Http(port_, "GET", "/api/worker/jobs/" + id);
      if (r.body.is_object() && (r.body["status"] == "done" || r.body["status"] == "failed"))
        return r.body;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return json();
  }

  TempDir dir_;
  TestStore store_{GetParam(), dir_.path()};
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

ROBOTNI_STORE_BACKENDS(ServeTest);

TEST_P(ServeTest, SubmitsRunsAndReportsJobs) {
  auto health = Http(port_, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  auto types = Http(port_, "GET", "/api/worker/types");
  ASSERT_EQ(types.status, 200);
  EXPECT_EQ(types.body["types"].size(), 4u);

  auto sub = Http(port_, "POST", "/api/worker/jobs", R"({"type":"add","params":{"x":2,"y":40}})");
  ASSERT_EQ(sub.status, 202) << sub.body.dump();
  EXPECT_EQ(sub.body["status"], "queued");
  json done = WaitDone(sub.body["job_id"]);
  EXPECT_EQ(done["status"], "done");
  EXPECT_EQ(done["result"], 42);
  EXPECT_NE(done["timeline"]["timeFinished"], "");

  auto email = Http(port_, "POST", "/api/worker/jobs",
                    R"({"type":"notify.email.v1","params":{"to":"","subject":"hi"}})");
  json failed = WaitDone(email.body["job_id"]);
  EXPECT_EQ(failed["status"], "failed");
  EXPECT_EQ(failed["error"]["type"], "BUSINESS");
  EXPECT_EQ(failed["error"]["code"], "NO_RECIPIENT");

  server_->Kill(SIGTERM);
  RunResult r = server_->Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
}

// The ETag is decided from the job's row before the body is rendered: it must still name the
// body exactly (same job, same tag; any change, a new tag).
TEST_P(ServeTest, AJobsEtagAnswers304UntilTheJobChanges) {
  auto sub = Http(port_, "POST", "/api/worker/jobs",
                  R"({"type":"add","params":{"x":1,"y":2},"delay_seconds":3600})");
  ASSERT_EQ(sub.status, 202) << sub.body.dump();
  const std::string path = "/api/worker/jobs/" + sub.body["job_id"].get<std::string>();
  auto first = Http(port_, "GET", path);
  ASSERT_EQ(first.status, 200);
  const std::string etag = first.Header("ETag");
  ASSERT_FALSE(etag.empty());
  EXPECT_EQ(Http(port_, "GET", path).Header("ETag"), etag);
  auto again = SendHttp(port_, "GET", path, "", "", "", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(again.status, 304);
  EXPECT_EQ(again.Header("ETag"), etag);
  EXPECT_TRUE(again.raw.empty());
  auto other = SendHttp(port_, "GET", path, "", "", "", "If-None-Match: \"r-0\"\r\n");
  EXPECT_EQ(other.status, 200);
  EXPECT_EQ(other.raw, first.raw);

  ASSERT_EQ(Http(port_, "DELETE", path).status, 200);
  auto changed = SendHttp(port_, "GET", path, "", "", "", "If-None-Match: " + etag + "\r\n");
  EXPECT_EQ(changed.status, 200);
  EXPECT_EQ(changed.body["status"], "cancelled");
  EXPECT_NE(changed.Header("ETag"), etag);
  EXPECT_NE(changed.Header("ETag"), "");
}

// serve keeps the rendered JSON of jobs polled while its SQLite store is unchanged
// (api/job_view_cache.h): a change by another process must show at the next GET.
TEST_P(ServeTest, AJobChangedByAnotherProcessIsReadFreshAtOnce) {
  auto sub = Http(port_, "POST", "/api/worker/jobs",
                  R"({"type":"add","params":{"x":1,"y":2},"delay_seconds":3600})");
  ASSERT_EQ(sub.status, 202) << sub.body.dump();
  const std::string id = sub.body["job_id"];
  const std::string path = "/api/worker/jobs/" + id;
  auto first = Http(port_, "GET", path);
  ASSERT_EQ(first.status, 200);
  EXPECT_EQ(first.body["status"], "queued");
  EXPECT_EQ(Http(port_, "GET", path).raw, first.raw);  // the second may come from the cache
  RunResult cancel = RunRobotni({"items", "cancel", id, "--store", store_.url()});
  ASSERT_EQ(cancel.exit_code, 0) << cancel;
  auto after =
      SendHttp(port_, "GET", path, "", "", "", "If-None-Match: " + first.Header("ETag") + "\r\n");
  EXPECT_EQ(after.status, 200);
  EXPECT_EQ(after.body["status"], "cancelled");
  EXPECT_NE(after.Header("ETag"), first.Header("ETag"));
}

TEST_P(ServeTest, BadSubmissionsAreRefusedWithTheField) {
  auto missing = Http(port_, "POST", "/api/worker/jobs", R"({"type":"add","params":{"x":1}})");
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(missing.body["error"]["message"], "params.y: required");
  auto wrong =
      Http(port_, "POST", "/api/worker/jobs", R"({"type":"add","params":{"x":"1","y":2}})");
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.body["error"]["message"], "params.x: expected number");
  auto unknown = Http(port_, "POST", "/api/worker/jobs", R"({"type":"nope"})");
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.body["error"]["types"].size(), 4u);
  auto junk = Http(port_, "POST", "/api/worker/jobs", "{not json");
  EXPECT_EQ(junk.status, 400);
  auto none = Http(port_, "GET", "/api/worker/jobs/999999");
  EXPECT_EQ(none.status, 404);
  server_->Kill(SIGTERM);
  EXPECT_EQ(server_->Wait().exit_code, 0);
}

// --lease is the lease of what serve claims: a job's lease runs out that long after its start
// (heartbeats renew it every third of it).
class ServeLeaseTest : public ::testing::TestWithParam<Backend> {};
ROBOTNI_STORE_BACKENDS(ServeLeaseTest);

TEST_P(ServeLeaseTest, TheLeaseSettingIsTheLeaseOfEveryClaim) {
  TempDir dir;
  TestStore test_store(GetParam(), dir.path());
  ASSERT_TRUE(test_store.ok()) << test_store.error();
  const std::string& store = test_store.url();
  Process server(ServeExampleArgs(store, {"--no-auth", "--grace", "0", "--lease", "3"}),
                 RunOptions{});
  ASSERT_TRUE(server.WaitForOutput("serving on", 30)) << "server did not start";
  const int port = ServingPort(server);
  auto sub = SendHttp(port, "POST", "/api/worker/jobs",
                      R"({"type":"fakejob","params":{"delay_seconds":2,"min_seconds":2}})");
  ASSERT_EQ(sub.status, 202) << sub.body.dump();
  const std::string id = sub.body["job_id"];
  json item;
  for (int i = 0; i < 200; ++i) {
    RunResult shown = RunRobotni({"items", "show", "--store", store, "--json", id});
    ASSERT_EQ(shown.exit_code, 0) << shown;
    item = json::parse(shown.out);
    if (item["state"] == "RESERVED") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  ASSERT_EQ(item["state"], "RESERVED") << item.dump();
  const int64_t lease_ms =
      item["lease_expires_ms"].get<int64_t>() - item["started_ms"].get<int64_t>();
  EXPECT_GE(lease_ms, 3000) << item.dump();
  EXPECT_LT(lease_ms, 3000 + 1500) << item.dump();  // at most one heartbeat (1 s) later
  server.Kill(SIGTERM);
  EXPECT_EQ(server.Wait().exit_code, 0);
}

// A SIGTERM while serve starts (here: after its first warning, while two worker processes
// start) is held and then drains: exit 0, not death by the signal's default action.
TEST(ServeStartTest, SigtermWhileStartingStopsCleanly) {
  TempDir dir;
  Process server(ServeExampleArgs((dir.path() / "wi.db").string(),
                                  {"--no-auth", "--workers", "2", "--grace", "1"}),
                 RunOptions{});
  ASSERT_TRUE(server.WaitForOutput("--no-auth", 30)) << "serve printed no --no-auth warning";
  server.Kill(SIGTERM);
  RunResult r = server.Wait();
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_NE(r.all().find("SIGTERM: draining"), std::string::npos) << r;
}

}  // namespace
}  // namespace robotni::testing
