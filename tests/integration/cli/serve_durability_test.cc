// `robotni serve --durability fast|full`: full syncs every commit, fast does not. Counted with
// an LD_PRELOAD library (tests/support/fsync_counter.c) that counts the fsync/fdatasync calls
// made on the store's files.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;

constexpr int kJobs = 30;

// Syncs of files named like the store ("wi.db", its -wal and -shm) while serve takes kJobs
// jobs one after another (each answered after its commit) and stops.
long StoreSyncs(const std::string& durability) {
  TempDir dir;
  std::string counts = (dir.path() / "fsync-counts").string();
  RunOptions opts;
  opts.env = {{"LD_PRELOAD", ROBOTNI_FSYNC_COUNTER},
              {"ROBOTNI_FSYNC_COUNT_FILE", counts},
              {"ROBOTNI_FSYNC_MATCH", "wi.db"},
              // The library comes before a sanitizer runtime in an asan build.
              {"ASAN_OPTIONS", "verify_asan_link_order=0:detect_leaks=0"}};
  Process server(
      ServeExampleArgs((dir.path() / "wi.db").string(),
                       {"--no-auth", "--isolation", "subinterpreter", "--durability", durability}),
      opts);
  EXPECT_TRUE(server.WaitForOutput("serving on", 30)) << server.output();
  int port = ServingPort(server);
  for (int i = 0; i < kJobs; ++i) {
    auto r = SendHttp(port, "POST", "/api/worker/jobs",
                      json{{"type", "add"}, {"params", {{"x", i}, {"y", 1}}}}.dump());
    EXPECT_EQ(r.status, 202) << r.raw;
  }
  server.Kill(SIGTERM);
  RunResult r = server.Wait();
  EXPECT_EQ(r.exit_code, 0) << r;
  long total = 0;
  std::ifstream in(counts);
  for (long n; in >> n;) total += n;
  return total;
}

TEST(ServeDurabilityTest, FullSyncsEveryCommitFastDoesNot) {
  long fast = StoreSyncs("fast");
  long full = StoreSyncs("full");
  // full: at least one sync per accepted job (each POST commits before its 202).
  EXPECT_GE(full, kJobs) << "fast " << fast << ", full " << full;
  // fast: the WAL is synced at checkpoints only (here: when the store closes).
  EXPECT_LT(fast, kJobs / 3) << "fast " << fast << ", full " << full;
}

TEST(ServeDurabilityTest, UnknownDurabilityIsRefused) {
  TempDir dir;
  RunResult r = RunRobotni(ServeExampleArgs((dir.path() / "wi.db").string(),
                                            {"--no-auth", "--durability", "sometimes"}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("--durability"), std::string::npos) << r;

  std::ofstream(dir.path() / "serve.yaml") << "durability: eventually\n";
  r = RunRobotni(ServeExampleArgs((dir.path() / "wi.db").string(),
                                  {"--no-auth", "--config", (dir.path() / "serve.yaml").string()}));
  EXPECT_NE(r.exit_code, 0);
  EXPECT_NE(r.err.find("durability: expected fast or full"), std::string::npos) << r;
}

}  // namespace
}  // namespace robotni::testing
