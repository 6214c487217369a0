#include "config/schedules_yaml.h"

#include <cstdlib>
#include <set>

#include <nlohmann/json.hpp>

#include "config/yaml_util.h"
#include "schedule/cron.h"

namespace robotni::config {

namespace {

using config::internal::ErrorAt;
using config::internal::KindName;
using config::internal::LineOf;

// YAML as JSON: maps, lists, and plain scalars as null, booleans and numbers where they
// read as such (quoted ones stay strings).
nlohmann::json ToJson(const YAML::Node& n) {
  if (n.IsMap()) {
    nlohmann::json o = nlohmann::json::object();
    for (const auto& [k, v] : internal::MapEntries(n)) o[k.Scalar()] = ToJson(v);
    return o;
  }
  if (n.IsSequence()) {
    nlohmann::json a = nlohmann::json::array();
    for (size_t i = 0; i < n.size(); ++i) a.push_back(ToJson(n[i]));
    return a;
  }
  if (!n.IsDefined() || n.IsNull()) return nullptr;
  const std::string& s = n.Scalar();
  if (n.Tag() == "!") return s;
  if (s == "true" || s == "True" || s == "TRUE") return true;
  if (s == "false" || s == "False" || s == "FALSE") return false;
  if (!s.empty()) {
    char* end = nullptr;
    long long i = strtoll(s.c_str(), &end, 10);
    if (*end == '\0') return i;
    double d = strtod(s.c_str(), &end);
    if (*end == '\0') return d;
  }
  return s;
}

}  // namespace

bool ValidScheduleName(const std::string& name) {
  if (name.empty() || name.size() > 200) return false;
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-' || c == ':';
    if (!ok) return false;
  }
  return true;
}

Status ReadSchedules(const YAML::Node& node, const std::string& file, int line,
                     std::vector<ScheduleEntry>* out) {
  std::vector<ScheduleEntry> entries;
  if (node.IsNull()) {
    *out = {};
    return Status::OK();
  }
  if (!node.IsSequence())
    return ErrorAt(file, line, "schedules",
                   std::string("expected a list of schedules, found ") + KindName(node));
  std::set<std::string> names;
  for (size_t i = 0; i < node.size(); ++i) {
    const YAML::Node& e = node[i];
    const std::string at = "schedules[" + std::to_string(i) + "]";
    int eline = LineOf(e, line);
    if (!e.IsMap())
      return ErrorAt(file, eline, at, std::string("expected a map, found ") + KindName(e));
    ScheduleEntry s;
    bool has_name = false;
    int cron_line = eline;
    for (const auto& entry : internal::MapEntries(e)) {
      // Named, not a structured binding: clang 14 cannot capture those in the lambdas.
      const YAML::Node& k = entry.first;
      const YAML::Node& v = entry.second;
      std::string key = k.IsScalar() ? k.Scalar() : "";
      int kline = LineOf(k, eline);
      auto err = [&](const std::string& msg) { return ErrorAt(file, kline, at + "." + key, msg); };
      auto text = [&](std::string* to) -> Status {
        if (!v.IsScalar() || v.Scalar().empty())
          return err(std::string("expected a non-empty string, found ") + KindName(v));
        *to = v.Scalar();
        return Status::OK();
      };
      if (key == "name") {
        ROBOTNI_RETURN_IF_ERROR(text(&s.name));
        has_name = true;
      } else if (key == "type") {
        ROBOTNI_RETURN_IF_ERROR(text(&s.type));
      } else if (key == "cron") {
        ROBOTNI_RETURN_IF_ERROR(text(&s.cron));
        cron_line = kline;
      } else if (key == "timezone") {
        ROBOTNI_RETURN_IF_ERROR(text(&s.timezone));
      } else if (key == "params") {
        if (!v.IsMap() && !v.IsNull())
          return err(std::string("expected a map (the job's params), found ") + KindName(v));
        s.params_json = v.IsNull() ? "{}" : ToJson(v).dump();
      } else if (key == "paused") {
        if (!v.IsScalar() || v.Tag() == "!" || (v.Scalar() != "true" && v.Scalar() != "false"))
          return err(std::string("expected true or false, found ") + KindName(v));
        s.paused = v.Scalar() == "true";
      } else {
        return err("unknown key (a schedule has name, type, cron, timezone, params, paused)");
      }
    }
    if (s.type.empty()) return ErrorAt(file, eline, at + ".type", "required (the job type)");
    if (s.cron.empty()) return ErrorAt(file, eline, at + ".cron", "required");
    if (!has_name) s.name = s.type;
    if (!ValidScheduleName(s.name))
      return ErrorAt(file, eline, at + ".name",
                     "'" + s.name + "': expected 1 to 200 letters, digits, '.', '_', '-' or ':'");
    auto cron = schedule::CronSchedule::Parse(s.cron, s.timezone);
    if (!cron.ok()) return ErrorAt(file, cron_line, at, cron.status().message());
    if (!names.insert(s.name).second)
      return ErrorAt(file, eline, at + ".name",
                     "'" + s.name + "' is given twice (name schedules of one type apart)");
    entries.push_back(std::move(s));
  }
  *out = std::move(entries);
  return Status::OK();
}

}  // namespace robotni::config
