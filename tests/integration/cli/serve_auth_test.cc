// `robotni serve` security and metrics end to end: bearer tokens and scopes, the token made
// on first start, --no-auth refused off loopback, the rate limit, and /metrics read by the
// Prometheus reference parser (python3-prometheus-client).
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

HttpReply Http(int port, const std::string& method, const std::string& path,
               const std::string& token = "", const std::string& body = "") {
  return SendHttp(port, method, path, body, token);
}

std::string Trimmed(std::string s) {
  while (!s.empty() && isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  return s;
}

class ServeAuthTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra, RunOptions opts = {}) {
    std::vector<std::string> args =
        ServeExampleArgs((dir_.path() / "wi.db").string(), {"--grace", "1"});
    args.insert(args.end(), extra.begin(), extra.end());
    opts.unset_env.push_back("ROBOTNI_TOKENS");
    server_ = std::make_unique<Process>(args, opts);
    ASSERT_TRUE(server_->WaitForOutput("serving on", 30)) << server_->Wait();
    port_ = ServingPort(*server_);  // --listen 127.0.0.1:0: a free port
  }
  void Stop() {
    server_->Kill(SIGTERM);
    RunResult r = server_->Wait();
    EXPECT_EQ(r.exit_code, 0) << r;
  }
  std::string TokenFile(const std::string& text) {
    fs::path p = dir_.path() / "tokens";
    WriteFile(p, text);
    return p.string();
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

TEST_F(ServeAuthTest, TokensAndScopes) {
  Start(
      {"--token-file", TokenFile("# tokens\nread:reader-token\nwrite:writer-token\nboth-token\n")});
  auto health = Http(port_, "GET", "/healthz");
  EXPECT_EQ(health.status, 200);
  auto none = Http(port_, "GET", "/api/worker/types");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(none.Header("WWW-Authenticate"), "Bearer realm=\"robotni\"");
  auto wrong = Http(port_, "GET", "/api/worker/types", "not-a-token");
  EXPECT_EQ(wrong.status, 401);
  auto read = Http(port_, "GET", "/api/worker/types", "reader-token");
  EXPECT_EQ(read.status, 200);
  const std::string job = R"({"type":"add","params":{"x":2,"y":40}})";
  auto post_read = Http(port_, "POST", "/api/worker/jobs", "reader-token", job);
  EXPECT_EQ(post_read.status, 403) << post_read.raw;
  auto post_write = Http(port_, "POST", "/api/worker/jobs", "writer-token", job);
  EXPECT_EQ(post_write.status, 202) << post_write.raw;
  auto get_write = Http(port_, "GET", "/api/worker/types", "writer-token");
  EXPECT_EQ(get_write.status, 403);
  auto both = Http(port_, "GET", "/api/worker/jobs/" + post_write.body["job_id"].get<std::string>(),
                   "both-token");
  EXPECT_EQ(both.status, 200);
  auto metrics = Http(port_, "GET", "/metrics");
  EXPECT_EQ(metrics.status, 401);
  Stop();
}

TEST_F(ServeAuthTest, MakesATokenFileAClientCanUse) {
  Start({});
  fs::path token_path = dir_.path() / "api-token";
  ASSERT_TRUE(server_->WaitForOutput("API token in " + token_path.string(), 5));
  ASSERT_TRUE(fs::exists(token_path));
  struct stat st;
  ASSERT_EQ(stat(token_path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600);
  std::string token = Trimmed(ReadFile(token_path));
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(Http(port_, "GET", "/api/worker/types").status, 401);
  EXPECT_EQ(Http(port_, "GET", "/api/worker/types", token).status, 200);
  EXPECT_EQ(
      Http(port_, "POST", "/api/worker/jobs", token, R"({"type":"add","params":{"x":1,"y":2}})")
          .status,
      202);
  Stop();
  // A restart keeps the same token.
  Start({});
  EXPECT_EQ(Trimmed(ReadFile(token_path)), token);
  EXPECT_EQ(Http(port_, "GET", "/api/worker/types", token).status, 200);
  Stop();
}

TEST_F(ServeAuthTest, NoAuthIsRefusedOffLoopback) {
  RunResult r = RunRobotni({"serve", "-r", (SourceDir() / "robot.yaml").string(), "--jobs",
                            "workers/jobs/jobs.py", "--listen", "0.0.0.0:0", "--store",
                            (dir_.path() / "wi.db").string(), "--no-auth"});
  EXPECT_EQ(r.exit_code, 2) << r;
  EXPECT_NE(r.err.find("--no-auth"), std::string::npos) << r;
  EXPECT_NE(r.err.find("0.0.0.0"), std::string::npos) << r;
}

TEST_F(ServeAuthTest, RateLimitAnswers429WithRetryAfter) {
  Start({"--token-file", TokenFile("t1\nt2\n"), "--rate-limit", "2"});
  int ok = 0, limited = 0;
  std::string retry_after;
  for (int i = 0; i < 12; ++i) {
    auto r = Http(port_, "GET", "/api/worker/types", "t1");
    if (r.status == 200) ++ok;
    if (r.status == 429) {
      ++limited;
      retry_after = r.Header("Retry-After");
    }
  }
  EXPECT_GE(ok, 4);  // the burst is twice the rate
  EXPECT_LT(ok, 12);
  EXPECT_GT(limited, 0);
  EXPECT_GE(atoi(retry_after.c_str()), 1) << retry_after;
  // Another token has its own budget; health checks are not limited.
  EXPECT_EQ(Http(port_, "GET", "/api/worker/types", "t2").status, 200);
  for (int i = 0; i < 8; ++i) EXPECT_EQ(Http(port_, "GET", "/healthz").status, 200);
  Stop();
}

TEST_F(ServeAuthTest, MetricsParseWithThePrometheusClient) {
  Start({"--token-file", TokenFile("read,write:m\n")});
  auto sub =
      Http(port_, "POST", "/api/worker/jobs", "m", R"({"type":"add","params":{"x":2,"y":3}})");
  ASSERT_EQ(sub.status, 202) << sub.raw;
  std::string id = sub.body["job_id"];
  for (int i = 0; i < 400; ++i) {
    auto r = Http(port_, "GET", "/api/worker/jobs/" + id, "m").body;
    if (r.is_object() && r["status"] == "done") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  auto m = Http(port_, "GET", "/metrics", "m");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.Header("Content-Type").find("text/plain; version=0.0.4"), std::string::npos);
  Stop();

  WriteFile(dir_.path() / "metrics.txt", m.raw);
  WriteFile(dir_.path() / "parse.py", R"(import sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
for fam in text_string_to_metric_families(text):
    print("FAMILY", fam.name, fam.type)
    for s in fam.samples:
        labels = ",".join("%s=%s" % kv for kv in sorted(s.labels.items()))
        print("SAMPLE", s.name, labels, s.value)
)");
  fs::path out = dir_.path() / "parsed.txt";
  std::string cmd = "/usr/bin/python3.11 " + (dir_.path() / "parse.py").string() + " " +
                    (dir_.path() / "metrics.txt").string() + " > " + out.string() + " 2>&1";
  int rc = std::system(cmd.c_str());
  std::string parsed = ReadFile(out);
  ASSERT_EQ(rc, 0) << parsed << "\n--- metrics ---\n" << m.raw;
  // The client drops "_total" from counter family names.
  for (const char* want : {
           "FAMILY robotni_work_items gauge",
           "FAMILY robotni_queue_depth gauge",
           "FAMILY robotni_executors_busy gauge",
           "FAMILY robotni_jobs counter",
           "FAMILY robotni_job_duration_seconds histogram",
           "FAMILY robotni_http_requests counter",
           "SAMPLE robotni_work_items queue=add,state=done 1.0",
           "SAMPLE robotni_jobs_total outcome=done 1.0",
           "SAMPLE robotni_job_duration_seconds_count  1.0",
           "SAMPLE robotni_http_requests_total code=202,route=POST /api/worker/jobs 1.0",
       }) {
    EXPECT_NE(parsed.find(want), std::string::npos) << want << "\n" << parsed;
  }
}

}  // namespace
}  // namespace robotni::testing
