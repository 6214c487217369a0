// The cost of checking one job submission's params and run_at: JsonSchema::Check (valijson,
// core/json_schema.h) and ParseIsoTime (date::parse, core/iso_time.h) next to the hand-written
// checks they replaced (copied below as they were in runtime/api/jobs_api.cc), which checked
// less: type, required and properties' types only; UTC only, no calendar.
//
//   ./build-bench/schema_bench --benchmark_min_time=0.5s

#include <benchmark/benchmark.h>

#include <cctype>
#include <cstdio>
#include <ctime>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "core/iso_time.h"
#include "core/json_schema.h"

namespace {

using nlohmann::json;

// ---- The checks before valijson and date (jobs_api.cc, up to d94636b). ----

bool OldTypeMatches(const std::string& type, const json& v) {
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") return v.is_number_integer() || v.is_number_unsigned();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  return true;
}

std::string OldValidateParams(const json& schema, const json& params) {
  if (schema.contains("type") && schema["type"].is_string() &&
      !OldTypeMatches(schema["type"], params))
    return "params: expected " + schema["type"].get<std::string>();
  if (!params.is_object()) return "";
  if (schema.contains("required") && schema["required"].is_array()) {
    for (const auto& r : schema["required"])
      if (r.is_string() && !params.contains(r.get<std::string>()))
        return "params." + r.get<std::string>() + ": required";
  }
  if (schema.contains("properties") && schema["properties"].is_object()) {
    for (const auto& [name, prop] : schema["properties"].items()) {
      if (!params.contains(name) || !prop.is_object() || !prop.contains("type")) continue;
      if (prop["type"].is_string() && !OldTypeMatches(prop["type"], params[name]))
        return "params." + name + ": expected " + prop["type"].get<std::string>();
    }
  }
  return "";
}

std::optional<int64_t> OldParseIsoUtc(const std::string& s) {
  int y, mo, d, h, mi, sec, used = 0;
  if (sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 ||
      used != 19)
    return std::nullopt;
  if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  std::string rest = s.substr(19);
  int64_t ms = 0;
  if (!rest.empty() && rest[0] == '.') {
    size_t i = 1;
    int64_t scale = 100;
    while (i < rest.size() && isdigit(static_cast<unsigned char>(rest[i]))) {
      ms += (rest[i] - '0') * scale;
      scale /= 10;
      ++i;
    }
    if (i == 1) return std::nullopt;
    rest = rest.substr(i);
  }
  if (rest != "Z" && rest != "z" && rest != "+00:00" && rest != "+0000") return std::nullopt;
  struct tm tm = {};
  tm.tm_year = y - 1900;
  tm.tm_mon = mo - 1;
  tm.tm_mday = d;
  tm.tm_hour = h;
  tm.tm_min = mi;
  tm.tm_sec = sec;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

// ---- The inputs: the README's `add` (its schema as robotni completes it) and a richer one. ----

const json kAddSchema = json::parse(R"({
  "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
  "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
  "required": ["x", "y"], "additionalProperties": false})");
const json kAddParams = json::parse(R"({"x": 2, "y": 40})");

const json kOrderSchema = json::parse(R"({
  "$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
  "properties": {
    "qty": {"type": "integer", "minimum": 1, "maximum": 100},
    "color": {"enum": ["red", "green"]},
    "note": {"type": "string", "maxLength": 100},
    "deliver_at": {"type": "string", "format": "date-time"},
    "address": {"type": "object", "properties": {"zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                "required": ["zip"]}},
  "required": ["qty"], "additionalProperties": false})");
const json kOrderParams = json::parse(R"({"qty": 2, "color": "green", "note": "ring twice",
  "deliver_at": "2030-01-31T13:45:00+02:00", "address": {"zip": "12345"}})");

void BM_Old_Params_Add(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(OldValidateParams(kAddSchema, kAddParams));
}
void BM_New_Params_Add(benchmark::State& state) {
  auto schema = *robotni::JsonSchema::Compile(kAddSchema);
  for (auto _ : state) benchmark::DoNotOptimize(schema->Check(kAddParams, "params"));
}
void BM_Old_Params_Order(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(OldValidateParams(kOrderSchema, kOrderParams));
}
void BM_New_Params_Order(benchmark::State& state) {
  auto schema = *robotni::JsonSchema::Compile(kOrderSchema);
  for (auto _ : state) benchmark::DoNotOptimize(schema->Check(kOrderParams, "params"));
}
void BM_New_Params_Add_Refused(benchmark::State& state) {  // two passes and the message
  auto schema = *robotni::JsonSchema::Compile(kAddSchema);
  json bad = json::parse(R"({"x": 2, "y": 40, "z": 1})");
  for (auto _ : state) benchmark::DoNotOptimize(schema->Check(bad, "params"));
}
void BM_New_Compile_Order(benchmark::State& state) {  // once per job type per load
  for (auto _ : state) benchmark::DoNotOptimize(robotni::JsonSchema::Compile(kOrderSchema));
}
void BM_Old_RunAt(benchmark::State& state) {
  std::string at = "2030-01-02T03:04:05.250Z";
  for (auto _ : state) benchmark::DoNotOptimize(OldParseIsoUtc(at));
}
void BM_New_RunAt(benchmark::State& state) {
  std::string at = "2030-01-02T03:04:05.250Z";
  for (auto _ : state) benchmark::DoNotOptimize(robotni::ParseIsoTime(at));
}
void BM_New_RunAt_Offset(benchmark::State& state) {
  std::string at = "2030-01-02T05:04:05.250+02:00";
  for (auto _ : state) benchmark::DoNotOptimize(robotni::ParseIsoTime(at));
}

BENCHMARK(BM_Old_Params_Add);
BENCHMARK(BM_New_Params_Add);
BENCHMARK(BM_Old_Params_Order);
BENCHMARK(BM_New_Params_Order);
BENCHMARK(BM_New_Params_Add_Refused);
BENCHMARK(BM_New_Compile_Order);
BENCHMARK(BM_Old_RunAt);
BENCHMARK(BM_New_RunAt);
BENCHMARK(BM_New_RunAt_Offset);

}  // namespace

BENCHMARK_MAIN();
