// `robotni serve` operations end to end: --config FILE, SIGHUP reload, --log-format json.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

const char kJobsV1[] = R"(from robotni import job

@job("one")
def one():
    return 1
)";

const char kJobsV2[] = R"(from robotni import job

@job("one")
def one():
    return 1

@job("two", schema={"type": "object", "required": ["x"], "properties": {"x": {"type": "number"}}})
def two(x):
    return x * 2
)";

size_t Count(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// Pumps until stderr holds `n` copies of `needle`; false at the timeout.
bool WaitForCount(Process* p, const std::string& needle, size_t n, double seconds) {
  auto until = std::chrono::steady_clock::now() +
               std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
  while (std::chrono::steady_clock::now() < until) {
    if (Count(p->output().err, needle) >= n) return true;
    if (!p->Pump(50)) break;
  }
  return Count(p->output().err, needle) >= n;
}

std::vector<std::string> TypeNames(int port, const std::string& token = "") {
  std::vector<std::string> names;
  auto r = SendHttp(port, "GET", "/api/worker/types", "", token);
  if (r.status != 200) return names;
  for (const auto& t : r.body["types"]) names.push_back(t["type"]);
  std::sort(names.begin(), names.end());
  return names;
}

class ServeOpsTest : public ::testing::Test {
 protected:
  // Starts serve with `args` after the common ones; false when it did not come up.
  bool Start(std::vector<std::string> args) {
    std::vector<std::string> all = {"serve", "-r", (SourceDir() / "robot.yaml").string()};
    all.insert(all.end(), args.begin(), args.end());
    server_ = std::make_unique<Process>(all, RunOptions{});
    if (!server_->WaitForOutput("serving on", 60)) return false;
    port_ = ServingPort(*server_);
    return port_ > 0;
  }
  json WaitDone(const std::string& id) {
    for (int i = 0; i < 400; ++i) {
      auto r = SendHttp(port_, "GET", "/api/worker/jobs/" + id);
      if (r.body.is_object() && (r.body["status"] == "done" || r.body["status"] == "failed"))
        return r.body;
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
    return json();
  }
  RunResult Stop() {
    server_->Kill(SIGTERM);
    return server_->Wait();
  }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

// --- --config -------------------------------------------------------------------------

TEST_F(ServeOpsTest, ConfigFileSetsTheFlagsAndTheCommandLineWins) {
  WriteFile(dir_ / "jobs.py", kJobsV1);
  WriteFile(dir_ / "serve.yaml",
            "listen: 127.0.0.1:0\n"
            "store: wi.db\n"  // relative to this file
            "jobs: [" +
                (dir_ / "jobs.py").string() +
                "]\n"
                "no_auth: true\n"
                "grace: 1\n"
                "concurrency: 1\n"
                "isolation: subinterpreter\n"
                "webhooks: {secret: s, max_attempts: 3, timeout_seconds: 1}\n");
  ASSERT_TRUE(Start({"--config", (dir_ / "serve.yaml").string(), "--concurrency", "3"}))
      << server_->output();
  EXPECT_NE(server_->output().err.find("concurrency 3)"), std::string::npos) << server_->output();
  EXPECT_EQ(TypeNames(port_), (std::vector<std::string>{"one"}));  // no_auth from the file
  auto sub = SendHttp(port_, "POST", "/api/worker/jobs", R"({"type":"one"})");
  ASSERT_EQ(sub.status, 202) << sub.body.dump();
  EXPECT_EQ(WaitDone(sub.body["job_id"])["result"], 1);
  EXPECT_TRUE(fs::exists(dir_ / "wi.db"));
  RunResult r = Stop();
  EXPECT_EQ(r.exit_code, 0) << r;
}

TEST_F(ServeOpsTest, BadConfigFilesExitWithUsageErrors) {
  struct Case {
    std::string yaml, expect;
  } cases[] = {
      {"listen: 127.0.0.1:0\nlisen: 127.0.0.1:1\n", ":2: lisen: unknown key"},
      {"concurrency: many\n", ":1: concurrency: expected a positive integer, found 'many'"},
      {"no_auth: [true]\n", ":1: no_auth: expected true or false, found a list"},
      {"webhooks:\n  secret: x\n  max_attempts: -1\n", ":3: webhooks.max_attempts: expected"},
      {"webhooks:\n  secret: x\n  tries: 1\n", ":3: webhooks.tries: unknown key"},
      {"listen: 127.0.0.1:0\nwebhooks: {secret: [x\n", "YAML syntax error"},
      {"log_format: xml\n", ":1: log_format: expected text or json"},
  };
  for (const auto& c : cases) {
    fs::path conf = dir_ / "bad.yaml";
    WriteFile(conf, c.yaml);
    RunResult r = RunRobotni({"serve", "--config", conf.string(), "--no-auth"});
    EXPECT_EQ(r.exit_code, 2) << c.yaml << r;
    EXPECT_NE(r.err.find(conf.string()), std::string::npos) << c.yaml << r;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << c.yaml << r;
    EXPECT_EQ(r.err.find("serving on"), std::string::npos) << r;
  }
  RunResult missing = RunRobotni({"serve", "--config", (dir_ / "none.yaml").string()});
  EXPECT_EQ(missing.exit_code, 2) << missing;
  EXPECT_NE(missing.err.find("none.yaml"), std::string::npos) << missing;
  RunResult bad_flag = RunRobotni({"serve", "--log-format", "xml"});
  EXPECT_EQ(bad_flag.exit_code, 2) << bad_flag;
  EXPECT_NE(bad_flag.err.find("log_format"), std::string::npos) << bad_flag;
}

// --- SIGHUP ---------------------------------------------------------------------------

TEST_F(ServeOpsTest, SighupReloadsJobTypesAndKeepsThemWhenTheReloadFails) {
  fs::path jobs = dir_ / "jobs.py";
  WriteFile(jobs, kJobsV1);
  ASSERT_TRUE(Start({"--jobs", jobs.string(), "--listen", "127.0.0.1:0", "--store",
                     (dir_ / "wi.db").string(), "--grace", "1", "--no-auth", "--concurrency", "2"}))
      << server_->output();
  EXPECT_EQ(TypeNames(port_), (std::vector<std::string>{"one"}));
  // A job of the old code first, so the runners' interpreters have imported v1.
  auto first = SendHttp(port_, "POST", "/api/worker/jobs", R"({"type":"one"})");
  EXPECT_EQ(WaitDone(first.body["job_id"])["status"], "done");

  WriteFile(jobs, kJobsV2);
  server_->Kill(SIGHUP);
  ASSERT_TRUE(WaitForCount(server_.get(), "reload finished", 1, 60)) << server_->output();
  EXPECT_NE(server_->output().err.find("reload: job types: one, two"), std::string::npos)
      << server_->output();
  EXPECT_EQ(TypeNames(port_), (std::vector<std::string>{"one", "two"}));
  for (int i = 0; i < 3; ++i) {  // each runner interpreter re-imports before its next job
    auto sub = SendHttp(port_, "POST", "/api/worker/jobs", R"({"type":"two","params":{"x":21}})");
    ASSERT_EQ(sub.status, 202) << sub.body.dump();
    json done = WaitDone(sub.body["job_id"]);
    EXPECT_EQ(done["status"], "done") << done.dump();
    EXPECT_EQ(done["result"], 42);
  }

  WriteFile(jobs, "from robotni import job\n\n@job(\"three\"\ndef broken(:\n");
  server_->Kill(SIGHUP);
  ASSERT_TRUE(WaitForCount(server_.get(), "reload finished", 2, 60)) << server_->output();
  EXPECT_NE(server_->output().err.find("SyntaxError"), std::string::npos) << server_->output();
  EXPECT_NE(server_->output().err.find("keeping the running job types: one, two"),
            std::string::npos)
      << server_->output();
  EXPECT_TRUE(server_->Running());
  EXPECT_EQ(SendHttp(port_, "GET", "/healthz").status, 200);
  EXPECT_EQ(TypeNames(port_), (std::vector<std::string>{"one", "two"}));
  auto after = SendHttp(port_, "POST", "/api/worker/jobs", R"({"type":"two","params":{"x":1}})");
  ASSERT_EQ(after.status, 202);
  EXPECT_EQ(WaitDone(after.body["job_id"])["result"], 2);

  RunResult r = Stop();
  EXPECT_EQ(r.exit_code, 0) << r;
}

TEST_F(ServeOpsTest, SighupReloadsTokensAndRateLimitAndReportsRestartOnlySettings) {
  fs::path tokens = dir_ / "tokens";
  WriteFile(tokens, "old-token\n");
  fs::path conf = dir_ / "serve.yaml";
  std::string base =
      "listen: 127.0.0.1:0\nstore: wi.db\ntoken_file: tokens\ngrace: 1\n"
      "jobs: [" +
      (SourceDir() / "workers/jobs/jobs.py").string() + "]\n";
  WriteFile(conf, base);
  ASSERT_TRUE(Start({"--config", conf.string()})) << server_->output();
  auto get = [&](const std::string& token) {
    return SendHttp(port_, "GET", "/api/worker/status", "", token).status;
  };
  EXPECT_EQ(get("old-token"), 200);
  EXPECT_EQ(get("new-token"), 401);

  WriteFile(tokens, "new-token\n");
  // rate_limit 0.001/s: a bucket of 0.002 requests, so every request is refused at once.
  WriteFile(conf, base + "rate_limit: 0.001\n");
  server_->Kill(SIGHUP);
  ASSERT_TRUE(WaitForCount(server_.get(), "reload finished", 1, 60)) << server_->output();
  EXPECT_EQ(get("old-token"), 401);
  EXPECT_EQ(get("new-token"), 429);

  // listen cannot change without a restart: reported, and the server stays where it is.
  std::string moved = base;
  moved.replace(moved.find("127.0.0.1:0"), 11, "127.0.0.1:1");
  WriteFile(conf, moved);
  server_->Kill(SIGHUP);
  ASSERT_TRUE(WaitForCount(server_.get(), "reload finished", 2, 60)) << server_->output();
  EXPECT_NE(server_->output().err.find("listen changed; that needs a restart"), std::string::npos)
      << server_->output();
  EXPECT_EQ(get("new-token"), 200);  // rate limit gone again

  // A broken config keeps every running setting.
  WriteFile(conf, base + "rate_limit: [\n");
  server_->Kill(SIGHUP);
  ASSERT_TRUE(WaitForCount(server_.get(), "reload finished", 3, 60)) << server_->output();
  EXPECT_NE(server_->output().err.find("the running settings stay"), std::string::npos);
  EXPECT_EQ(get("new-token"), 200);

  RunResult r = Stop();
  EXPECT_EQ(r.exit_code, 0) << r;
}

TEST_F(ServeOpsTest, SighupWhileDrainingIsIgnored) {
  ASSERT_TRUE(Start({"--jobs", "workers/jobs/jobs.py", "--listen", "127.0.0.1:0", "--store",
                     (dir_ / "wi.db").string(), "--grace", "10", "--no-auth"}))
      << server_->output();
  auto sub = SendHttp(port_, "POST", "/api/worker/jobs",
                      R"({"type":"fakejob","params":{"delay_seconds":2}})");
  ASSERT_EQ(sub.status, 202);
  std::string id = sub.body["job_id"];
  for (int i = 0; i < 400; ++i) {
    if (SendHttp(port_, "GET", "/api/worker/jobs/" + id).body.value("status", "") == "running")
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  server_->Kill(SIGTERM);
  ASSERT_TRUE(server_->WaitForOutput("draining", 30)) << server_->output();
  server_->Kill(SIGHUP);  // the running job keeps the drain going for a second or two
  RunResult r = server_->Wait();
  EXPECT_EQ(r.term_signal, 0) << r;
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_EQ(r.err.find("reloading"), std::string::npos) << r;
}

// --- --log-format json ----------------------------------------------------------------

TEST_F(ServeOpsTest, JsonLogsAreOneObjectPerLine) {
  fs::path jobs = dir_ / "jobs.py";
  WriteFile(jobs, kJobsV1);
  ASSERT_TRUE(
      Start({"--jobs", jobs.string() + "," + (SourceDir() / "workers/jobs/jobs.py").string(),
             "--listen", "127.0.0.1:0", "--store", (dir_ / "wi.db").string(), "--grace", "1",
             "--log-format", "json", "--log-level", "debug"}))
      << server_->output();
  std::string token = ReadFile(dir_ / "api-token");
  while (!token.empty() && isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  auto ok = SendHttp(port_, "POST", "/api/worker/jobs", R"({"type":"one"})", token);
  auto bad = SendHttp(port_, "POST", "/api/worker/jobs",
                      R"({"type":"notify.email.v1","params":{"to":"","subject":"x"}})", token);
  ASSERT_EQ(ok.status, 202);
  ASSERT_EQ(bad.status, 202);
  ASSERT_TRUE(WaitForCount(server_.get(), "\"outcome\":\"failed\"", 1, 60)) << server_->output();
  ASSERT_TRUE(WaitForCount(server_.get(), "\"outcome\":\"done\"", 1, 60)) << server_->output();
  WriteFile(jobs, "syntax error here\n");  // a failed reload logs a multi-line traceback
  server_->Kill(SIGHUP);
  ASSERT_TRUE(WaitForCount(server_.get(), "reload finished", 1, 60)) << server_->output();
  RunResult r = Stop();
  ASSERT_EQ(r.exit_code, 0) << r;

  std::istringstream in(r.err);
  std::map<std::string, int> events;
  int lines = 0;
  for (std::string line; std::getline(in, line);) {
    ++lines;
    json j = json::parse(line, nullptr, false);
    ASSERT_TRUE(j.is_object()) << "not a JSON object: " << line;
    ASSERT_TRUE(j.contains("ts") && j["ts"].is_string()) << line;
    ASSERT_TRUE(j.contains("level") && j["level"].is_string()) << line;
    ASSERT_TRUE(j.contains("msg") && j["msg"].is_string()) << line;
    if (j.contains("event")) events[j["event"]]++;
    if (j.value("event", "") == "serving") EXPECT_EQ(j["port"], port_);
    if (j.value("event", "") == "job_finished" && j["outcome"] == "failed") {
      EXPECT_EQ(j["level"], "warn");
      EXPECT_EQ(j["error_code"], "NO_RECIPIENT");
    }
  }
  EXPECT_GE(lines, 6);
  for (const char* e : {"api_token", "serving", "job_finished", "reload_started", "reload_failed",
                        "reload_finished", "draining", "stopped"})
    EXPECT_EQ(events.count(e), 1u) << e << "\n" << r.err;
}

}  // namespace
}  // namespace robotni::testing
