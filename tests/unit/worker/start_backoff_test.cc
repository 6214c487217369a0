// StartBackoff: the wait before starting a worker again grows while starts fail, is capped,
// and is logged once per change (not once per try).
#include "worker/start_backoff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/log.h"

namespace robotni::worker {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using namespace std::chrono_literals;

class StartBackoffTest : public ::testing::Test {
 protected:
  void SetUp() override {
    log::SetSink([this](log::Level, std::string_view line) { lines_.emplace_back(line); });
  }
  void TearDown() override { log::SetSink(nullptr); }
  std::vector<std::string> lines_;
};

// How far in the future the next try is, rounded to 10 ms.
int64_t WaitMs(const StartBackoff& b) {
  auto d = b.not_before() - StartBackoff::Clock::now();
  return (std::chrono::duration_cast<std::chrono::milliseconds>(d).count() + 5) / 10 * 10;
}

TEST_F(StartBackoffTest, DoublesUpToTheCapAndLogsEachNewWaitOnce) {
  StartBackoff b("the worker process for task 'T'", 1000ms, 4000ms);
  EXPECT_LE(b.not_before(), StartBackoff::Clock::now()) << "no wait before any failure";
  std::vector<int64_t> waits;
  for (int i = 0; i < 7; ++i) {
    b.Failed(Status::IOError("exit code 1"));
    waits.push_back(WaitMs(b));
  }
  EXPECT_THAT(waits, ElementsAre(0, 1000, 2000, 4000, 4000, 4000, 4000));
  EXPECT_EQ(b.failures(), 7);
  ASSERT_EQ(lines_.size(), 4u) << "one line per new wait, none per try at the cap";
  EXPECT_THAT(lines_[0], HasSubstr("the worker process for task 'T' failed to start (exit code "
                                   "1); trying again at once"));
  EXPECT_THAT(lines_[1], HasSubstr("the worker process for task 'T' failed to start (exit code "
                                   "1); next try in 1 s"));
  EXPECT_THAT(lines_[2], HasSubstr("next try in 2 s"));
  EXPECT_THAT(lines_[3], HasSubstr("next try in 4 s, then every 4 s until it starts"));

  b.Succeeded();
  EXPECT_EQ(b.failures(), 0);
  EXPECT_LE(b.not_before(), StartBackoff::Clock::now());
  ASSERT_EQ(lines_.size(), 5u);
  EXPECT_THAT(lines_[4], HasSubstr("started again after 7 failed start(s)"));

  // Failing again starts over, and says so.
  b.Failed(Status::IOError("exit code 1"));
  b.Failed(Status::IOError("exit code 1"));
  EXPECT_EQ(WaitMs(b), 1000);
  ASSERT_EQ(lines_.size(), 7u);
  EXPECT_THAT(lines_[6], HasSubstr("next try in 1 s"));
}

TEST_F(StartBackoffTest, ASuccessWithoutFailuresLogsNothing) {
  StartBackoff b("w");
  b.Succeeded();
  EXPECT_TRUE(lines_.empty());
}

}  // namespace
}  // namespace robotni::worker
