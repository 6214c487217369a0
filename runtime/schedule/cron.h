#ifndef ROBOTNI_RUNTIME_SCHEDULE_CRON_H_
#define ROBOTNI_RUNTIME_SCHEDULE_CRON_H_

// CronSchedule: a cron expression in a time zone, and the instants it fires at.
//
// Syntax (Vixie cron's, docs/serve.md "Periodic jobs"): five fields, minute hour
// day-of-month month day-of-week, or six with a leading seconds field. A field is `*`, a
// number, a range `a-b`, a step `*/n`, `a-b/n` or `a/n` (a to the field's end), or a
// comma list of them. Months take JAN..DEC, days of the week SUN..SAT (0 and 7 are
// Sunday), case-insensitive. `@yearly` (`@annually`), `@monthly`, `@weekly`, `@daily`
// (`@midnight`) and `@hourly` stand for their five-field forms. When both day-of-month and
// day-of-week are restricted (neither starts with `*`), a day matches when either does.
//
// Times are local times of the zone (IANA name, from the system's tz database; "" or "UTC"
// = UTC). A local time that does not exist (the hour skipped when clocks go forward) fires
// once, at the instant the clocks change; a local time that happens twice (clocks go back)
// fires once, at its first occurrence.

#include <bitset>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "robotni/status.h"

namespace date {
class time_zone;
}

namespace robotni::schedule {

class CronSchedule {
 public:
  // InvalidArgument naming the field and the problem (`cron '61 * * * *': minute: 61 is
  // out of range 0-59`), or the time zone (`timezone 'Mars/Base': not in the tz database`).
  static StatusOr<CronSchedule> Parse(std::string_view expression, std::string_view timezone);

  // The first instant the schedule fires strictly after `after_s` (seconds since the Unix
  // epoch), or nullopt when there is none in the next 28 years (a `0 0 29 2 MON` that
  // does not come round that soon).
  std::optional<int64_t> Next(int64_t after_s) const;
  // The last instant it fires at or before `at_s` and after `after_s`; nullopt if none.
  std::optional<int64_t> LatestIn(int64_t after_s, int64_t at_s) const;

  const std::string& expression() const { return expression_; }
  const std::string& timezone() const { return timezone_; }
  bool has_seconds() const { return has_seconds_; }

 private:
  CronSchedule() = default;
  bool DayMatches(int year, unsigned month, unsigned day, unsigned weekday) const;
  // Local seconds since the epoch -> the instant it fires at (see the header comment).
  int64_t ToInstant(int64_t local_s) const;
  int64_t ToLocal(int64_t instant_s) const;

  std::string expression_, timezone_;
  bool has_seconds_ = false;
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> days_;                        // 1..31
  std::bitset<13> months_;                      // 1..12
  std::bitset<7> weekdays_;                     // 0 = Sunday
  bool any_day_ = false, any_weekday_ = false;  // the field started with '*'
  const date::time_zone* zone_ = nullptr;       // nullptr = UTC
};

}  // namespace robotni::schedule

#endif  // ROBOTNI_RUNTIME_SCHEDULE_CRON_H_
