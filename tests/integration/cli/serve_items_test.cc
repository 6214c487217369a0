// `robotni serve` end to end, the work-items and management routes: batch submits, run_at,
// long-poll wait, captured logs, the Action Server /api/work-items shapes, multipart file
// uploads, and huey-style queue listings, revoke and flush. A real server on 127.0.0.1, a
// real client (POSIX sockets), on each store backend (SQLite, PostgreSQL).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

// Sent with every request. When the server has token authentication, the fixture hands it
// this token through ROBOTNI_TOKENS; otherwise the header is ignored.
constexpr const char* kToken = "serve-items-test-token-0123456789abcdef";

HttpReply Http(int port, const std::string& method, const std::string& path,
               const std::string& body = "", const std::string& content_type = "application/json") {
  return SendHttp(port, method, path, body, kToken, content_type);
}

// A multipart/form-data body with one file part named `field`.
std::string Multipart(const std::string& boundary, const std::string& field,
                      const std::string& filename, const std::string& content) {
  return "--" + boundary +
         "\r\n"
         "Content-Disposition: form-data; name=\"note\"\r\n\r\nignored\r\n"
         "--" +
         boundary + "\r\nContent-Disposition: form-data; name=\"" + field + "\"; filename=\"" +
         filename + "\"\r\nContent-Type: application/octet-stream\r\n\r\n" + content + "\r\n--" +
         boundary + "--\r\n";
}

std::string IsoUtc(int64_t seconds_from_now) {
  time_t t = time(nullptr) + seconds_from_now;
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[40];
  strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

class ServeItemsTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ok()) << store_.error();
    fs::path robot = FixtureDir("jobs_http");
    std::vector<std::string> args = {"serve",       "-r",      (robot / "robot.yaml").string(),
                                     "--jobs",      "jobs.py", "--listen",
                                     "127.0.0.1:0", "--store", store_.url(),
                                     "--grace",     "1"};
    RunOptions opts;
    opts.env["ROBOTNI_TOKENS"] = kToken;
    server_ = std::make_unique<Process>(args, opts);
    ASSERT_TRUE(server_->WaitForOutput("serving on", 30)) << "server did not start";
    port_ = ServingPort(*server_);  // --listen 127.0.0.1:0: a free port
  }
  void TearDown() override {
    if (!server_) return;
    server_->Kill(SIGTERM);
    RunResult r = server_->Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
  }
  HttpReply Get(const std::string& path) { return Http(port_, "GET", path); }
  HttpReply Post(const std::string& path, const std::string& body = "") {
    return Http(port_, "POST", path, body);
  }
  HttpReply Delete(const std::string& path) { return Http(port_, "DELETE", path); }
  json Wait(const std::string& id, double timeout = 20) {
    return Get("/api/worker/jobs/" + id + "/wait?timeout=" + std::to_string(timeout)).body;
  }

  TempDir dir_;
  TestStore store_{GetParam(), dir_.path()};
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

ROBOTNI_STORE_BACKENDS(ServeItemsTest);

