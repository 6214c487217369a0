// `robotni serve` under load: 1,000 keep-alive clients on one epoll thread submitting and
// polling jobs for 30 s (no error answers, no resets, no lost job), and SIGTERM while clients
// keep submitting (every accepted job is stored DONE, FAILED or PENDING; none RESERVED).
// Prints counts and requests/s; asserts nothing about time.
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdio>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <random>
#include <set>

#include "tests/integration/cli/load_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;
using std::chrono::milliseconds;

constexpr int kClients = 1000;

// Seconds of load; ROBOTNI_LOAD_SECONDS overrides the 30 for quick local runs.
int LoadSeconds() {
  const char* s = getenv("ROBOTNI_LOAD_SECONDS");
  return s && *s ? std::max(1, atoi(s)) : 30;
}

std::string Post(const std::string& body) {
  return "POST /api/worker/jobs HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
         "Content-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

std::string Get(const std::string& id, const std::string& if_none_match) {
  std::string r = "GET /api/worker/jobs/" + id + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  if (!if_none_match.empty()) r += "If-None-Match: " + if_none_match + "\r\n";
  return r + "\r\n";
}

rlim_t SoftFdLimit(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(f, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    return std::strtoull(line.c_str() + 26, nullptr, 10);
  }
  return 0;
}

class ServeLoadTest : public ::testing::Test {
 protected:
  // Starts serve with a low inherited open-files limit (512, fewer than the clients), so the
  // run proves that the server raises its own soft limit; then raises the test's limit.
  void StartServer(const std::string& grace) {
    rlimit lim{};
    ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
    if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < kClients + 200)
      GTEST_SKIP() << "hard RLIMIT_NOFILE " << lim.rlim_max << " is below " << kClients + 200;
    rlimit low = lim;
    low.rlim_cur = 512;
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &low), 0);
    std::vector<std::string> args = ServeExampleArgs(
        (dir_.path() / "wi.db").string(), {"--concurrency", "2", "--grace", grace, "--no-auth"});
    server_ = std::make_unique<Process>(args, RunOptions{.timeout_seconds = 240});
    rlimit high = lim;
    high.rlim_cur = lim.rlim_max == RLIM_INFINITY ? 8192 : std::min<rlim_t>(lim.rlim_max, 8192);
    ASSERT_EQ(setrlimit(RLIMIT_NOFILE, &high), 0);
    ASSERT_TRUE(server_->WaitForOutput("serving on", 60)) << server_->output();
    port_ = ServingPort(*server_);
    ASSERT_GT(port_, 0);
    EXPECT_GE(SoftFdLimit(server_->pid()), static_cast<rlim_t>(kClients + 64))
        << "serve did not raise its open-files limit";
  }

  std::map<std::string, int> StatesOf(const std::set<std::string>& ids) {
    Db db(dir_.path() / "wi.db");
    std::map<std::string, int> states;
    for (const auto& row : db.Query("SELECT id, state FROM items")) {
      if (ids.count(row[0])) states[row[1]]++;
    }
    return states;
  }

  TempDir dir_;
  std::unique_ptr<Process> server_;
  int port_ = 0;
};

