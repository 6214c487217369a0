#ifndef ROBOTNI_RUNTIME_CORE_ISO_TIME_H_
#define ROBOTNI_RUNTIME_CORE_ISO_TIME_H_

// ISO 8601 / RFC 3339 times, read and written by Howard Hinnant's date library (date/date.h).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace robotni {

// Milliseconds since the epoch as ISO 8601 UTC: "2026-11-22T21:00:36.413Z"; "" when
// ms <= 0 (not set).
std::string FormatIsoTime(int64_t ms);

// An RFC 3339 date-time, "2030-01-02T03:04:05Z", "...T03:04:05.250+02:00": milliseconds since
// the epoch (finer fractions are cut). Strict: a real calendar day (no 2030-02-31, no Feb 29
// in a common year), hours 00-23, minutes and seconds 00-59, two digits each, an upper-case
// T, and an offset Z (or z) or +hh:mm / -hh:mm with hh <= 23, mm <= 59. nullopt otherwise.
std::optional<int64_t> ParseIsoTime(std::string_view text);

// An RFC 3339 full-date, "2030-01-31", as strict as ParseIsoTime: true when it is one.
bool IsIsoDate(std::string_view text);

}  // namespace robotni

#endif  // ROBOTNI_RUNTIME_CORE_ISO_TIME_H_
