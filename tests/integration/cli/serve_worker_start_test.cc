// A consumer's worker process that cannot start (ROBOTNI_WORKER_EXECUTABLE fails at once):
// serve tries again at once, then backs off (1 s, 2 s, 4 s ...) and says so once per new wait,
// reserves nothing meanwhile (no item spends an attempt), and takes the items once a worker starts
// again.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using ::testing::HasSubstr;

size_t Occurrences(const std::string& text, const std::string& needle) {
  size_t n = 0;
  for (size_t at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

// The worker program: `exec` of `target` (the file is replaced whole, never rewritten in place).
void WriteWorker(const fs::path& path, const std::string& target) {
  fs::path tmp = path.string() + ".new";
  WriteFile(tmp, "#!/bin/sh\nexec " + target + " \"$@\"\n");
  fs::permissions(tmp, fs::perms::owner_all);
  fs::rename(tmp, path);
}

TEST(ServeWorkerStart, AWorkerThatCannotStartBacksOffAndCostsNoAttempt) {
  TempDir dir;
  fs::path robot = CopyFixture("serve_tasks", dir / "robot");
  fs::path db = dir / "data" / "wi.db";
  fs::create_directories(db.parent_path());  // --store makes the file, not its directory
  fs::path worker = dir / "worker.sh";
  WriteWorker(worker, "/bin/false");
  for (int i = 1; i <= 3; ++i) {
    RunResult added = RunRobotni({"items", "add", "consumer", "{\"n\": " + std::to_string(i) + "}",
                                  "--store", db.string(), "--max-attempts", "1"});
    ASSERT_EQ(added.exit_code, 0) << added;
  }
  RunOptions opts;
  opts.env["ROBOTNI_WORKER_EXECUTABLE"] = worker.string();
  opts.timeout_seconds = 120;
  Process server(
      {"serve", "-r", (robot / "robot.yaml").string(), "--store", db.string(), "--listen",
       "127.0.0.1:0", "--no-auth", "--tasks", "Consumer", "--isolation", "process"},
      opts);
  ASSERT_TRUE(server.WaitForOutput("serving on", 30)) << server.output();
  const std::string what = "the worker process for task 'Consumer' failed to start";
  ASSERT_TRUE(server.WaitForOutput("next try in 4 s", 30)) << server.output();
  // Four tries so far (then waits of 0, 1, 2, 4 s): one line each, none repeated.
  EXPECT_EQ(Occurrences(server.err(), what), 4u) << server.err();
  EXPECT_EQ(Occurrences(server.err(), "trying again at once"), 1u) << server.err();
  EXPECT_EQ(Occurrences(server.err(), "next try in 1 s"), 1u) << server.err();
  EXPECT_EQ(Occurrences(server.err(), "next try in 2 s"), 1u) << server.err();
  EXPECT_THAT(server.err(), HasSubstr("exit code 1"));
  {
    Db d(db);
    EXPECT_EQ(d.Int("SELECT count(*) FROM items WHERE queue='consumer' AND state='PENDING' AND "
                    "attempt=0"),
              3)
        << "nothing was reserved for a worker that could not start";
  }

  // The worker program works again: the next try starts it and the items are done, each
  // in its first (and only allowed) attempt.
  WriteWorker(worker, RobotniBinary());
  ASSERT_TRUE(server.WaitForOutput("started again after ", 30)) << server.output();
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  auto done = [&] {
    Db d(db);
    return d.Int("SELECT count(*) FROM items WHERE queue='consumer' AND state='DONE'");
  };
  while (done() < 3 && std::chrono::steady_clock::now() < until) server.Pump(50);
  EXPECT_EQ(done(), 3) << server.output();
  server.Kill(SIGTERM);
  RunResult r = server.Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
}

}  // namespace
}  // namespace robotni::testing
