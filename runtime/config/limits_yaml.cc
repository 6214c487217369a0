#include "config/limits_yaml.h"

#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

#include "config/yaml_util.h"

namespace robotni::config {

namespace {

struct Unit {
  const char* name;
  double factor;
};

const char* Expected(LimitUnit unit) {
  switch (unit) {
    case LimitUnit::kSeconds:
      return "seconds (a number >= 0, or with a unit: ms, s, m, h)";
    case LimitUnit::kMebibytes:
      return "MiB (an integer >= 0, or with a unit: MiB, GiB)";
    case LimitUnit::kBytes:
      return "bytes (an integer >= 0, or with a unit: B, KiB, MiB, GiB)";
    case LimitUnit::kCount:
      break;
  }
  return "an integer >= 0";
}

std::vector<Unit> UnitsOf(LimitUnit unit) {
  switch (unit) {
    case LimitUnit::kSeconds:
      return {{"ms", 0.001}, {"s", 1}, {"m", 60}, {"h", 3600}};
    case LimitUnit::kMebibytes:
      return {{"MiB", 1}, {"GiB", 1024}};
    case LimitUnit::kBytes:
      return {{"B", 1}, {"KiB", 1024}, {"MiB", 1024.0 * 1024}, {"GiB", 1024.0 * 1024 * 1024}};
    case LimitUnit::kCount:
      break;
  }
  return {};
}

}  // namespace

StatusOr<double> ParseLimitValue(const std::string& text, LimitUnit unit) {
  const std::string expected = Expected(unit);
  const char* begin = text.c_str();
  char* end = nullptr;
  double v = strtod(begin, &end);
  if (text.empty() || end == begin || !std::isfinite(v))
    return Status::InvalidArgument("expected " + expected + ", found '" + text + "'");
  std::string suffix(end);
  while (!suffix.empty() && suffix.front() == ' ') suffix.erase(0, 1);
  if (!suffix.empty()) {
    bool known = false;
    for (const Unit& u : UnitsOf(unit)) {
      if (suffix == u.name) {
        v *= u.factor;
        known = true;
      }
    }
    if (!known) {
      if (UnitsOf(unit).empty())
        return Status::InvalidArgument("expected " + expected + ", found '" + text + "'");
      return Status::InvalidArgument("unknown unit '" + suffix + "' in '" + text + "': expected " +
                                     expected);
    }
  }
  if (v < 0) return Status::InvalidArgument("must not be negative, found '" + text + "'");
  if (unit != LimitUnit::kSeconds && v != std::floor(v))
    return Status::InvalidArgument("expected " + expected + ", found '" + text + "'");
  return v;
}

Status ReadLimits(const YAML::Node& node, const std::string& file, int key_line,
                  const std::string& field, const std::string& count_key, Limits* out) {
  using internal::ErrorAt;
  using internal::KindName;
  using internal::LineOf;
  if (node.IsNull()) return Status::OK();
  if (!node.IsMap())
    return ErrorAt(file, LineOf(node, key_line), field,
                   std::string("expected a map of limits, found ") + KindName(node));
  Limits limits;
  for (const auto& [key, val] : internal::MapEntries(node)) {
    int line = LineOf(key, key_line);
    const std::string name = key.IsScalar() ? key.Scalar() : "";
    const std::string sub = field + "." + name;
    LimitUnit unit;
    if (name == "timeout" || name == "kill_grace") {
      unit = LimitUnit::kSeconds;
    } else if (name == "memory_limit") {
      unit = LimitUnit::kMebibytes;
    } else if (name == "max_output") {
      unit = LimitUnit::kBytes;
    } else if (name == count_key) {
      unit = LimitUnit::kCount;
    } else {
      return ErrorAt(file, line, sub,
                     "unknown key (limits are timeout, kill_grace, memory_limit, " + count_key +
                         ", max_output)");
    }
    if (!val.IsScalar())
      return ErrorAt(file, LineOf(val, line), sub,
                     std::string("expected a number, found ") + KindName(val));
    auto v = ParseLimitValue(val.Scalar(), unit);
    if (!v.ok()) return ErrorAt(file, LineOf(val, line), sub, v.status().message());
    if (name == "timeout") limits.timeout = *v;
    if (name == "kill_grace") limits.kill_grace = *v;
    if (name == "memory_limit") limits.memory_limit_mb = static_cast<int64_t>(*v);
    if (name == "max_output") limits.max_output_bytes = static_cast<int64_t>(*v);
    if (name == count_key) limits.max_runs_per_worker = static_cast<int64_t>(*v);
  }
  *out = std::move(limits);
  return Status::OK();
}

}  // namespace robotni::config
