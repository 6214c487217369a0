#ifndef ROBOTNI_INCLUDE_ROBOTNI_LIMITS_H_
#define ROBOTNI_INCLUDE_ROBOTNI_LIMITS_H_

// Limits on the runs of one job type or robot task (policy, issue #11): each is given or
// not; one that is not takes the wider setting's value (a job type's decorator, then the
// runtime's options). Thread-safety: a plain value.

#include <cstdint>
#include <optional>

namespace robotni {

struct Limits {
  // Seconds before the soft timeout raises TaskTimeout (KeyboardInterrupt for robot tasks)
  // in Python; 0 = none.
  std::optional<double> timeout;
  // Seconds after the soft timeout before the worker process is killed (process isolation).
  std::optional<double> kill_grace;
  // Resident MiB of the worker process while it runs; 0 = none (process isolation).
  std::optional<int64_t> memory_limit_mb;
  // A worker process is replaced after this many jobs (job types) or work items (robot
  // tasks served as consumers); 0 = never.
  std::optional<int64_t> max_runs_per_worker;
  // Bytes kept of each output stream; the rest is dropped with a note.
  std::optional<int64_t> max_output_bytes;

  // This, with the fields `over` gives replaced by its values.
  Limits Over(const Limits& over) const {
    Limits out = *this;
    if (over.timeout) out.timeout = over.timeout;
    if (over.kill_grace) out.kill_grace = over.kill_grace;
    if (over.memory_limit_mb) out.memory_limit_mb = over.memory_limit_mb;
    if (over.max_runs_per_worker) out.max_runs_per_worker = over.max_runs_per_worker;
    if (over.max_output_bytes) out.max_output_bytes = over.max_output_bytes;
    return out;
  }
  bool operator==(const Limits&) const = default;
};

}  // namespace robotni

#endif  // ROBOTNI_INCLUDE_ROBOTNI_LIMITS_H_
