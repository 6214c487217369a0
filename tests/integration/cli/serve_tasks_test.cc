// `robotni serve --tasks`: robot.yaml tasks consuming their input queues inside serve. A real
// serve process on 127.0.0.1, a real store (a SQLite file, a PostgreSQL schema), items created
// over HTTP and with `robotni items add`, and the fixture robot tests/fixtures/robots/serve_tasks.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <nlohmann/json.hpp>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"
#include "tests/support/store_backends.h"

namespace robotni::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

constexpr const char* kToken = "serve-tasks-test-token-0123456789abcdef";

class ServeTasksTest : public ::testing::TestWithParam<Backend> {
 protected:
  void SetUp() override {
    ASSERT_TRUE(store_.ok()) << store_.error();
    fs::create_directories(dir_ / "data");  // --store makes the file, not its directory
  }
  void TearDown() override {
    if (server_ && server_->Running()) {
      server_->Kill(SIGTERM);
      RunResult r = server_->Wait();
      EXPECT_EQ(r.exit_code, 0) << r;
    }
  }

  // Starts serve with `extra` flags; false when it did not come up.
  bool Start(const std::vector<std::string>& extra) {
    std::vector<std::string> args = {"serve",     "-r",          (robot_ / "robot.yaml").string(),
                                     "--listen",  "127.0.0.1:0", "--store",
                                     store_.url()};
    args.insert(args.end(), extra.begin(), extra.end());
    RunOptions opts;
    opts.env["ROBOTNI_TOKENS"] = kToken;
    opts.timeout_seconds = 120;
    server_ = std::make_unique<Process>(args, opts);
    if (!server_->WaitForOutput("serving on", 30)) return false;
    port_ = ServingPort(*server_);
    return port_ > 0;
  }

  HttpReply Http(const std::string& method, const std::string& path, const std::string& body = "") {
    return SendHttp(port_, method, path, body, kToken);
  }
  std::string CreateItem(const std::string& queue, const json& payload) {
    auto r =
        Http("POST", "/api/work-items", json{{"queue_name", queue}, {"payload", payload}}.dump());
    EXPECT_EQ(r.status, 200) << r.raw;
    return r.body.value("id", "");
  }
  // The store serve made, opened beside it; null (and the test fails) when there is none.
  store::WorkItemStore* Db() {
    std::string error;
    if (!db_) db_ = OpenStore(store_.url(), &error);
    EXPECT_TRUE(db_) << error;
    return db_.get();
  }
  // Items of `queue` in `state` (store names: PENDING, RESERVED, DONE, FAILED ...).
  int64_t Count(const std::string& queue, const std::string& state) {
    return Db() ? CountItems(*Db(), queue, store::ParseState(state).value()) : -1;
  }
  store::Item Get(const std::string& id) {
    if (!Db()) return {};
    auto it = Db()->Get(id);
    EXPECT_TRUE(it.ok()) << it.status().ToString();
    return it.ok() ? *it : store::Item();
  }
  // Where serve keeps its task logs: beside a SQLite store, else in the robot's .robotni.
  fs::path DataDir() const {
    return GetParam() == Backend::kSqlite ? dir_ / "data" : robot_ / ".robotni";
  }
  // True when one of `task`'s run logs has `text` (a task's output goes there, not to serve's).
  bool RunLogHas(const std::string& task, const std::string& text) {
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(DataDir() / "task-logs" / task, ec))
      if (ReadFile(e.path()).find(text) != std::string::npos) return true;
    return false;
  }
  // Polls until `pred` holds (bounded; the test then asserts on the state it reached).
  template <typename Pred>
  bool Eventually(Pred pred, double seconds = 60) {
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    while (std::chrono::steady_clock::now() < until) {
      if (pred()) return true;
      server_->Pump(50);
    }
    return pred();
  }

  TempDir dir_;
  fs::path robot_ = CopyFixture("serve_tasks", dir_ / "robot");
  TestStore store_{GetParam(), dir_ / "data"};
  std::unique_ptr<store::WorkItemStore> db_;  // Db()
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

ROBOTNI_STORE_BACKENDS(ServeTasksTest);

