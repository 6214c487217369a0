// `robotni serve` with jobs in worker processes (isolation: process, issue #11): every
// failure of a job is contained in its worker, named, and costs only that job; stopping
// is clean whatever the jobs do.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const char kJobs[] = R"(import ctypes, os, sys, threading, time
from robotni import job

@job("pid")
def pid():
    return os.getpid()

@job("slow_pid")
def slow_pid(seconds=1.0):
    time.sleep(seconds)
    return os.getpid()

@job("segv")
def segv():
    ctypes.string_at(0)

@job("exit3")
def exit3():
    os._exit(3)

@job("abort")
def abort():
    os.abort()

@job("stuck_in_c", timeout=1)
def stuck_in_c():
    time.sleep(3600)  # in C: the soft timeout cannot interrupt it

@job("loop", timeout=1)
def loop():
    while True:
        pass

@job("hog", memory_limit=150)
def hog():
    held = []
    while True:
        held.append(bytearray(20 << 20))
        time.sleep(0.02)

@job("flood")
def flood():
    line = "x" * 1023 + "\n"
    for _ in range(20 * 1024):  # 20 MiB
        sys.stdout.write(line)
    return "flooded"

@job("numpy_pid")
def numpy_pid():
    import numpy  # refuses sub-interpreters on 3.11; a worker's main interpreter loads it
    time.sleep(0.5)
    return [os.getpid(), int(numpy.arange(10).sum())]

@job("soft_timeout", timeout=1)
def soft_timeout():
    try:
        while True:  # in Python: the soft timeout raises TaskTimeout here
            pass
    except BaseException as e:
        print("caught", type(e).__name__, flush=True)
        raise
    finally:
        print("cleanup ran", flush=True)

@job("recycled_pid", max_jobs_per_worker=1)
def recycled_pid():
    return os.getpid()

@job("chatty", max_output=1000)
def chatty():
    print("y" * 100000)
    return "chatted"

@job("leak_threads")
def leak_threads():
    threading.Thread(target=time.sleep, args=(3600,)).start()
    threading.Thread(target=time.sleep, args=(3600,), daemon=True).start()
    return "leaked"
)";

class ServeWorkersTest : public ::testing::Test {
 protected:
  void SetUp() override { WriteFile(dir_ / "jobs.py", kJobs); }
  bool Start(std::vector<std::string> args = {}) {
    std::vector<std::string> all = {"serve",
                                    "-r",
                                    (SourceDir() / "robot.yaml").string(),
                                    "--store",
                                    (dir_ / "wi.db").string(),
                                    "--jobs",
                                    (dir_ / "jobs.py").string(),
                                    "--listen",
                                    "127.0.0.1:0",
                                    "--no-auth"};
    all.insert(all.end(), args.begin(), args.end());
    server_ = std::make_unique<Process>(all, RunOptions{.timeout_seconds = 120});
    if (!server_->WaitForOutput("serving on", 60)) return false;
    port_ = ServingPort(*server_);
    return port_ > 0;
  }
  std::string Submit(const std::string& type, const json& params = json::object(),
                     int max_attempts = 1) {
    auto r =
        SendHttp(port_, "POST", "/api/worker/jobs",
                 json{{"type", type}, {"params", params}, {"max_attempts", max_attempts}}.dump());
    EXPECT_EQ(r.status, 202) << r.raw;
    return r.body.value("job_id", "");
  }
  json WaitEnded(const std::string& id, double seconds = 30) {
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    while (std::chrono::steady_clock::now() < until) {
      auto r = SendHttp(port_, "GET", "/api/worker/jobs/" + id);
      if (r.body.is_object() && (r.body["status"] == "done" || r.body["status"] == "failed"))
        return r.body;
      server_->Pump(20);
    }
    return json();
  }
  bool Healthy() { return SendHttp(port_, "GET", "/healthz").status == 200; }

  TempDir dir_;
  int port_ = 0;
  std::unique_ptr<Process> server_;
};

