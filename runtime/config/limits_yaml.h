#ifndef ROBOTNI_RUNTIME_CONFIG_LIMITS_YAML_H_
#define ROBOTNI_RUNTIME_CONFIG_LIMITS_YAML_H_

// A map of limits (robotni/limits.h) as robot.yaml's `limits:` and the serve config's
// `job_types:` entries write it:
//   timeout: 30        # seconds, or with a unit: 500ms, 30s, 5m, 1h
//   kill_grace: 5      # seconds, as timeout
//   memory_limit: 512  # MiB, or with a unit: 512MiB, 2GiB
//   max_output: 65536  # bytes, or with a unit: 64KiB, 1MiB, 1GiB
//   <count_key>: 100   # an integer (max_jobs_per_worker, max_items_per_worker)
// Every value must be >= 0. Thread-safety: plain functions.

#include <string>

#include <yaml-cpp/yaml.h>

#include "robotni/limits.h"
#include "robotni/status.h"

namespace robotni::config {

// Reads `node` (a map, or null = nothing given) into *out; InvalidArgument
// "FILE:LINE: FIELD.KEY: message" for a wrong type, a negative value, an unknown unit or
// an unknown key. `field` names the map ("tasks.Consume.limits").
Status ReadLimits(const YAML::Node& node, const std::string& file, int key_line,
                  const std::string& field, const std::string& count_key, Limits* out);

// One value: `text` in seconds / MiB / bytes (units as above). InvalidArgument saying what
// was expected (no file or field: the caller adds them).
enum class LimitUnit { kSeconds, kMebibytes, kBytes, kCount };
StatusOr<double> ParseLimitValue(const std::string& text, LimitUnit unit);

}  // namespace robotni::config

#endif  // ROBOTNI_RUNTIME_CONFIG_LIMITS_YAML_H_