TEST_P(ServeItemsTest, BatchIsAllOrNothingAndRunsEveryJob) {
  auto before = Get("/api/work-items?queue_name=add");
  ASSERT_EQ(before.status, 200) << before.raw;
  EXPECT_EQ(before.body["total"], 0);

  auto bad = Post("/api/worker/jobs/batch",
                  R"({"jobs":[{"type":"add","params":{"x":1,"y":2}},
                              {"type":"add","params":{"x":1}},
                              {"type":"add","params":{"x":3,"y":4}}]})");
  EXPECT_EQ(bad.status, 400) << bad.raw;
  EXPECT_EQ(bad.body["error"]["index"], 1);
  EXPECT_EQ(bad.body["error"]["message"], "jobs[1]: params.y: required");
  auto unknown = Post("/api/worker/jobs/batch", R"([{"type":"add","params":{"x":1,"y":2}},
                                                    {"type":"nope"}])");
  EXPECT_EQ(unknown.status, 400) << unknown.raw;
  EXPECT_EQ(unknown.body["error"]["index"], 1);
  EXPECT_EQ(Post("/api/worker/jobs/batch", R"({"jobs":[]})").status, 400);
  EXPECT_EQ(Post("/api/worker/jobs/batch", R"({"jobs":{}})").status, 400);
  EXPECT_EQ(Post("/api/worker/jobs/batch", "not json").status, 400);
  // Nothing of the refused batches was created.
  EXPECT_EQ(Get("/api/work-items?queue_name=add").body["total"], 0);

  auto ok = Post("/api/worker/jobs/batch",
                 R"({"jobs":[{"type":"add","params":{"x":1,"y":2}},
                             {"type":"add","params":{"x":3,"y":4},"priority":5},
                             {"type":"quiet"}]})");
  ASSERT_EQ(ok.status, 202) << ok.raw;
  ASSERT_EQ(ok.body["jobs"].size(), 3u);
  json a = Wait(ok.body["jobs"][0]["job_id"]);
  json b = Wait(ok.body["jobs"][1]["job_id"]);
  json c = Wait(ok.body["jobs"][2]["job_id"]);
  EXPECT_EQ(a["status"], "done");
  EXPECT_EQ(a["result"], 3);
  EXPECT_EQ(b["result"], 7);
  EXPECT_EQ(b["priority"], 5);
  EXPECT_EQ(c["status"], "done");
}

TEST_P(ServeItemsTest, RunAtSchedulesAndIsValidated) {
  // One timestamp for the request and the check: computed twice, a second could pass between.
  const std::string run_at = IsoUtc(3600);
  auto later = Post("/api/worker/jobs",
                    R"({"type":"add","params":{"x":1,"y":1},"run_at":")" + run_at + R"("})");
  ASSERT_EQ(later.status, 202) << later.raw;
  auto job = Get("/api/worker/jobs/" + later.body["job_id"].get<std::string>());
  EXPECT_EQ(job.body["status"], "queued");
  EXPECT_EQ(job.body["timeline"]["timeScheduled"].get<std::string>().substr(0, 19),
            run_at.substr(0, 19));
  auto past = Post("/api/worker/jobs",
                   R"({"type":"add","params":{"x":2,"y":2},"run_at":"2020-01-01T00:00:00.500Z"})");
  ASSERT_EQ(past.status, 202) << past.raw;
  EXPECT_EQ(Wait(past.body["job_id"])["result"], 4);
  for (const char* bad : {R"("2030-01-01")", R"("2030-02-31T00:00:00Z")", R"("tomorrow")", "12345",
                          R"("2030-13-01T00:00:00Z")"}) {
    auto r = Post("/api/worker/jobs",
                  std::string(R"({"type":"add","params":{"x":1,"y":1},"run_at":)") + bad + "}");
    EXPECT_EQ(r.status, 400) << bad;
  }
  auto both = Post("/api/worker/jobs", R"({"type":"add","params":{"x":1,"y":1},"delay_seconds":1,
                                           "run_at":"2030-01-01T00:00:00Z"})");
  EXPECT_EQ(both.status, 400);
}