TEST_F(ServeWorkersTest, EachCrashFailsOnlyItsJobWithItsCauseAndTheWorkerIsReplaced) {
  ASSERT_TRUE(Start({"--workers", "1", "--kill-grace", "1"})) << server_->output();
  json first = WaitEnded(Submit("pid"));
  ASSERT_EQ(first["status"], "done") << first.dump();
  std::set<int> pids = {first["result"].get<int>()};
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"segv", "signal 11 (SIGSEGV)"},          {"exit3", "exit code 3"},
      {"abort", "signal 6 (SIGABRT)"},          {"stuck_in_c", "timeout after 1 s, killed"},
      {"hog", "memory limit 150 MiB exceeded"},
  };
  for (const auto& [type, cause] : cases) {
    json j = WaitEnded(Submit(type));
    ASSERT_EQ(j["status"], "failed") << type << ": " << j.dump() << server_->output();
    EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr(cause)) << j.dump();
    EXPECT_NE(j["error"]["message"], "lease expired");
    EXPECT_TRUE(Healthy()) << "HTTP stopped answering after " << type;
    // The next job runs at once, in a new worker process.
    json next = WaitEnded(Submit("pid"), 10);
    ASSERT_EQ(next["status"], "done") << "after " << type << ": " << next.dump();
    EXPECT_TRUE(pids.insert(next["result"].get<int>()).second)
        << "the worker that ran " << type << " was not replaced";
  }
  json segv = SendHttp(port_, "GET", "/api/worker/jobs/2").body;  // ids: pid=1, segv=2
  EXPECT_EQ(segv["error"]["code"], "WORKER_DIED") << segv.dump();
  RunResult r = [&] {
    server_->Kill(SIGTERM);
    return server_->Wait();
  }();
  EXPECT_EQ(r.exit_code, 0) << r;
}

