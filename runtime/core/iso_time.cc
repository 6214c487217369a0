#include "core/iso_time.h"

#include <cstdio>

#include <date/date.h>

#include <algorithm>
#include <chrono>
#include <sstream>

namespace robotni {

namespace {

using std::chrono::milliseconds;

// date::parse takes "2030-1-2" and "+02:60"; RFC 3339 wants two digits for each field. `shape`
// has 'd' where a digit must be, any other character stands for itself.
bool HasShape(std::string_view text, std::string_view shape) {
  if (text.size() < shape.size()) return false;
  for (size_t i = 0; i < shape.size(); ++i) {
    bool digit = text[i] >= '0' && text[i] <= '9';
    if (shape[i] == 'd' ? !digit : text[i] != shape[i]) return false;
  }
  return true;
}

}  // namespace

std::string FormatIsoTime(int64_t ms) {
  if (ms <= 0) return "";
  // The date library's calendar, printed with snprintf: date::format goes through an
  // ostringstream, a twentieth of the CPU of a GET of one job (four times per job).
  date::sys_time<milliseconds> t{milliseconds(ms)};
  auto day = date::floor<date::days>(t);
  date::year_month_day ymd{day};
  date::hh_mm_ss<milliseconds> hms{t - day};
  char buf[40];
  int n = std::snprintf(buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ",
                        static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month()),
                        static_cast<unsigned>(ymd.day()), static_cast<int>(hms.hours().count()),
                        static_cast<int>(hms.minutes().count()),
                        static_cast<int>(hms.seconds().count()),
                        static_cast<int>(hms.subseconds().count()));
  return std::string(buf, n > 0 ? static_cast<size_t>(n) : 0);
}

std::optional<int64_t> ParseIsoTime(std::string_view text) {
  constexpr std::string_view kDateTime = "dddd-dd-ddTdd:dd:dd";
  if (!HasShape(text, kDateTime)) return std::nullopt;
  std::string_view rest = text.substr(kDateTime.size());
  size_t fraction = 0;  // ".250": one digit at least (date::parse would take a bare ".")
  if (!rest.empty() && rest[0] == '.') {
    fraction = 1;
    while (fraction < rest.size() && rest[fraction] >= '0' && rest[fraction] <= '9') ++fraction;
    if (fraction == 1) return std::nullopt;
  }
  std::string_view offset = rest.substr(fraction);
  bool zulu = offset == "Z" || offset == "z";
  if (!zulu && (offset.size() != 6 || (offset[0] != '+' && offset[0] != '-') ||
                !HasShape(offset.substr(1), "dd:dd") || offset.substr(1, 2) > "23" ||
                offset.substr(4, 2) > "59"))
    return std::nullopt;
  // Digits past milliseconds are cut before date::parse: parsed as nanoseconds, a year past
  // 2262 would overflow.
  std::string kept(text.substr(0, kDateTime.size() + std::min<size_t>(fraction, 4)));
  if (!zulu) kept += offset;
  date::sys_time<milliseconds> time;  // %Ez applies the offset: time is UTC
  std::istringstream in{kept};
  if (zulu) {
    in >> date::parse("%FT%T", time);
  } else {
    std::chrono::minutes shift{0};
    in >> date::parse("%FT%T%Ez", time, shift);
  }
  if (in.fail() || in.peek() != std::char_traits<char>::eof()) return std::nullopt;
  return time.time_since_epoch().count();
}

bool IsIsoDate(std::string_view text) {
  if (text.size() != 10 || !HasShape(text, "dddd-dd-dd")) return false;
  date::sys_days day;
  std::istringstream in{std::string(text)};
  in >> date::parse("%F", day);
  return !in.fail() && in.peek() == std::char_traits<char>::eof();
}

}  // namespace robotni