TEST_F(ServeLoadTest, ThousandKeepAliveClientsSubmitAndPollWithoutErrorsOrLostJobs) {
  StartServer("5");
  if (IsSkipped()) return;
  std::optional<OutputPump> pump(std::in_place, server_.get());  // until Wait() reads the rest
  std::mt19937 rng(42);
  std::map<std::string, int64_t> accepted;  // job id -> expected x + y
  std::map<int, uint64_t> by_status;
  uint64_t errors = 0, posts = 0, polls = 0, conditional = 0, not_modified = 0, seen_done = 0;
  uint64_t wrong_results = 0, bad_304 = 0, others = 0;
  int64_t serial = 0;
  std::vector<std::string> ids;  // accepted, for polls of other clients' jobs

  LoadClient client(port_, kClients);
  ASSERT_TRUE(client.Connect()) << "socket(): " << strerror(errno);
  auto next = [&](LoadConn& c) -> std::string {
    // One in ten requests reads some other client's job (it must be there).
    if (!ids.empty() && rng() % 10 == 0) {
      c.kind = 2;
      c.sent_inm = false;
      others++;
      return Get(ids[rng() % ids.size()], "");
    }
    if (c.job_id.empty()) {
      c.kind = 0;
      int64_t x = c.index, y = ++serial;
      c.expect = x + y;
      posts++;
      return Post(R"({"type":"add","params":{"x":)" + std::to_string(x) + R"(,"y":)" +
                  std::to_string(y) + "}}");
    }
    c.kind = 1;
    polls++;
    c.sent_inm = !c.etag.empty() && rng() % 2 == 0;  // If-None-Match half of the time
    if (c.sent_inm) conditional++;
    return Get(c.job_id, c.sent_inm ? c.etag : "");
  };
  auto on_reply = [&](LoadConn& c, const LoadReply& r) {
    by_status[r.status]++;
    bool ok = (r.status >= 200 && r.status < 300) || r.status == 304;
    if (!ok) {
      if (errors++ < 5) fprintf(stderr, "error answer %d: %s\n", r.status, r.body.c_str());
      return;
    }
    if (c.kind == 0) {
      json j = json::parse(r.body, nullptr, false);
      if (r.status != 202 || !j.is_object() || !j.contains("job_id")) {
        errors++;
        return;
      }
      c.job_id = j["job_id"].get<std::string>();
      c.etag.clear();
      accepted[c.job_id] = c.expect;
      ids.push_back(c.job_id);
      return;
    }
    if (r.status == 304) {
      not_modified++;
      if (!c.sent_inm || c.kind != 1) bad_304++;
      return;
    }
    if (c.kind != 1) return;
    c.etag = r.etag;
    json j = json::parse(r.body, nullptr, false);
    if (!j.is_object()) {
      errors++;
      return;
    }
    if (j["status"] == "done") {
      seen_done++;
      if (!j["result"].is_number_integer() || j["result"].get<int64_t>() != c.expect)
        wrong_results++;
      c.job_id.clear();  // submit the next one
    } else if (j["status"] == "failed" || j["status"] == "cancelled") {
      errors++;
      c.job_id.clear();
    }
  };
  client.Run(std::chrono::seconds(LoadSeconds()), std::chrono::seconds(30), next, on_reply);

  const LoadCounts& n = client.counts();
  double secs = client.elapsed().count();
  fprintf(stderr,
          "load: %d clients, %.1f s: %llu requests (%.0f req/s): %llu submits, %llu polls "
          "(%llu with If-None-Match, %llu answered 304), %llu reads of other jobs; "
          "%llu jobs accepted, %llu seen done while polling\n",
          kClients, secs, static_cast<unsigned long long>(n.requests), n.requests / secs,
          static_cast<unsigned long long>(posts), static_cast<unsigned long long>(polls),
          static_cast<unsigned long long>(conditional),
          static_cast<unsigned long long>(not_modified), static_cast<unsigned long long>(others),
          static_cast<unsigned long long>(accepted.size()),
          static_cast<unsigned long long>(seen_done));
  for (const auto& [status, count] : by_status)
    fprintf(stderr, "load:   HTTP %d: %llu\n", status, static_cast<unsigned long long>(count));

  EXPECT_EQ(client.Open(), kClients) << "connections closed by the server";
  EXPECT_EQ(n.connect_failures, 0u);
  EXPECT_EQ(n.resets, 0u);
  EXPECT_EQ(n.server_closes, 0u);
  EXPECT_EQ(n.lost_in_flight, 0u);
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(bad_304, 0u);
  EXPECT_EQ(wrong_results, 0u);
  EXPECT_GT(accepted.size(), static_cast<size_t>(kClients));
  EXPECT_GT(not_modified, 0u);

  // Let the queue drain: every accepted job must end DONE.
  std::set<std::string> accepted_ids;
  for (const auto& [id, _] : accepted) accepted_ids.insert(id);
  std::map<std::string, int> states;
  for (int i = 0; i < 600; ++i) {
    states = StatesOf(accepted_ids);
    if (states["DONE"] == static_cast<int>(accepted_ids.size())) break;
    std::this_thread::sleep_for(milliseconds(100));
  }
  server_->Kill(SIGTERM);
  pump.reset();
  RunResult rr = server_->Wait();
  EXPECT_EQ(rr.exit_code, 0) << rr;

  Db db(dir_.path() / "wi.db");
  size_t found = 0, done = 0, right = 0;
  for (const auto& row : db.Query("SELECT id, state, result FROM items WHERE queue = 'add'")) {
    auto it = accepted.find(row[0]);
    if (it == accepted.end()) continue;
    found++;
    if (row[1] == "DONE") done++;
    if (row[2] == std::to_string(it->second)) right++;
  }
  fprintf(stderr, "load: after the drain: %zu of %zu accepted jobs found, %zu DONE, %zu right\n",
          found, accepted.size(), done, right);
  EXPECT_EQ(found, accepted.size());
  EXPECT_EQ(done, accepted.size());
  EXPECT_EQ(right, accepted.size());
}

