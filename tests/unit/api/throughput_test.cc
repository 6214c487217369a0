// The per-minute counters behind the dashboard's throughput chart (api/throughput.h): the
// last 60 minutes oldest first, zeros included, and a slot reused an hour later starts over.
#include "api/throughput.h"

#include <gtest/gtest.h>

namespace robotni::api {
namespace {

constexpr int64_t kMinute = 60000;
constexpr int64_t kT0 = 1'800'000'000'000;  // a minute boundary (2027-01-15T08:00:00Z)

TEST(ThroughputTest, CountsPerMinuteOverTheLastHourOldestFirst) {
  Throughput t;
  t.Record(kT0 + 1, Throughput::Outcome::kDone);
  t.Record(kT0 + 59999, Throughput::Outcome::kDone);
  t.Record(kT0 + 5 * kMinute, Throughput::Outcome::kFailed);
  t.Record(kT0 + 5 * kMinute + 10, Throughput::Outcome::kRetried);
  auto j = t.Json(kT0 + 5 * kMinute + 30000);
  const auto& m = j["minutes"];
  ASSERT_EQ(m.size(), 60u);
  EXPECT_EQ(m[59]["minute"], "2027-01-15T08:05:00.000Z");
  EXPECT_EQ(m[59]["failed"], 1);
  EXPECT_EQ(m[59]["retried"], 1);
  EXPECT_EQ(m[59]["done"], 0);
  EXPECT_EQ(m[54]["minute"], "2027-01-15T08:00:00.000Z");
  EXPECT_EQ(m[54]["done"], 2);
  EXPECT_EQ(m[55]["done"], 0);
  EXPECT_EQ(m[0]["minute"], "2027-01-15T07:06:00.000Z");
}

TEST(ThroughputTest, AnHourLaterAMinutesSlotStartsOverAndOldCountsAreNotShown) {
  Throughput t;
  t.Record(kT0, Throughput::Outcome::kDone);
  // An hour on, nothing recorded since: the old minute is out of the window, shown nowhere.
  auto later = t.Json(kT0 + 60 * kMinute);
  for (const auto& m : later["minutes"]) EXPECT_EQ(m["done"], 0) << m;
  // The same slot, reused: counts from zero.
  t.Record(kT0 + 60 * kMinute, Throughput::Outcome::kFailed);
  auto j = t.Json(kT0 + 60 * kMinute);
  EXPECT_EQ(j["minutes"][59]["done"], 0);
  EXPECT_EQ(j["minutes"][59]["failed"], 1);
}

}  // namespace
}  // namespace robotni::api
