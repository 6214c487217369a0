#ifndef ROBOTNI_RUNTIME_EXEC_JOB_TYPE_H_
#define ROBOTNI_RUNTIME_EXEC_JOB_TYPE_H_

// A job type: the queue name a job is submitted to, and how it is run (a registered
// Python function, or host code).

#include <functional>
#include <map>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "robotni/limits.h"

namespace robotni {
class JsonSchema;
}  // namespace robotni

namespace robotni::exec {

class StoreJob;

// A job type served by host code (Runtime::RegisterJobType) instead of a Python function:
// called on a runner thread with the reserved job; reports its outcome on the job
// (SetResult / SetFailure) as the Python handlers do.
using NativeJobFn = std::function<void(StoreJob& job)>;

struct JobTypeInfo {
  std::string name;
  nlohmann::json schema;  // JSON Schema of the params ({"type": "object"} when none given)
  // `schema` compiled (core/json_schema.h) when the dispatcher takes the type; POST
  // /api/worker/jobs checks params with it.
  std::shared_ptr<const JsonSchema> params_schema;
  int concurrency = 0;   // 0 = no per-type limit
  int max_attempts = 0;  // 0 = the store's default
  // As its decorator gives them (`@job(..., timeout=, memory_limit=)`); unset ones take
  // the policy's.
  Limits limits;
  std::string module, doc;
  NativeJobFn native;  // set for host-code types; empty for Python ones
  // `@job(..., schedule=, timezone=, schedule_params=)`: serve enqueues a job of this type
  // on the cron schedule (service/serve_schedules.h). Empty cron = none.
  std::string schedule_cron;
  std::string schedule_timezone;
  nlohmann::json schedule_params = nlohmann::json::object();
};

// Limits that apply to every job unless its type says otherwise.
struct JobPolicy {
  double default_timeout = 300;  // seconds, for types that declare none; 0 = none
  // Seconds between the soft timeout (an exception raised in Python) and killing the
  // worker process that runs the job (process isolation only).
  double kill_grace = 5;
  int64_t memory_limit_mb = 0;         // a worker's resident memory while running; 0 = none
  int max_jobs_per_worker = 0;         // a worker is replaced after this many jobs; 0 = never
  int64_t max_output_bytes = 1 << 20;  // of each stream kept for job.log; the rest is dropped
  // The serve config's `job_types:` section by type name: wins over the type's decorator.
  std::map<std::string, Limits> per_type;
};

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_JOB_TYPE_H_
