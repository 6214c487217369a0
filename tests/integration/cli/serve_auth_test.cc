// `robotni serve` security and metrics end to end: bearer tokens and scopes, the token made
// on first start, --no-auth refused off loopback and closed to foreign pages, --listen
// localhost, the rate limit and the wrong-token limit, the token checked before the body, the
// header deadline, and /metrics read by the Prometheus reference parser
// (python3-prometheus-client).
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

// Sends `request` as it is on a new connection and reads until the server closes (or 10 s).
// Returns the status (0: no answer) and fills *text with the whole answer.
int RawExchange(int port, const std::string& request, std::string* text = nullptr) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return 0;
  }
  (void)!write(fd, request.data(), request.size());
  std::string resp;
  char buf[4096];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) resp.append(buf, static_cast<size_t>(n));
  close(fd);
  if (text != nullptr) *text = resp;
  return resp.size() > 12 ? atoi(resp.c_str() + 9) : 0;
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

TEST_F(ServeAuthTest, ListenLocalhostServesOnLoopback) {
  std::vector<std::string> args =
      ServeExampleArgs((dir_.path() / "wi.db").string(), {"--grace", "1", "--no-auth"});
  for (auto& a : args)
    if (a == "127.0.0.1:0") a = "localhost:0";
  server_ = std::make_unique<Process>(args, RunOptions{});
  ASSERT_TRUE(server_->WaitForOutput("serving on", 30)) << server_->Wait();
  EXPECT_NE(server_->output().err.find("serving on http://127.0.0.1:"), std::string::npos)
      << server_->output().err;
  port_ = ServingPort(*server_);
  EXPECT_EQ(Http(port_, "GET", "/healthz").status, 200);
  Stop();
}

TEST_F(ServeAuthTest, NoAuthIsClosedToForeignPages) {
  Start({"--no-auth"});
  const std::string job = R"({"type":"add","params":{"x":2,"y":40}})";
  auto post = [&](const std::string& headers) {
    std::string text;
    int status = RawExchange(port_,
                             "POST /api/worker/jobs HTTP/1.1\r\nConnection: close\r\n" + headers +
                                 "Content-Length: " + std::to_string(job.size()) + "\r\n\r\n" + job,
                             &text);
    return std::make_pair(status, text);
  };
  // A form or a no-preflight fetch from another site: text/plain.
  auto plain = post("Host: 127.0.0.1\r\nContent-Type: text/plain\r\n");
  EXPECT_EQ(plain.first, 415) << plain.second;
  EXPECT_NE(plain.second.find("application/json"), std::string::npos) << plain.second;
  // Another origin, even with JSON (a CORS request); a DNS-rebound host name.
  auto cross =
      post("Host: 127.0.0.1\r\nOrigin: http://evil.example\r\nContent-Type: application/json\r\n");
  EXPECT_EQ(cross.first, 403) << cross.second;
  auto rebound = post("Host: evil.example:8000\r\nContent-Type: application/json\r\n");
  EXPECT_EQ(rebound.first, 403) << rebound.second;
  EXPECT_EQ(RawExchange(port_,
                        "GET /api/worker/jobs HTTP/1.1\r\nHost: evil.example\r\n"
                        "Connection: close\r\n\r\n"),
            403);
  // Nothing of those was queued; the server's own page and local clients go on.
  auto list = Http(port_, "GET", "/api/worker/jobs");
  ASSERT_EQ(list.status, 200) << list.raw;
  EXPECT_EQ(list.body["jobs"].size(), 0u) << list.raw;
  auto own = post("Host: localhost:" + std::to_string(port_) + "\r\nOrigin: http://localhost:" +
                  std::to_string(port_) + "\r\nContent-Type: application/json; charset=utf-8\r\n");
  EXPECT_EQ(own.first, 202) << own.second;
  EXPECT_EQ(Http(port_, "POST", "/api/worker/jobs", "", job).status, 202);
  Stop();
}

TEST_F(ServeAuthTest, WrongTokensAreLimitedPerAddressAndCheckedBeforeTheBody) {
  fs::path config = dir_.path() / "serve.yaml";
  WriteFile(config, "http:\n  auth_failures_per_minute: 3\n  header_timeout_seconds: 1\n");
  Start({"--token-file", TokenFile("right-token\n"), "--config", config.string()});
  // A 1 MiB body announced and not sent: the 401 comes on the headers.
  std::string text;
  EXPECT_EQ(RawExchange(port_,
                        "POST /api/worker/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                        "Content-Type: application/json\r\nContent-Length: 1048576\r\n\r\n",
                        &text),
            401)
      << text;
  for (int i = 0; i < 3; ++i)
    EXPECT_EQ(Http(port_, "GET", "/api/worker/types", "guess-" + std::to_string(i)).status, 401);
  auto limited = Http(port_, "GET", "/api/worker/types", "guess-4");
  EXPECT_EQ(limited.status, 429) << limited.raw;
  EXPECT_GE(atoi(limited.Header("Retry-After").c_str()), 1) << limited.head;
  // From this address even the right token waits; health checks do not.
  EXPECT_EQ(Http(port_, "GET", "/api/worker/types", "right-token").status, 429);
  EXPECT_EQ(Http(port_, "GET", "/healthz").status, 200);
  // Headers that do not end within http.header_timeout_seconds: 408.
  EXPECT_EQ(RawExchange(port_, "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n", &text), 408) << text;
  EXPECT_NE(text.find("header_timeout"), std::string::npos) << text;
  Stop();
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
           "SAMPLE robotni_jobs_total outcome=done,type=add 1.0",
           "SAMPLE robotni_job_duration_seconds_count type=add 1.0",
           "SAMPLE robotni_http_requests_total code=202,route=POST /api/worker/jobs 1.0",
       }) {
    EXPECT_NE(parsed.find(want), std::string::npos) << want << "\n" << parsed;
  }
}

}  // namespace
}  // namespace robotni::testing
