#ifndef ROBOTNI_RUNTIME_CONFIG_SCHEDULES_YAML_H_
#define ROBOTNI_RUNTIME_CONFIG_SCHEDULES_YAML_H_

// The `schedules:` list of serve's config file (docs/serve.md "Periodic jobs"):
//
//   schedules:
//     - type: report              # the job type (required)
//       cron: "0 7 * * MON-FRI"   # required; 5 fields, or 6 with seconds first
//       timezone: Europe/Helsinki # IANA name; default UTC
//       params: {format: pdf}     # the job's params; default {}
//       name: weekday-report      # default: the type
//       paused: false             # true: paused at every start

#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "robotni/status.h"

namespace robotni::config {

struct ScheduleEntry {
  std::string name;
  std::string type;
  std::string cron;
  std::string timezone = "UTC";
  std::string params_json = "{}";
  bool paused = false;
  bool operator==(const ScheduleEntry&) const = default;
};

// Reads the list at `node` (the value of `schedules`, whose key is on `line` of `file`).
// InvalidArgument "FILE:LINE: schedules[i].KEY: message" for a missing or unknown key, a
// wrong type, a cron expression or time zone that does not parse, or a name given twice.
Status ReadSchedules(const YAML::Node& node, const std::string& file, int line,
                     std::vector<ScheduleEntry>* out);

// A schedule or job type name: 1 to 200 characters of letters, digits and `._:-`, so that
// it fits in a URL path and an idempotency key as it is.
bool ValidScheduleName(const std::string& name);

}  // namespace robotni::config

#endif  // ROBOTNI_RUNTIME_CONFIG_SCHEDULES_YAML_H_
