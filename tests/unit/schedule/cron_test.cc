// CronSchedule: the syntax (fields, ranges, steps, names, shortcuts, six fields), the Vixie
// day-of-month / day-of-week rule, Feb 29, and daylight saving time in two zones.
#include "schedule/cron.h"

#include <date/date.h>
#include <gtest/gtest.h>

#include <chrono>

namespace robotni::schedule {
namespace {

using namespace date;
using std::chrono::hours;
using std::chrono::minutes;
using std::chrono::seconds;

// UTC instant of a civil time.
int64_t Utc(year_month_day ymd, int h = 0, int m = 0, int s = 0) {
  return (sys_days{ymd} + hours(h) + minutes(m) + seconds(s)).time_since_epoch().count();
}

CronSchedule Make(const char* expr, const char* tz = "") {
  auto c = CronSchedule::Parse(expr, tz);
  EXPECT_TRUE(c.ok()) << expr << ": " << c.status().message();
  return std::move(c).value();
}

int64_t NextOf(const char* expr, int64_t after, const char* tz = "") {
  auto n = Make(expr, tz).Next(after);
  EXPECT_TRUE(n.has_value()) << expr;
  return n.value_or(-1);
}

std::string ParseError(const char* expr, const char* tz = "") {
  auto c = CronSchedule::Parse(expr, tz);
  EXPECT_FALSE(c.ok()) << expr;
  return c.ok() ? "" : c.status().message();
}

TEST(CronTest, EveryFifteenMinutes) {
  int64_t t = Utc(2026_y / 1 / 1, 0, 7);
  EXPECT_EQ(NextOf("*/15 * * * *", t), Utc(2026_y / 1 / 1, 0, 15));
  // Strictly after: a tick itself gives the next one.
  EXPECT_EQ(NextOf("*/15 * * * *", Utc(2026_y / 1 / 1, 0, 15)), Utc(2026_y / 1 / 1, 0, 30));
  EXPECT_EQ(NextOf("*/15 * * * *", Utc(2026_y / 1 / 1, 23, 50)), Utc(2026_y / 1 / 2));
}

TEST(CronTest, RangesListsStepsAndNames) {
  // 09:00, 13:00, 17:00 on weekdays of January and July.
  const char* expr = "0 9-17/4 * JAN,jul mon-FRI";
  // Fri 2026-01-02 17:00 -> Mon 2026-01-05 09:00.
  EXPECT_EQ(NextOf(expr, Utc(2026_y / 1 / 2, 17)), Utc(2026_y / 1 / 5, 9));
  EXPECT_EQ(NextOf(expr, Utc(2026_y / 1 / 5, 9)), Utc(2026_y / 1 / 5, 13));
  // Last weekday of January 2026 (Sat 31) is Fri 30; then July 1 (Wed).
  EXPECT_EQ(NextOf(expr, Utc(2026_y / 1 / 30, 17)), Utc(2026_y / 7 / 1, 9));
  // a/n runs to the field's end; lists mix forms.
  EXPECT_EQ(NextOf("50/5 * * * *", Utc(2026_y / 1 / 1, 0, 56)), Utc(2026_y / 1 / 1, 1, 50));
  EXPECT_EQ(NextOf("1,2,30-31 * * * *", Utc(2026_y / 1 / 1, 0, 2)), Utc(2026_y / 1 / 1, 0, 30));
  // 7 is Sunday as 0 is. Sun 2026-01-04.
  EXPECT_EQ(NextOf("0 0 * * 7", Utc(2026_y / 1 / 1)), Utc(2026_y / 1 / 4));
  EXPECT_EQ(NextOf("0 0 * * 5-7", Utc(2026_y / 1 / 3, 1)), Utc(2026_y / 1 / 4));
}

TEST(CronTest, Shortcuts) {
  int64_t t = Utc(2026_y / 5 / 17, 10, 30);  // a Sunday
  EXPECT_EQ(NextOf("@hourly", t), Utc(2026_y / 5 / 17, 11));
  EXPECT_EQ(NextOf("@daily", t), Utc(2026_y / 5 / 18));
  EXPECT_EQ(NextOf("@midnight", t), Utc(2026_y / 5 / 18));
  EXPECT_EQ(NextOf("@weekly", t), Utc(2026_y / 5 / 24));
  EXPECT_EQ(NextOf("@monthly", t), Utc(2026_y / 6 / 1));
  EXPECT_EQ(NextOf("@yearly", t), Utc(2027_y / 1 / 1));
  EXPECT_EQ(NextOf("@ANNUALLY", t), Utc(2027_y / 1 / 1));
  EXPECT_EQ(Make("@hourly").expression(), "@hourly");
}

TEST(CronTest, SixFieldsHaveSeconds) {
  int64_t t = Utc(2026_y / 1 / 1, 12, 0, 7);
  EXPECT_TRUE(Make("*/1 * * * * *").has_seconds());
  EXPECT_FALSE(Make("* * * * *").has_seconds());
  EXPECT_EQ(NextOf("*/1 * * * * *", t), t + 1);
  EXPECT_EQ(NextOf("30 * * * * *", t), Utc(2026_y / 1 / 1, 12, 0, 30));
  EXPECT_EQ(NextOf("0 */2 * * * *", t), Utc(2026_y / 1 / 1, 12, 2));
  // Five fields fire at second 0.
  EXPECT_EQ(NextOf("* * * * *", t), Utc(2026_y / 1 / 1, 12, 1));
}

TEST(CronTest, DayOfMonthOrDayOfWeekAsVixieCron) {
  int64_t t = Utc(2026_y / 1 / 1, 1);  // Thursday
  // Both restricted: the 13th or any Friday; Fri Jan 2 comes first.
  EXPECT_EQ(NextOf("0 0 13 * FRI", t), Utc(2026_y / 1 / 2));
  EXPECT_EQ(NextOf("0 0 13 * FRI", Utc(2026_y / 1 / 9)), Utc(2026_y / 1 / 13));
  EXPECT_EQ(NextOf("0 0 13 * *", t), Utc(2026_y / 1 / 13));
  EXPECT_EQ(NextOf("0 0 * * FRI", t), Utc(2026_y / 1 / 2));
  // A field that starts with '*' is unrestricted for the rule: odd days AND Fridays.
  EXPECT_EQ(NextOf("0 0 */2 * FRI", t), Utc(2026_y / 1 / 9));
  EXPECT_EQ(NextOf("0 0 13 * */1", t), Utc(2026_y / 1 / 13));
}

TEST(CronTest, FebruaryTwentyNinth) {
  EXPECT_EQ(NextOf("0 0 29 2 *", Utc(2025_y / 3 / 1)), Utc(2028_y / 2 / 29));
  EXPECT_EQ(NextOf("0 12 29 FEB *", Utc(2028_y / 2 / 29, 12)), Utc(2032_y / 2 / 29, 12));
  // Feb 29 that is a Monday, or any Monday of February (OR rule).
  EXPECT_EQ(NextOf("0 0 29 2 MON", Utc(2026_y / 3 / 1)), Utc(2027_y / 2 / 1));
  // The last day of every month is not cron's to say: the 31st skips short months.
  EXPECT_EQ(NextOf("0 0 31 * *", Utc(2026_y / 3 / 31, 1)), Utc(2026_y / 5 / 31));
}

TEST(CronTest, HelsinkiSpringForwardFiresOnceAtTheChange) {
  // 2026-03-29 03:00 EET (01:00Z) clocks go to 04:00 EEST: 03:00-03:59 never happens.
  const char* tz = "Europe/Helsinki";
  EXPECT_EQ(NextOf("30 3 * * *", Utc(2026_y / 3 / 28), tz), Utc(2026_y / 3 / 28, 1, 30));
  EXPECT_EQ(NextOf("30 3 * * *", Utc(2026_y / 3 / 28, 1, 30), tz), Utc(2026_y / 3 / 29, 1));
  EXPECT_EQ(NextOf("30 3 * * *", Utc(2026_y / 3 / 29, 1), tz), Utc(2026_y / 3 / 30, 0, 30));
  // Every 15 minutes: 02:45 EET, then the change (03:00..03:45 all fire as one), 04:15 EEST.
  auto c = Make("*/15 * * * *", tz);
  int64_t t = Utc(2026_y / 3 / 29, 0, 45);
  EXPECT_EQ(c.Next(t - 1).value(), t);
  EXPECT_EQ(c.Next(t).value(), Utc(2026_y / 3 / 29, 1));
  EXPECT_EQ(c.Next(Utc(2026_y / 3 / 29, 1)).value(), Utc(2026_y / 3 / 29, 1, 15));
  // Local 09:00 is 07:00Z before the change and 06:00Z after.
  EXPECT_EQ(NextOf("0 9 * * *", Utc(2026_y / 3 / 28, 8), tz), Utc(2026_y / 3 / 29, 6));
}

TEST(CronTest, HelsinkiFallBackFiresOnceAtTheFirstOccurrence) {
  // 2026-10-25 04:00 EEST (01:00Z) clocks go back to 03:00 EET: 03:00-03:59 happens twice.
  const char* tz = "Europe/Helsinki";
  EXPECT_EQ(NextOf("30 3 * * *", Utc(2026_y / 10 / 24, 12), tz), Utc(2026_y / 10 / 25, 0, 30));
  EXPECT_EQ(NextOf("30 3 * * *", Utc(2026_y / 10 / 25, 0, 30), tz), Utc(2026_y / 10 / 26, 1, 30));
  // Every 30 minutes: 03:00 and 03:30 EEST once, not again as EET; then 04:00 EET.
  auto c = Make("*/30 * * * *", tz);
  EXPECT_EQ(c.Next(Utc(2026_y / 10 / 24, 23, 59)).value(), Utc(2026_y / 10 / 25, 0));
  EXPECT_EQ(c.Next(Utc(2026_y / 10 / 25, 0)).value(), Utc(2026_y / 10 / 25, 0, 30));
  EXPECT_EQ(c.Next(Utc(2026_y / 10 / 25, 0, 30)).value(), Utc(2026_y / 10 / 25, 2));
  // Asked from inside the second 03:xx (EET): the next is 04:00 EET.
  EXPECT_EQ(c.Next(Utc(2026_y / 10 / 25, 1, 10)).value(), Utc(2026_y / 10 / 25, 2));
}

TEST(CronTest, NewYorkDaylightSaving) {
  const char* tz = "America/New_York";
  // 2026-03-08 02:00 EST (07:00Z) -> 03:00 EDT: 02:30 fires at the change.
  EXPECT_EQ(NextOf("30 2 * * *", Utc(2026_y / 3 / 7, 12), tz), Utc(2026_y / 3 / 8, 7));
  EXPECT_EQ(NextOf("30 2 * * *", Utc(2026_y / 3 / 8, 7), tz), Utc(2026_y / 3 / 9, 6, 30));
  // 2026-11-01 02:00 EDT (06:00Z) -> 01:00 EST: 01:30 fires once, as EDT.
  EXPECT_EQ(NextOf("30 1 * * *", Utc(2026_y / 10 / 31, 12), tz), Utc(2026_y / 11 / 1, 5, 30));
  EXPECT_EQ(NextOf("30 1 * * *", Utc(2026_y / 11 / 1, 5, 30), tz), Utc(2026_y / 11 / 2, 6, 30));
  // Hourly across the fall-back: 01:00 EDT, 02:00 EST (01:00 EST is the repeat).
  auto c = Make("0 * * * *", tz);
  EXPECT_EQ(c.Next(Utc(2026_y / 11 / 1, 4, 30)).value(), Utc(2026_y / 11 / 1, 5));
  EXPECT_EQ(c.Next(Utc(2026_y / 11 / 1, 5)).value(), Utc(2026_y / 11 / 1, 7));
}

TEST(CronTest, LatestInFindsTheLastMissedTick) {
  auto daily = Make("0 0 * * *");
  EXPECT_EQ(daily.LatestIn(Utc(2026_y / 1 / 1, 1), Utc(2026_y / 1 / 5, 12)).value(),
            Utc(2026_y / 1 / 5));
  EXPECT_EQ(daily.LatestIn(Utc(2026_y / 1 / 5), Utc(2026_y / 1 / 5, 12)), std::nullopt);
  EXPECT_EQ(daily.LatestIn(Utc(2026_y / 1 / 4, 23), Utc(2026_y / 1 / 5)).value(),
            Utc(2026_y / 1 / 5));
  auto secs = Make("*/1 * * * * *");
  int64_t t = Utc(2026_y / 1 / 1, 12);
  EXPECT_EQ(secs.LatestIn(t - 86400 * 3, t).value(), t);
  EXPECT_EQ(secs.LatestIn(t - 1, t).value(), t);
  EXPECT_EQ(Make("0 0 1 1 *").LatestIn(Utc(2020_y / 6 / 1), Utc(2026_y / 6 / 1)).value(),
            Utc(2026_y / 1 / 1));
}

TEST(CronTest, ErrorsNameTheFieldAndTheLimit) {
  EXPECT_EQ(ParseError("61 * * * *"), "cron '61 * * * *': minute: '61': 61 is out of range 0-59");
  EXPECT_NE(ParseError("* 24 * * *").find("hour: '24': 24 is out of range 0-23"),
            std::string::npos);
  EXPECT_NE(ParseError("* * 0 * *").find("day-of-month: '0': 0 is out of range 1-31"),
            std::string::npos);
  EXPECT_NE(ParseError("* * * 13 *").find("month"), std::string::npos);
  EXPECT_NE(ParseError("* * * * 8").find("day-of-week"), std::string::npos);
  EXPECT_NE(ParseError("* * *").find("expected 5 fields"), std::string::npos);
  EXPECT_NE(ParseError("* * * * * * *").find("found 7"), std::string::npos);
  EXPECT_NE(ParseError("5-2 * * * *").find("backwards"), std::string::npos);
  EXPECT_NE(ParseError("*/0 * * * *").find("step"), std::string::npos);
  EXPECT_NE(ParseError("*/61 * * * *").find("step"), std::string::npos);
  EXPECT_NE(ParseError("MON * * * *").find("expected a number in 0-59"), std::string::npos);
  EXPECT_NE(ParseError("* * * FOO *").find("or a name"), std::string::npos);
  EXPECT_NE(ParseError("1,,2 * * * *").find("empty"), std::string::npos);
  EXPECT_NE(ParseError("@reboot").find("unknown shortcut"), std::string::npos);
  EXPECT_NE(ParseError("0 0 31 2 *").find("never fires"), std::string::npos);
  EXPECT_NE(ParseError("0 0 30 FEB *").find("never fires"), std::string::npos);
  EXPECT_NE(ParseError("* * * * *", "Mars/Base").find("timezone 'Mars/Base'"), std::string::npos);
  EXPECT_TRUE(CronSchedule::Parse("0 0 29 2 *", "").ok());
  EXPECT_TRUE(CronSchedule::Parse("0 0 31 2 MON", "").ok());  // Mondays of February
}

}  // namespace
}  // namespace robotni::schedule
