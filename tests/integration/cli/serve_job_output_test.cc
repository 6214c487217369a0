// A job's output streams from its worker process as it is written (issue #11): a job whose
// worker dies (a segfault, a kill past its timeout) keeps in its job.log what it printed.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "tests/integration/cli/http_test_client.h"
#include "tests/integration/cli/run_test_util.h"

namespace robotni::testing {
namespace {

using nlohmann::json;
using ::testing::HasSubstr;

const char kJobs[] = R"(import ctypes, sys, time
from robotni import job

@job("talk_then_segv")
def talk_then_segv():
    print("step 1 of 2 done", flush=True)
    sys.stderr.write("about to crash\n")
    ctypes.string_at(0)

@job("talk_then_hang", timeout=1)
def talk_then_hang():
    print("waiting for ever", flush=True)
    time.sleep(3600)  # in C: killed after timeout + kill grace
)";

TEST(ServeJobOutput, AJobWhoseWorkerDiesKeepsWhatItPrinted) {
  TempDir dir;
  WriteFile(dir / "jobs.py", kJobs);
  Process server({"serve", "-r", (SourceDir() / "robot.yaml").string(), "--store",
                  (dir / "wi.db").string(), "--jobs", (dir / "jobs.py").string(), "--listen",
                  "127.0.0.1:0", "--no-auth", "--workers", "1", "--kill-grace", "1"},
                 RunOptions{.timeout_seconds = 120});
  ASSERT_TRUE(server.WaitForOutput("serving on", 60)) << server.output();
  int port = ServingPort(server);
  ASSERT_GT(port, 0);

  const std::vector<std::tuple<std::string, std::string, std::vector<std::string>>> cases = {
      {"talk_then_segv", "signal 11 (SIGSEGV)", {"step 1 of 2 done", "about to crash"}},
      {"talk_then_hang", "timeout after 1 s, killed", {"waiting for ever"}},
  };
  for (const auto& [type, cause, lines] : cases) {
    auto r = SendHttp(port, "POST", "/api/worker/jobs",
                      json{{"type", type}, {"max_attempts", 1}}.dump());
    ASSERT_EQ(r.status, 202) << r.raw;
    std::string id = r.body.value("job_id", "");
    json j;
    auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < until) {
      j = SendHttp(port, "GET", "/api/worker/jobs/" + id).body;
      if (j.is_object() && j["status"] == "failed") break;
      server.Pump(20);
    }
    ASSERT_EQ(j["status"], "failed") << type << ": " << j.dump() << server.output();
    EXPECT_THAT(j["error"]["message"].get<std::string>(), HasSubstr(cause)) << j.dump();
    auto log = SendHttp(port, "GET", "/api/worker/jobs/" + id + "/log");
    ASSERT_EQ(log.status, 200) << type << ": " << log.raw;
    for (const auto& line : lines) EXPECT_THAT(log.raw, HasSubstr(line)) << type;
  }
  server.Kill(SIGTERM);
  RunResult end = server.Wait();
  EXPECT_EQ(end.exit_code, 0) << end;
}

}  // namespace
}  // namespace robotni::testing