TEST_P(ServeItemsTest, WaitReturnsWhenTheJobFinishesOrAtTheTimeout) {
  auto sub = Post("/api/worker/jobs", R"({"type":"sleepy","params":{"seconds":0.8}})");
  ASSERT_EQ(sub.status, 202) << sub.raw;
  std::string id = sub.body["job_id"];
  auto t0 = std::chrono::steady_clock::now();
  auto done = Get("/api/worker/jobs/" + id + "/wait?timeout=30");
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  ASSERT_EQ(done.status, 200) << done.raw;
  EXPECT_EQ(done.body["status"], "done");
  EXPECT_EQ(done.body["result"]["slept"], 0.8);
  EXPECT_LT(took, 15);

  // A job that will not run soon: the wait answers with the job as it is at the timeout.
  auto later = Post("/api/worker/jobs", R"({"type":"quiet","delay_seconds":3600})");
  std::string lid = later.body["job_id"];
  t0 = std::chrono::steady_clock::now();
  auto waited = Get("/api/worker/jobs/" + lid + "/wait?timeout=0.4");
  took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(waited.status, 200);
  EXPECT_EQ(waited.body["status"], "queued");
  EXPECT_GE(took, 0.35);
  EXPECT_LT(took, 5);

  // The loop keeps answering while waits are pending.
  std::thread slow([&] { Get("/api/worker/jobs/" + lid + "/wait?timeout=1.5"); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(Get("/healthz").status, 200);
  EXPECT_LT(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count(), 1.0);
  slow.join();

  EXPECT_EQ(Get("/api/worker/jobs/999999/wait?timeout=1").status, 404);
  EXPECT_EQ(Get("/api/worker/jobs/" + lid + "/wait?timeout=abc").status, 400);
  EXPECT_EQ(Get("/api/worker/jobs/" + lid + "/wait?timeout=-1").status, 400);
}

TEST_P(ServeItemsTest, LogServesTheCapturedOutput) {
  auto sub = Post("/api/worker/jobs", R"({"type":"add","params":{"x":2,"y":40}})");
  std::string id = sub.body["job_id"];
  ASSERT_EQ(Wait(id)["status"], "done");
  auto log = Get("/api/worker/jobs/" + id + "/log");
  ASSERT_EQ(log.status, 200) << log.raw;
  EXPECT_NE(log.Header("Content-Type").find("text/plain"), std::string::npos);
  EXPECT_NE(log.raw.find("adding 2 + 40\n"), std::string::npos) << log.raw;
  EXPECT_NE(log.raw.find("add: stderr line"), std::string::npos) << log.raw;

  auto quiet = Post("/api/worker/jobs", R"({"type":"quiet"})");
  std::string qid = quiet.body["job_id"];
  ASSERT_EQ(Wait(qid)["status"], "done");
  EXPECT_EQ(Get("/api/worker/jobs/" + qid + "/log").status, 404);
  EXPECT_EQ(Get("/api/worker/jobs/999999/log").status, 404);
}

TEST_P(ServeItemsTest, WorkItemsCreateGetListStatsDelete) {
  auto created = Post("/api/work-items", R"({"payload":{"order":1}})");
  ASSERT_EQ(created.status, 200) << created.raw;
  const json& w = created.body;
  for (const char* key : {"id", "queue_name", "state", "payload", "parent_id", "error_code",
                          "error_message", "files", "created_at", "updated_at"})
    EXPECT_TRUE(w.contains(key)) << key;
  EXPECT_EQ(w.size(), 10u);
  EXPECT_EQ(w["queue_name"], "default");
  EXPECT_EQ(w["state"], "PENDING");
  EXPECT_EQ(w["payload"], json({{"order", 1}}));
  EXPECT_TRUE(w["parent_id"].is_null());
  EXPECT_TRUE(w["error_code"].is_null());
  EXPECT_EQ(w["files"], json::array());
  EXPECT_EQ(w["created_at"].get<std::string>().back(), 'Z');
  std::string first = w["id"];

  auto second = Post("/api/work-items", R"({"payload":null,"queue_name":"other"})");
  ASSERT_EQ(second.status, 200) << second.raw;
  EXPECT_EQ(second.body["queue_name"], "other");
  auto third = Post("/api/work-items", R"({"payload":{"order":3}})");
  EXPECT_EQ(Post("/api/work-items", R"({"payload":5})").status, 400);
  EXPECT_EQ(Post("/api/work-items", R"({"queue_name":7})").status, 400);
  EXPECT_EQ(Post("/api/work-items", "[1]").status, 400);

  auto got = Get("/api/work-items/" + first);
  ASSERT_EQ(got.status, 200);
  EXPECT_EQ(got.body["id"], first);
  EXPECT_EQ(Get("/api/work-items/999999").status, 404);

  // Scalar payloads (a job's params may be any JSON value) show as null.
  auto scalar = Post("/api/worker/jobs", R"({"type":"number","params":5,"delay_seconds":3600})");
  ASSERT_EQ(scalar.status, 202) << scalar.raw;
  auto sc = Get("/api/work-items/" + scalar.body["job_id"].get<std::string>());
  EXPECT_TRUE(sc.body["payload"].is_null());
  EXPECT_EQ(sc.body["queue_name"], "number");

  auto list = Get("/api/work-items?queue_name=default");
  ASSERT_EQ(list.status, 200);
  ASSERT_EQ(list.body["total"], 2);
  EXPECT_EQ(list.body["items"][0]["id"], third.body["id"]);  // newest first
  EXPECT_EQ(list.body["items"][1]["id"], first);
  EXPECT_EQ(Get("/api/work-items").body["total"], 4);
  EXPECT_EQ(Get("/api/work-items?limit=1").body["items"].size(), 1u);
  EXPECT_EQ(Get("/api/work-items?state=PENDING&queue_name=other").body["total"], 1);
  EXPECT_EQ(Get("/api/work-items?state=DONE&queue_name=default").body["total"], 0);
  EXPECT_EQ(Get("/api/work-items?state=BOGUS").status, 400);
  EXPECT_EQ(Get("/api/work-items?limit=0").status, 400);
  EXPECT_EQ(Get("/api/work-items?limit=x").status, 400);

  auto stats = Get("/api/work-items/stats");
  ASSERT_EQ(stats.status, 200);
  EXPECT_EQ(stats.body, json({{"queue_name", "default"},
                              {"pending", 2},
                              {"in_progress", 0},
                              {"done", 0},
                              {"failed", 0},
                              {"total", 2}}));
  EXPECT_EQ(Get("/api/work-items/stats?queue_name=other").body["pending"], 1);

  auto del = Delete("/api/work-items/" + first);
  ASSERT_EQ(del.status, 200);
  EXPECT_EQ(del.body, json({{"status", "deleted"}, {"id", first}}));
  EXPECT_EQ(Get("/api/work-items/" + first).status, 404);
  EXPECT_EQ(Delete("/api/work-items/" + first).status, 404);
  EXPECT_EQ(Get("/api/work-items/stats").body["total"], 1);
}

TEST_P(ServeItemsTest, WorkItemFilesUploadListDownloadDelete) {
  std::string id = Post("/api/work-items", R"({"payload":{}})").body["id"];
  std::string base = "/api/work-items/" + id + "/files";
  std::string content("bin\0ary\r\n--data", 15);
  const std::string ct = "multipart/form-data; boundary=TestBoundary42";
  auto up = Http(port_, "POST", base, Multipart("TestBoundary42", "file", "a.bin", content), ct);
  ASSERT_EQ(up.status, 200) << up.raw;
  EXPECT_EQ(up.body, json({{"status", "uploaded"},
                           {"item_id", id},
                           {"filename", "a.bin"},
                           {"size", content.size()}}));

  auto dup = Http(port_, "POST", base, Multipart("TestBoundary42", "file", "a.bin", "x"), ct);
  EXPECT_EQ(dup.status, 409) << dup.raw;
  auto dots = Http(port_, "POST", base, Multipart("TestBoundary42", "file", "../x", "x"), ct);
  EXPECT_EQ(dots.status, 400) << dots.raw;
  auto no_field = Http(port_, "POST", base, Multipart("TestBoundary42", "other", "b.txt", "x"), ct);
  EXPECT_EQ(no_field.status, 400);
  auto no_boundary =
      Http(port_, "POST", base, Multipart("B", "file", "b.txt", "x"), "multipart/form-data");
  EXPECT_EQ(no_boundary.status, 400);
  auto not_multipart = Http(port_, "POST", base, "{}", "application/json");
  EXPECT_EQ(not_multipart.status, 400);
  std::string truncated = Multipart("TestBoundary42", "file", "b.txt", "x");
  truncated.resize(truncated.size() - 20);
  EXPECT_EQ(Http(port_, "POST", base, truncated, ct).status, 400);
  auto missing_item = Http(port_, "POST", "/api/work-items/999999/files",
                           Multipart("TestBoundary42", "file", "b.txt", "x"), ct);
  EXPECT_EQ(missing_item.status, 404);
  auto second = Http(port_, "POST", base, Multipart("TestBoundary42", "file", "b c.txt", "hi"), ct);
  ASSERT_EQ(second.status, 200) << second.raw;

  auto list = Get(base);
  ASSERT_EQ(list.status, 200);
  EXPECT_EQ(list.body["item_id"], id);
  EXPECT_EQ(list.body["files"], json({"a.bin", "b c.txt"}));
  EXPECT_EQ(Get("/api/work-items/" + id).body["files"], json({"a.bin", "b c.txt"}));
  EXPECT_EQ(Get("/api/work-items/999999/files").status, 404);

  auto down = Get(base + "/a.bin");
  ASSERT_EQ(down.status, 200);
  EXPECT_EQ(down.raw, content);
  EXPECT_EQ(down.Header("Content-Type"), "application/octet-stream");
  EXPECT_EQ(down.Header("Content-Disposition"), "attachment; filename=\"a.bin\"");
  EXPECT_EQ(Get(base + "/b%20c.txt").raw, "hi");
  EXPECT_EQ(Get(base + "/nope.txt").status, 404);
  EXPECT_EQ(Get(base + "/..%2Fx").status, 400);

  auto del = Delete(base + "/a.bin");
  EXPECT_EQ(del.status, 200) << del.raw;
  EXPECT_EQ(Get(base + "/a.bin").status, 404);
  EXPECT_EQ(Delete(base + "/a.bin").status, 404);
  EXPECT_EQ(Get(base).body["files"], json({"b c.txt"}));
}

TEST_P(ServeItemsTest, QueueManagementListsRevokesAndFlushes) {
  // Work items in "default" are never run (no job type is named so): pending stays pending.
  Post("/api/work-items", R"({"payload":{"n":1}})");
  Post("/api/work-items", R"({"payload":{"n":2}})");
  auto later = Post("/api/worker/jobs", R"({"type":"quiet","delay_seconds":3600})");
  std::string lid = later.body["job_id"];

  auto pending = Get("/api/worker/queues/default/pending");
  ASSERT_EQ(pending.status, 200) << pending.raw;
  EXPECT_EQ(pending.body["count"], 2);
  EXPECT_EQ(pending.body["pending"][0]["params"], json({{"n", 1}}));
  auto scheduled = Get("/api/worker/queues/quiet/scheduled");
  ASSERT_EQ(scheduled.status, 200);
  ASSERT_EQ(scheduled.body["count"], 1);
  EXPECT_EQ(scheduled.body["scheduled"][0]["job_id"], lid);
  EXPECT_EQ(Get("/api/worker/queues/quiet/pending").body["count"], 0);
  EXPECT_EQ(Get("/api/worker/queues/default/scheduled").body["count"], 0);
  EXPECT_EQ(Get("/api/worker/queues/quiet/revoked").body["count"], 0);

  auto revoked = Post("/api/worker/jobs/" + lid + "/revoke");
  ASSERT_EQ(revoked.status, 200) << revoked.raw;
  EXPECT_EQ(revoked.body["status"], "cancelled");
  auto rl = Get("/api/worker/queues/quiet/revoked");
  ASSERT_EQ(rl.body["count"], 1);
  EXPECT_EQ(rl.body["revoked"][0]["job_id"], lid);
  EXPECT_EQ(Get("/api/worker/queues/quiet/scheduled").body["count"], 0);
  EXPECT_EQ(Get("/api/work-items/" + lid).body["state"], "FAILED");
  EXPECT_EQ(Get("/api/work-items/" + lid).body["error_code"], "CANCELLED");
  EXPECT_EQ(Post("/api/worker/jobs/" + lid + "/revoke").status, 200);  // idempotent
  auto done = Post("/api/worker/jobs", R"({"type":"quiet"})");
  ASSERT_EQ(Wait(done.body["job_id"])["status"], "done");
  EXPECT_EQ(Post("/api/worker/jobs/" + done.body["job_id"].get<std::string>() + "/revoke").status,
            409);
  EXPECT_EQ(Post("/api/worker/jobs/999999/revoke").status, 404);

  auto flushed = Post("/api/worker/queues/default/flush");
  ASSERT_EQ(flushed.status, 200) << flushed.raw;
  EXPECT_EQ(flushed.body, json({{"flushed", 2}}));
  EXPECT_EQ(Get("/api/worker/queues/default/pending").body["count"], 0);
  EXPECT_EQ(Get("/api/worker/queues/default/revoked").body["count"], 2);
  EXPECT_EQ(Post("/api/worker/queues/default/flush").body["flushed"], 0);
  EXPECT_EQ(Get("/api/worker/queues/default/pending?limit=0").status, 400);
}

}  // namespace
}  // namespace robotni::testing