TEST_P(ServeTasksTest, ConsumesItemsFromHttpAndItemsAddIntoTheNextQueue) {
  ASSERT_TRUE(Start({"--tasks", "consumer,Reporter"})) << server_->output();
  EXPECT_THAT(server_->err(), HasSubstr("task 'Consumer' consumes queue 'consumer' (outputs to "
                                        "'reporter'"));
  for (int i = 1; i <= 5; ++i) CreateItem("consumer", {{"n", i}});
  RunResult added =
      RunRobotni({"items", "add", "consumer", R"({"n": 6})", "--store", store_.url()});
  ASSERT_EQ(added.exit_code, 0) << added;

  ASSERT_TRUE(Eventually([&] { return Count("consumer", "DONE") == 6; })) << server_->output();
  ASSERT_TRUE(Eventually([&] { return Count("reporter", "DONE") == 6; })) << server_->output();
  int outputs = 0;
  for (const auto& o : AllItems(store_.url())) {
    if (o.queue != "reporter") continue;
    ++outputs;
    json out = json::parse(o.payload_json), in = json::parse(Get(o.parent_id).payload_json);
    EXPECT_EQ(out["doubled"], in["n"].get<int>() * 2) << o.payload_json;
    EXPECT_EQ(out["cwd"], robot_.string()) << "tasks run in the robot's directory";
  }
  EXPECT_EQ(outputs, 6);

  // One line per run in serve's log, and the run's output in its own log file.
  ASSERT_TRUE(server_->WaitForOutput("task 'Consumer' run 1: ", 10)) << server_->output();
  const std::string& err = server_->err();
  size_t at = err.find("task 'Consumer' run 1: ");
  std::string line = err.substr(at, err.find('\n', at) - at);
  EXPECT_THAT(line, HasSubstr(": ok (log: "));
  std::string log = line.substr(line.find("(log: ") + 6);
  log.pop_back();  // ')'
  EXPECT_EQ(fs::path(log).parent_path(), DataDir() / "task-logs" / "Consumer");
  EXPECT_THAT(ReadFile(log), HasSubstr("consumer handled"));
  // Private: a task's output may hold what it handles.
  EXPECT_EQ(fs::status(log).permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  for (fs::path d : {DataDir() / "task-logs", DataDir() / "task-logs" / "Consumer"})
    EXPECT_EQ(fs::status(d).permissions() & fs::perms::all, fs::perms::owner_all) << d;

  // Totals count a run once it has ended, a moment after its items are DONE.
  HttpReply status;
  Eventually([&] {
    status = Http("GET", "/api/worker/status");
    return status.body.value("/task_consumers/1/done"_json_pointer, 0) == 6;
  });
  ASSERT_EQ(status.status, 200) << status.raw;
  const json& tc = status.body["task_consumers"];
  ASSERT_EQ(tc.size(), 2u) << status.raw;
  EXPECT_EQ(tc[0]["task"], "Consumer");
  EXPECT_EQ(tc[0]["queue"], "consumer");
  EXPECT_EQ(tc[0]["output_queue"], "reporter");
  EXPECT_EQ(tc[0]["done"], 6);
  EXPECT_EQ(tc[0]["running"], false);
  EXPECT_EQ(tc[0]["last_run"]["result"], "ok");
  EXPECT_EQ(tc[1]["task"], "Reporter");
  EXPECT_EQ(tc[1]["done"], 6);
}

TEST_P(ServeTasksTest, FailingItemsAndTasksLeaveFailedItemsAndServeKeepsServing) {
  ASSERT_TRUE(Start({"--tasks", "Consumer,Crash"})) << server_->output();
  for (int i = 1; i <= 4; ++i) CreateItem("consumer", {{"n", i}, {"bad", i % 2 == 0}});
  std::string crash_id = CreateItem("crash", {{"n", 1}});
  ASSERT_TRUE(Eventually([&] {
    return Count("consumer", "DONE") == 2 && Count("consumer", "FAILED") == 2;
  })) << server_->output();
  std::vector<store::Item> failed;  // oldest first
  for (auto& it : AllItems(store_.url()))
    if (it.queue == "consumer" && it.state == store::State::kFailed) failed.push_back(it);
  ASSERT_EQ(failed.size(), 2u);
  EXPECT_EQ(failed[0].exception_type, store::ExceptionType::kBusiness);
  EXPECT_EQ(failed[0].error_code, "BAD_INPUT");
  EXPECT_EQ(failed[0].error_message, "item 2 is bad");

  // The crashing task fails its item as APPLICATION (retried, then FAILED) and serve goes on.
  ASSERT_TRUE(server_->WaitForOutput("task 'Crash' run 1: ", 30)) << server_->output();
  EXPECT_THAT(server_->err(), HasSubstr("failed: RuntimeError: crash task broke on item 1"));
  auto crash = Http("GET", "/api/work-items/" + crash_id);
  ASSERT_EQ(crash.status, 200) << crash.raw;
  EXPECT_NE(crash.body["state"], "DONE") << crash.raw;
  EXPECT_EQ(Get(crash_id).exception_type, store::ExceptionType::kApplication);
  EXPECT_EQ(Http("GET", "/healthz").status, 200);
  CreateItem("consumer", {{"n", 10}});
  ASSERT_TRUE(Eventually([&] { return Count("consumer", "DONE") == 3; })) << server_->output();
}

TEST_P(ServeTasksTest, TimedOutRunFailsItsItemAndOtherTasksGoOn) {
  ASSERT_TRUE(Start({"--tasks", "Hang,Consumer", "--task-timeout", "2", "--log-format", "json"}))
      << server_->output();
  std::string hang_id = CreateItem("hang", {{"n", 1}});
  ASSERT_TRUE(server_->WaitForOutput("task 'Hang' run 1: ", 60)) << server_->output();
  EXPECT_THAT(server_->err(), HasSubstr("timeout: task 'Hang' timed out after 2 s"));
  EXPECT_THAT(server_->err(), HasSubstr(R"("event":"task_run")"));
  EXPECT_THAT(server_->err(), HasSubstr(R"("result":"timeout")"));
  store::Item hang = Get(hang_id);
  EXPECT_NE(hang.state, store::State::kDone);
  EXPECT_NE(hang.state, store::State::kReserved);
  EXPECT_EQ(hang.exception_type, store::ExceptionType::kApplication);
  CreateItem("consumer", {{"n", 1}});
  ASSERT_TRUE(Eventually([&] { return Count("consumer", "DONE") == 1; })) << server_->output();
}

TEST_P(ServeTasksTest, SigtermLetsTheCurrentItemFinishAndGivesTheRestBack) {
  ASSERT_TRUE(Start({"--tasks", "Slow", "--grace", "20"})) << server_->output();
  for (int i = 1; i <= 8; ++i) CreateItem("slow", {{"n", i}, {"sleep", 0.5}});
  // Releases are group-committed at the run's end, so the run's own log says how far it is.
  ASSERT_TRUE(Eventually([&] { return RunLogHas("Slow", "slow item 2 started"); }))
      << server_->output();
  server_->Kill(SIGTERM);
  RunResult r = server_->Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  int64_t done = Count("slow", "DONE"), pending = Count("slow", "PENDING");
  EXPECT_GE(done, 1) << r;
  EXPECT_GE(pending, 1) << "the drain stops handing items to the task\n" << r;
  EXPECT_EQ(done + pending + Count("slow", "FAILED"), 8) << r;
  EXPECT_EQ(Count("slow", "RESERVED"), 0) << r;
  EXPECT_EQ(Count("slow_output", "PENDING"), done) << "one output per DONE input";
}

TEST_P(ServeTasksTest, SigtermPastTheGraceGivesTheRunningItemBack) {
  ASSERT_TRUE(Start({"--tasks", "Slow", "--grace", "1"})) << server_->output();
  for (int i = 1; i <= 3; ++i) CreateItem("slow", {{"n", i}, {"sleep", 300}});
  ASSERT_TRUE(Eventually([&] { return RunLogHas("Slow", "slow item 1 started"); }))
      << server_->output();
  server_->Kill(SIGTERM);
  RunResult r = server_->Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_FALSE(r.timed_out) << r;
  EXPECT_THAT(r.err, HasSubstr("went back to the queue")) << r;
  EXPECT_EQ(Count("slow", "PENDING"), 3) << r;
  int max_attempt = -1;
  for (const auto& it : AllItems(store_.url()))
    if (it.queue == "slow") max_attempt = std::max(max_attempt, it.attempt);
  EXPECT_EQ(max_attempt, 0) << "given back, the attempt not counted";
}

// Refused before any store is opened: SQLite only.
TEST(ServeTasksFlagTest, RefusesUnknownAndNonPythonTasks) {
  TempDir dir;
  const fs::path robot = CopyFixture("serve_tasks", dir / "robot");
  const std::string store = (dir / "wi.db").string();
  RunResult unknown = RunRobotni({"serve", "-r", (robot / "robot.yaml").string(), "--listen",
                                  "127.0.0.1:0", "--store", store, "--tasks", "Nope"});
  EXPECT_EQ(unknown.exit_code, 3) << unknown;
  EXPECT_THAT(unknown.err, HasSubstr("--tasks"));
  RunResult shell = RunRobotni({"serve", "-r", (robot / "robot.yaml").string(), "--listen",
                                "127.0.0.1:0", "--store", store, "--tasks", "Shell"});
  EXPECT_EQ(shell.exit_code, 2) << shell;
  EXPECT_THAT(shell.err, HasSubstr("is not a Python command"));
}

}  // namespace
}  // namespace robotni::testing
