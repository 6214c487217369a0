#include "schedule/cron.h"

#include <date/tz.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <chrono>
#include <stdexcept>
#include <vector>

namespace robotni::schedule {

namespace {

constexpr int64_t kDay = 86400;
// How far Next looks: 28 years hold every combination of weekday and Feb 29.
constexpr int64_t kSearchDays = 28 * 366;

const std::array<const char*, 12> kMonthNames = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                                                 "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const std::array<const char*, 7> kDayNames = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

struct FieldSpec {
  const char* name;
  int lo, hi;
  const char* const* names;  // names[i] is lo + i; nullptr = numbers only
  int name_count;
};

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

// A number or a name of the field; false when it is neither.
bool ParseValue(std::string_view text, const FieldSpec& f, int* out) {
  if (text.empty()) return false;
  if (std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (text.size() > 4) {
      *out = 10000;  // out of every range; reported as such
      return true;
    }
    *out = std::stoi(std::string(text));
    return true;
  }
  std::string up = Upper(text);
  for (int i = 0; i < f.name_count; ++i) {
    if (up == f.names[i]) {
      *out = f.lo + i;
      return true;
    }
  }
  return false;
}

std::string Range(const FieldSpec& f) { return std::to_string(f.lo) + "-" + std::to_string(f.hi); }

// Sets bits[v] for every value the field's text selects. InvalidArgument naming the part.
Status ParseField(std::string_view text, const FieldSpec& f, std::vector<bool>* bits) {
  bits->assign(f.hi + 1, false);
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    std::string_view part = text.substr(
        start, comma == std::string_view::npos ? std::string_view::npos : comma - start);
    auto bad = [&](const std::string& why) {
      return Status::InvalidArgument(std::string(f.name) + ": '" + std::string(part) + "': " + why);
    };
    if (part.empty()) return Status::InvalidArgument(std::string(f.name) + ": an empty list entry");
    std::string_view range = part;
    int step = 1;
    bool stepped = false;
    if (size_t slash = part.find('/'); slash != std::string_view::npos) {
      range = part.substr(0, slash);
      std::string_view s = part.substr(slash + 1);
      if (s.empty() || s.size() > 4 ||
          !std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; }))
        return bad("the step must be a positive integer");
      step = std::stoi(std::string(s));
      if (step < 1 || step > f.hi - f.lo + 1)
        return bad("the step must be from 1 to " + std::to_string(f.hi - f.lo + 1));
      stepped = true;
    }
    int lo, hi;
    if (range == "*") {
      lo = f.lo;
      hi = f.hi;
    } else if (size_t dash = range.find('-'); dash != std::string_view::npos) {
      if (!ParseValue(range.substr(0, dash), f, &lo) || !ParseValue(range.substr(dash + 1), f, &hi))
        return bad("expected a number" + std::string(f.names ? " or a name" : "") + " in " +
                   Range(f));
      if (lo > hi)
        return bad("the range goes backwards (" + std::to_string(lo) + " > " + std::to_string(hi) +
                   ")");
    } else {
      if (!ParseValue(range, f, &lo))
        return bad("expected a number" + std::string(f.names ? " or a name" : "") + " in " +
                   Range(f));
      hi = stepped ? f.hi : lo;  // `a/n`: from a to the end
    }
    for (int v : {lo, hi}) {
      if (v < f.lo || v > f.hi) return bad(std::to_string(v) + " is out of range " + Range(f));
    }
    for (int v = lo; v <= hi; v += step) (*bits)[v] = true;
    if (comma == std::string_view::npos) break;
    start = comma + 1;
  }
  return Status::OK();
}

template <size_t N>
void Copy(const std::vector<bool>& from, std::bitset<N>* to) {
  for (size_t i = 0; i < N && i < from.size(); ++i) (*to)[i] = from[i];
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

}  // namespace