TEST_F(ServeLoadTest, SigtermUnderLoadLosesNoAcceptedJob) {
  StartServer("2");
  if (IsSkipped()) return;
  std::optional<OutputPump> pump(std::in_place, server_.get());  // until Wait() reads the rest
  constexpr int kConns = 200;
  std::set<std::string> accepted;
  uint64_t errors = 0, submits = 0;
  bool signalled = false;
  auto started = std::chrono::steady_clock::now();
  LoadClient client(port_, kConns);
  ASSERT_TRUE(client.Connect());
  auto next = [&](LoadConn& c) -> std::string {
    // SIGTERM after 3 s of load; clients keep submitting until the server closes them.
    if (!signalled && std::chrono::steady_clock::now() - started > std::chrono::seconds(3)) {
      signalled = true;
      server_->Kill(SIGTERM);
    }
    submits++;
    c.kind = 0;
    if (c.index % 2 == 0) return Post(R"({"type":"fakejob","params":{"delay_seconds":1}})");
    return Post(R"({"type":"add","params":{"x":1,"y":)" + std::to_string(submits) + "}}");
  };
  auto on_reply = [&](LoadConn&, const LoadReply& r) {
    if (r.status != 202) {
      if (errors++ < 5) fprintf(stderr, "answer %d: %s\n", r.status, r.body.c_str());
      return;
    }
    json j = json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("job_id")) accepted.insert(j["job_id"].get<std::string>());
  };
  // Runs until the draining server has closed every connection (or 60 s pass).
  client.Run(std::chrono::seconds(60), std::chrono::seconds(5), next, on_reply);
  ASSERT_TRUE(signalled);
  pump.reset();
  RunResult rr = server_->Wait();
  const LoadCounts& n = client.counts();
  fprintf(stderr,
          "sigterm: %llu requests, %zu accepted, %llu closed by the server, %llu in flight "
          "then, %llu resets; open at the end: %d\n",
          static_cast<unsigned long long>(n.requests), accepted.size(),
          static_cast<unsigned long long>(n.server_closes),
          static_cast<unsigned long long>(n.lost_in_flight),
          static_cast<unsigned long long>(n.resets), client.Open());
  EXPECT_EQ(rr.exit_code, 0) << rr;
  EXPECT_FALSE(rr.timed_out) << rr;
  EXPECT_EQ(errors, 0u);
  EXPECT_EQ(client.Open(), 0) << "the server kept connections open after its stop";
  ASSERT_GT(accepted.size(), 0u);

  std::map<std::string, int> states = StatesOf(accepted);
  int stored = 0;
  for (const auto& [state, count] : states) {
    fprintf(stderr, "sigterm:   %s: %d\n", state.c_str(), count);
    stored += count;
  }
  EXPECT_EQ(stored, static_cast<int>(accepted.size())) << "accepted jobs missing from the store";
  EXPECT_EQ(states["DONE"] + states["FAILED"] + states["PENDING"],
            static_cast<int>(accepted.size()));
  Db db(dir_.path() / "wi.db");
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE state = 'RESERVED'"), 0);
  EXPECT_GT(states["PENDING"], 0) << "expected fakejobs left queued by the drain";
}

}  // namespace
}  // namespace robotni::testing
