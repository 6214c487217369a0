// Tests for ISO 8601 / RFC 3339 times (core/iso_time.h): strict refusals and round trips.

#include "core/iso_time.h"

#include <gtest/gtest.h>

#include <string>

namespace robotni {
namespace {

TEST(IsoTimeTest, FormatsMillisecondsAsUtc) {
  EXPECT_EQ(FormatIsoTime(1795647636413), "2026-11-25T23:00:36.413Z");
  EXPECT_EQ(FormatIsoTime(1000), "1970-01-01T00:00:01.000Z");
  EXPECT_EQ(FormatIsoTime(0), "");
  EXPECT_EQ(FormatIsoTime(-5), "");
}

TEST(IsoTimeTest, ParsesZuluOffsetsAndFractions) {
  EXPECT_EQ(ParseIsoTime("1970-01-01T00:00:01Z"), 1000);
  EXPECT_EQ(ParseIsoTime("1970-01-01T00:00:01z"), 1000);
  EXPECT_EQ(ParseIsoTime("1970-01-01T00:00:01.5Z"), 1500);
  EXPECT_EQ(ParseIsoTime("1970-01-01T00:00:01.123456789Z"), 1123);  // finer than ms: cut
  EXPECT_EQ(ParseIsoTime("1970-01-01T00:00:01.9999999999999Z"), 1999);
  EXPECT_EQ(ParseIsoTime("1970-01-01T02:00:01+02:00"), 1000);
  EXPECT_EQ(ParseIsoTime("1969-12-31T19:30:01.250-04:30"), 1250);
  EXPECT_EQ(ParseIsoTime("2024-02-29T12:00:00Z"), 1709208000000);  // a leap year's Feb 29
}

TEST(IsoTimeTest, RoundTrips) {
  for (int64_t ms : {int64_t{1}, int64_t{1709208000000}, int64_t{1795647636413},
                     int64_t{253402300799999}})  // 9999-12-31T23:59:59.999Z
    EXPECT_EQ(ParseIsoTime(FormatIsoTime(ms)), ms) << ms;
  for (const char* text : {"2030-02-28T23:59:59.999Z", "2000-01-01T00:00:00.000Z"})
    EXPECT_EQ(FormatIsoTime(*ParseIsoTime(text)), text);
}

TEST(IsoTimeTest, RefusesDaysTheCalendarDoesNotHave) {
  EXPECT_FALSE(ParseIsoTime("2030-02-31T00:00:00Z"));  // was 2030-03-03 with timegm
  EXPECT_FALSE(ParseIsoTime("2023-02-29T00:00:00Z"));  // not a leap year
  EXPECT_FALSE(ParseIsoTime("2100-02-29T00:00:00Z"));  // nor is 2100
  EXPECT_FALSE(ParseIsoTime("2030-04-31T00:00:00Z"));
  EXPECT_FALSE(ParseIsoTime("2030-13-01T00:00:00Z"));
  EXPECT_FALSE(ParseIsoTime("2030-00-10T00:00:00Z"));
  EXPECT_FALSE(ParseIsoTime("2030-01-00T00:00:00Z"));
}

TEST(IsoTimeTest, RefusesTimesOutOfRange) {
  EXPECT_FALSE(ParseIsoTime("2030-01-01T24:00:00Z"));
  EXPECT_FALSE(ParseIsoTime("2030-01-01T23:60:00Z"));
  EXPECT_FALSE(ParseIsoTime("2030-01-01T23:59:60Z"));
}

TEST(IsoTimeTest, RefusesBadOffsetsAndShapes) {
  for (const char* bad :
       {"2030-01-01T10:00:00+24:00", "2030-01-01T10:00:00+02:60", "2030-01-01T10:00:00+0200",
        "2030-01-01T10:00:00+2:00", "2030-01-01T10:00:00 02:00", "2030-01-01T10:00:00",
        "2030-01-01T10:00:00ZZ", "2030-01-01T10:00:00.Z", "2030-1-01T10:00:00Z",
        "2030-01-01 10:00:00Z", "2030-01-01t10:00:00Z", "2030-01-01", "", "tomorrow",
        " 2030-01-01T10:00:00Z"})
    EXPECT_FALSE(ParseIsoTime(bad)) << bad;
}

TEST(IsoTimeTest, DatesAreAsStrict) {
  EXPECT_TRUE(IsIsoDate("2024-02-29"));
  EXPECT_TRUE(IsIsoDate("2030-12-31"));
  for (const char* bad : {"2023-02-29", "2030-02-31", "2030-1-01", "2030-01-01T00:00:00Z",
                          "2030-01-01 ", "20300101", ""})
    EXPECT_FALSE(IsIsoDate(bad)) << bad;
}

}  // namespace
}  // namespace robotni