StatusOr<CronSchedule> CronSchedule::Parse(std::string_view expression, std::string_view timezone) {
  CronSchedule c;
  c.expression_ = std::string(expression);
  c.timezone_ = timezone.empty() ? "UTC" : std::string(timezone);
  auto prefix = [&] { return "cron '" + c.expression_ + "': "; };
  std::vector<std::string> fields;
  {
    std::string cur;
    for (char ch : expression) {
      if (std::isspace(static_cast<unsigned char>(ch))) {
        if (!cur.empty()) fields.push_back(std::move(cur));
        cur.clear();
      } else {
        cur += ch;
      }
    }
    if (!cur.empty()) fields.push_back(std::move(cur));
  }
  if (fields.size() == 1 && fields[0][0] == '@') {
    std::string s = Upper(fields[0]);
    const char* five = s == "@YEARLY" || s == "@ANNUALLY"  ? "0 0 1 1 *"
                       : s == "@MONTHLY"                   ? "0 0 1 * *"
                       : s == "@WEEKLY"                    ? "0 0 * * 0"
                       : s == "@DAILY" || s == "@MIDNIGHT" ? "0 0 * * *"
                       : s == "@HOURLY"                    ? "0 * * * *"
                                                           : nullptr;
    if (five == nullptr)
      return Status::InvalidArgument(prefix() +
                                     "unknown shortcut (expected @yearly, @annually, "
                                     "@monthly, @weekly, @daily, @midnight or @hourly)");
    auto parsed = Parse(five, timezone);
    if (!parsed.ok()) return parsed.status();
    parsed->expression_ = c.expression_;
    return parsed;
  }
  if (fields.size() != 5 && fields.size() != 6)
    return Status::InvalidArgument(
        prefix() +
        "expected 5 fields (minute hour day-of-month month day-of-week) or 6 "
        "(seconds first), found " +
        std::to_string(fields.size()));
  c.has_seconds_ = fields.size() == 6;
  size_t i = 0;
  std::vector<bool> bits;
  static const FieldSpec kSecond{"second", 0, 59, nullptr, 0};
  static const FieldSpec kMinute{"minute", 0, 59, nullptr, 0};
  static const FieldSpec kHour{"hour", 0, 23, nullptr, 0};
  static const FieldSpec kDom{"day-of-month", 1, 31, nullptr, 0};
  static const FieldSpec kMonth{"month", 1, 12, kMonthNames.data(), 12};
  // 7 is Sunday too: parsed in 0..7, folded below.
  static const FieldSpec kDow{"day-of-week", 0, 7, kDayNames.data(), 7};
  auto field = [&](const FieldSpec& f) -> Status {
    Status s = ParseField(fields[i++], f, &bits);
    if (!s.ok()) return Status::InvalidArgument(prefix() + s.message());
    return Status::OK();
  };
  if (c.has_seconds_) {
    ROBOTNI_RETURN_IF_ERROR(field(kSecond));
    Copy(bits, &c.seconds_);
  } else {
    c.seconds_[0] = true;
  }
  ROBOTNI_RETURN_IF_ERROR(field(kMinute));
  Copy(bits, &c.minutes_);
  ROBOTNI_RETURN_IF_ERROR(field(kHour));
  Copy(bits, &c.hours_);
  c.any_day_ = fields[i][0] == '*';
  ROBOTNI_RETURN_IF_ERROR(field(kDom));
  Copy(bits, &c.days_);
  ROBOTNI_RETURN_IF_ERROR(field(kMonth));
  Copy(bits, &c.months_);
  c.any_weekday_ = fields[i][0] == '*';
  ROBOTNI_RETURN_IF_ERROR(field(kDow));
  if (bits[7]) bits[0] = true;
  Copy(bits, &c.weekdays_);
  // Days of the month no selected month has (`0 0 31 2 *`, `0 0 30 FEB *`) never come.
  if (!c.any_day_ && c.any_weekday_) {
    static const int kMaxDays[13] = {0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool some = false;
    for (int m = 1; m <= 12 && !some; ++m) {
      for (int d = 1; d <= kMaxDays[m] && !some; ++d) some = c.months_[m] && c.days_[d];
    }
    if (!some)
      return Status::InvalidArgument(prefix() +
                                     "never fires: no selected month has the selected days");
  }
  if (c.timezone_ != "UTC") {
    try {
      c.zone_ = date::locate_zone(c.timezone_);
    } catch (const std::exception&) {
      return Status::InvalidArgument("timezone '" + c.timezone_ +
                                     "': not in the tz database (/usr/share/zoneinfo); expected "
                                     "an IANA name such as Europe/Helsinki");
    }
  }
  return c;
}

bool CronSchedule::DayMatches(int /*year*/, unsigned month, unsigned day, unsigned weekday) const {
  if (!months_[month]) return false;
  // Vixie cron: both restricted, either matches; else both must (one of them is '*').
  if (!any_day_ && !any_weekday_) return days_[day] || weekdays_[weekday];
  return days_[day] && weekdays_[weekday];
}

int64_t CronSchedule::ToInstant(int64_t local_s) const {
  if (zone_ == nullptr) return local_s;
  auto info = zone_->get_info(date::local_seconds{std::chrono::seconds{local_s}});
  switch (info.result) {
    case date::local_info::nonexistent:
      // Skipped by the clocks: the instant they changed, the next valid one.
      return info.second.begin.time_since_epoch().count();
    case date::local_info::ambiguous:  // happens twice: the first
    case date::local_info::unique:
    default:
      return local_s - info.first.offset.count();
  }
}

int64_t CronSchedule::ToLocal(int64_t instant_s) const {
  if (zone_ == nullptr) return instant_s;
  auto info = zone_->get_info(date::sys_seconds{std::chrono::seconds{instant_s}});
  return instant_s + info.offset.count();
}

std::optional<int64_t> CronSchedule::Next(int64_t after_s) const {
  // Candidates in local order map to non-decreasing instants (ToInstant), so whole days,
  // hours and minutes whose last second maps to `after_s` or before are skipped unseen.
  const int64_t first_day = FloorDiv(ToLocal(after_s), kDay);
  for (int64_t d = first_day; d < first_day + kSearchDays; ++d) {
    date::local_days day{date::days{d}};
    date::year_month_day ymd{day};
    unsigned weekday = date::weekday{day}.c_encoding();
    if (!DayMatches(int(ymd.year()), unsigned(ymd.month()), unsigned(ymd.day()), weekday)) continue;
    const int64_t base = d * kDay;
    if (ToInstant(base + kDay - 1) <= after_s) continue;
    for (int h = 0; h < 24; ++h) {
      if (!hours_[h]) continue;
      const int64_t hb = base + h * 3600;
      if (ToInstant(hb + 3599) <= after_s) continue;
      for (int m = 0; m < 60; ++m) {
        if (!minutes_[m]) continue;
        const int64_t mb = hb + m * 60;
        if (ToInstant(mb + 59) <= after_s) continue;
        for (int s = 0; s < 60; ++s) {
          if (!seconds_[s]) continue;
          int64_t t = ToInstant(mb + s);
          if (t > after_s) return t;
        }
      }
    }
  }
  return std::nullopt;
}

std::optional<int64_t> CronSchedule::LatestIn(int64_t after_s, int64_t at_s) const {
  if (at_s <= after_s) return std::nullopt;
  // The smallest window before `at_s` that holds a tick, then forward through it.
  for (int64_t window :
       {int64_t{60}, int64_t{3600}, kDay, 32 * kDay, 367 * kDay, kSearchDays * kDay}) {
    const int64_t lo = std::max(after_s, at_s - window);
    std::optional<int64_t> t = Next(lo);
    if (t && *t <= at_s) {
      for (int steps = 0; steps < 1'000'000; ++steps) {
        std::optional<int64_t> n = Next(*t);
        if (!n || *n > at_s) break;
        t = n;
      }
      return t;
    }
    if (lo == after_s) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace robotni::schedule