TEST_F(ServeWorkersTest, AJobBesideACrashKeepsItsAttempt) {
  ASSERT_TRUE(Start({"--workers", "2"})) << server_->output();
  std::string beside = Submit("slow_pid", {{"seconds", 1.5}}, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  json crashed = WaitEnded(Submit("segv"));
  EXPECT_EQ(crashed["status"], "failed");
  json b = WaitEnded(beside);
  ASSERT_EQ(b["status"], "done") << b.dump();
  EXPECT_EQ(b["attempts"], 1) << "the job beside the crash spent an attempt: " << b.dump();
}

TEST_F(ServeWorkersTest, NumpyJobsRunInSeveralWorkersAtOnce) {
  ASSERT_TRUE(Start({"--workers", "2"})) << server_->output();
  std::string a = Submit("numpy_pid"), b = Submit("numpy_pid");
  json ja = WaitEnded(a), jb = WaitEnded(b);
  ASSERT_EQ(ja["status"], "done") << ja.dump();
  ASSERT_EQ(jb["status"], "done") << jb.dump();
  EXPECT_EQ(ja["result"][1], 45);
  EXPECT_NE(ja["result"][0], jb["result"][0]) << "both ran in one worker";
  Db db(dir_ / "wi.db");
  // Each sleeps 0.5 s: in two workers at once their runs overlap.
  EXPECT_EQ(db.Int("SELECT max(started) < min(finished) FROM items WHERE queue='numpy_pid'"), 1);
}

TEST_F(ServeWorkersTest, AFloodedOutputIsTruncatedWithANote) {
  ASSERT_TRUE(Start({"--workers", "1", "--max-output", "65536"})) << server_->output();
  std::string id = Submit("flood");
  json j = WaitEnded(id);
  ASSERT_EQ(j["status"], "done") << j.dump();
  auto log = SendHttp(port_, "GET", "/api/worker/jobs/" + id + "/log");
  ASSERT_EQ(log.status, 200);
  EXPECT_LT(log.raw.size(), 70000u);
  EXPECT_THAT(log.raw, HasSubstr("output truncated"));
}

// Policies (issue #11 point 3). The soft timeout raises TaskTimeout inside the job (its
// finally: runs) and the job fails with TIMEOUT before any kill, in a worker process and
// in-process (isolation main) alike.
TEST_F(ServeWorkersTest, TheSoftTimeoutRaisesInTheJobBeforeAnyKill) {
  for (const char* isolation : {"process", "main"}) {
    ASSERT_TRUE(Start({"--isolation", isolation, "--workers", "1", "--kill-grace", "30"}))
        << server_->output();
    std::string id = Submit("soft_timeout");
    json j = WaitEnded(id);
    ASSERT_EQ(j["status"], "failed") << isolation << ": " << j.dump();
    EXPECT_EQ(j["error"]["code"], "TIMEOUT") << isolation << ": " << j.dump();
    EXPECT_EQ(j["error"]["message"], "timed out after 1 s") << isolation << ": " << j.dump();
    auto log = SendHttp(port_, "GET", "/api/worker/jobs/" + id + "/log");
    EXPECT_THAT(log.raw, HasSubstr("cleanup ran")) << isolation;
    EXPECT_THAT(log.raw, HasSubstr("caught TaskTimeout")) << isolation;
    server_->Kill(SIGTERM);
    EXPECT_EQ(server_->Wait().exit_code, 0) << isolation;
    server_.reset();
  }
}

// Decorator arguments per type: max_jobs_per_worker recycles the worker, max_output
// truncates with a note; the serve-wide settings stay for the other types.
TEST_F(ServeWorkersTest, DecoratorLimitsApplyPerType) {
  ASSERT_TRUE(Start({"--workers", "1"})) << server_->output();
  json a = WaitEnded(Submit("recycled_pid")), b = WaitEnded(Submit("recycled_pid"));
  ASSERT_EQ(a["status"], "done") << a.dump();
  ASSERT_EQ(b["status"], "done") << b.dump();
  EXPECT_NE(a["result"], b["result"]) << "the worker was not replaced after 1 job";
  json p1 = WaitEnded(Submit("pid")), p2 = WaitEnded(Submit("pid"));
  EXPECT_EQ(p1["result"], p2["result"]) << "a type without the limit recycled its worker";
  std::string chatty = Submit("chatty");
  ASSERT_EQ(WaitEnded(chatty)["status"], "done");
  auto log = SendHttp(port_, "GET", "/api/worker/jobs/" + chatty + "/log");
  EXPECT_LT(log.raw.size(), 2000u);
  EXPECT_THAT(log.raw, HasSubstr("output truncated"));
}

// The serve config's job_types section wins over the decorator, for every limit.
TEST_F(ServeWorkersTest, TheConfigJobTypesSectionWinsOverTheDecorator) {
  WriteFile(dir_ / "serve.yaml", R"(job_types:
  stuck_in_c: {timeout: 500ms, kill_grace: 0.5}
  hog: {memory_limit: 100MiB}
  pid: {max_jobs_per_worker: 1}
  chatty: {max_output: 4KiB}
)");
  ASSERT_TRUE(Start({"--workers", "1", "--config", (dir_ / "serve.yaml").string()}))
      << server_->output();
  json stuck = WaitEnded(Submit("stuck_in_c"));
  EXPECT_EQ(stuck["error"]["message"], "timeout after 0.5 s, killed") << stuck.dump();
  json hog = WaitEnded(Submit("hog"));
  EXPECT_EQ(hog["error"]["message"], "memory limit 100 MiB exceeded") << hog.dump();
  json a = WaitEnded(Submit("pid")), b = WaitEnded(Submit("pid"));
  EXPECT_NE(a["result"], b["result"]) << "the worker was not replaced after 1 job";
  std::string chatty = Submit("chatty");
  ASSERT_EQ(WaitEnded(chatty)["status"], "done");
  auto log = SendHttp(port_, "GET", "/api/worker/jobs/" + chatty + "/log");
  EXPECT_GT(log.raw.size(), 4000u);
  EXPECT_LT(log.raw.size(), 5000u);
  EXPECT_THAT(log.raw, HasSubstr("output truncated"));
}

TEST_F(ServeWorkersTest, SigtermStopsWithinGraceWhateverTheJobsDoAndGivesTheirItemsBack) {
  ASSERT_TRUE(Start({"--workers", "2", "--grace", "1", "--job-timeout", "0"})) << server_->output();
  ASSERT_EQ(WaitEnded(Submit("leak_threads"))["status"], "done");
  std::string stuck = Submit("loop", json::object(), 3);  // timeout 1 s, kill grace 5 s
  std::string stuck2 = Submit("slow_pid", {{"seconds", 3600}}, 3);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto t0 = std::chrono::steady_clock::now();
  server_->Kill(SIGTERM);
  RunResult r = server_->Wait();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_LT(took, 1 + 5) << "serve did not stop within grace + 5 s";
  Db db(dir_ / "wi.db");
  EXPECT_EQ(db.Int("SELECT count(*) FROM items WHERE state='RESERVED'"), 0);
  // The job killed at shutdown is back PENDING, its attempt not spent.
  EXPECT_EQ(db.Int("SELECT state='PENDING' AND attempt=0 FROM items WHERE id=" + stuck2), 1) << r;
}

TEST_F(ServeWorkersTest, AJobModuleThatCrashesOnImportIsReportedAndServeExits) {
  WriteFile(dir_ / "jobs.py", "import os\nos.abort()\n");
  Process p(
      {"serve", "-r", (SourceDir() / "robot.yaml").string(), "--store", (dir_ / "wi.db").string(),
       "--jobs", (dir_ / "jobs.py").string(), "--listen", "127.0.0.1:0", "--no-auth"},
      RunOptions{.timeout_seconds = 60});
  RunResult r = p.Wait();
  EXPECT_NE(r.exit_code, 0) << r;
  EXPECT_EQ(r.term_signal, 0) << "the control process died with the worker: " << r;
  EXPECT_THAT(r.err, HasSubstr("signal 6 (SIGABRT)")) << r;
}

// Robot tasks served as consumers (--tasks) run in worker processes too: a segfault costs
// the run (its item fails with the cause recorded in the run's failure), serve keeps
// consuming, and a task stuck in C at SIGTERM is killed so serve exits 0 without _exit.
TEST_F(ServeWorkersTest, ConsumerTasksRunInWorkersAndTheirCrashesAreContained) {
  WriteFile(dir_ / "tasks.py", R"(import ctypes, time
from robocorp import workitems
from robocorp.tasks import task

@task
def segv():
    for item in workitems.inputs:
        if item.payload.get("crash"):
            ctypes.string_at(0)
        item.done()

@task
def stuck():
    for item in workitems.inputs:
        print("stuck took an item", flush=True)
        time.sleep(3600)
)");
  WriteFile(dir_ / "robot.yaml",
            "tasks:\n  Segv:\n    shell: python -m robocorp.tasks run tasks.py -t segv\n"
            "  Stuck:\n    shell: python -m robocorp.tasks run tasks.py -t stuck\n"
            "artifactsDir: output\n");
  std::vector<std::string> args = {"serve",
                                   "-r",
                                   (dir_ / "robot.yaml").string(),
                                   "--store",
                                   (dir_ / "wi.db").string(),
                                   "--tasks",
                                   "Segv,Stuck",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--no-auth",
                                   "--grace",
                                   "1"};
  server_ = std::make_unique<Process>(args, RunOptions{.timeout_seconds = 120});
  ASSERT_TRUE(server_->WaitForOutput("serving on", 60)) << server_->output();
  port_ = ServingPort(*server_);
  auto create = [&](const std::string& queue, const json& payload) {
    auto r = SendHttp(port_, "POST", "/api/work-items",
                      json{{"queue_name", queue}, {"payload", payload}}.dump());
    EXPECT_EQ(r.status, 200) << r.raw;
  };
  create("segv", {{"crash", true}});
  auto count = [&](const std::string& sql) {
    Db db(dir_ / "wi.db");
    return db.Int(sql);
  };
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (count("SELECT count(*) FROM items WHERE queue='segv' AND attempt>0 AND "
               "state<>'RESERVED'") == 0 &&
         std::chrono::steady_clock::now() < until)
    server_->Pump(50);
  EXPECT_TRUE(server_->Running()) << server_->output();
  EXPECT_TRUE(Healthy());
  EXPECT_THAT(server_->output().err, HasSubstr("signal 11 (SIGSEGV)")) << server_->output();
  create("segv", {{"crash", false}});  // a new worker consumes the next one
  until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (count("SELECT count(*) FROM items WHERE queue='segv' AND state='DONE'") == 0 &&
         std::chrono::steady_clock::now() < until)
    server_->Pump(50);
  EXPECT_EQ(count("SELECT count(*) FROM items WHERE queue='segv' AND state='DONE'"), 1)
      << server_->output();

  create("stuck", json::object());
  until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (count("SELECT count(*) FROM items WHERE queue='stuck' AND state='RESERVED'") == 0 &&
         std::chrono::steady_clock::now() < until)
    server_->Pump(50);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  auto t0 = std::chrono::steady_clock::now();
  server_->Kill(SIGTERM);
  RunResult r = server_->Wait();
  double took = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  EXPECT_EQ(r.exit_code, 0) << r;
  EXPECT_LT(took, 1 + 5) << r;
  EXPECT_EQ(count("SELECT count(*) FROM items WHERE queue='stuck' AND state='PENDING' AND "
                  "attempt=0"),
            1)
      << r;
}

// robot.yaml limits for a consumer (issue #11 point 3): max_items_per_worker recycles
// its worker, memory_limit kills it with the cause.
TEST_F(ServeWorkersTest, ConsumerTaskLimitsFromRobotYaml) {
  WriteFile(dir_ / "tasks.py", R"(import os, time
from robocorp import workitems
from robocorp.tasks import task

@task
def pids():
    for item in workitems.inputs:
        workitems.outputs.create({"pid": os.getpid()})
        item.done()

@task
def hog():
    held = []
    for item in workitems.inputs:
        while True:
            held.append(bytearray(20 << 20))
            time.sleep(0.02)
)");
  WriteFile(dir_ / "robot.yaml",
            // Pids last: its outputs go to pids_output, not to the next task's queue.
            "tasks:\n  Hog:\n    shell: python -m robocorp.tasks run tasks.py -t hog\n"
            "    limits: {memory_limit: 150MiB}\n"
            "  Pids:\n    shell: python -m robocorp.tasks run tasks.py -t pids\n"
            "    limits: {max_items_per_worker: 2}\n"
            "artifactsDir: output\n");
  server_ = std::make_unique<Process>(
      std::vector<std::string>{"serve", "-r", (dir_ / "robot.yaml").string(), "--store",
                               (dir_ / "wi.db").string(), "--tasks", "Hog,Pids", "--listen",
                               "127.0.0.1:0", "--no-auth"},
      RunOptions{.timeout_seconds = 120});
  ASSERT_TRUE(server_->WaitForOutput("serving on", 60)) << server_->output();
  port_ = ServingPort(*server_);
  auto count = [&](const std::string& sql) {
    Db db(dir_ / "wi.db");
    return db.Int(sql);
  };
  for (int i = 0; i < 5; ++i) {
    auto r = SendHttp(port_, "POST", "/api/work-items",
                      json{{"queue_name", "pids"}, {"payload", {{"n", i}}}}.dump());
    ASSERT_EQ(r.status, 200) << r.raw;
  }
  auto r = SendHttp(port_, "POST", "/api/work-items",
                    json{{"queue_name", "hog"}, {"payload", json::object()}}.dump());
  ASSERT_EQ(r.status, 200) << r.raw;
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while ((count("SELECT count(*) FROM items WHERE queue='pids' AND state='DONE'") < 5 ||
          server_->output().err.find("memory limit 150 MiB exceeded") == std::string::npos) &&
         std::chrono::steady_clock::now() < until)
    server_->Pump(50);
  ASSERT_EQ(count("SELECT count(*) FROM items WHERE queue='pids' AND state='DONE'"), 5)
      << server_->output();
  // 5 items, at most 2 per worker: at least 3 workers.
  EXPECT_GE(count("SELECT count(DISTINCT json_extract(payload, '$.pid')) FROM items "
                  "WHERE queue='pids_output'"),
            3)
      << server_->output();
  EXPECT_THAT(server_->output().err, HasSubstr("memory limit 150 MiB exceeded"))
      << server_->output();
  EXPECT_TRUE(Healthy());
  server_->Kill(SIGTERM);
  EXPECT_EQ(server_->Wait().exit_code, 0);
}

}  // namespace
}  // namespace robotni::testing
