#ifndef ROBOTNI_RUNTIME_API_API_CONTEXT_H_
#define ROBOTNI_RUNTIME_API_API_CONTEXT_H_

// What every API module's handlers work with: the store, the dispatcher, the WorkQueue for
// blocking calls and the server's LoopPoster. Handlers run on the loop thread and never block
// it: store calls go to a WorkQueue thread and the answer comes back through the poster
// (api_util.h Offload).

#include <chrono>
#include <functional>
#include <memory>

#include <nlohmann/json.hpp>

#include "api/http_types.h"
#include "exec/dispatcher.h"
#include "exec/work_queue.h"
#include "loop/loop_poster.h"
#include "store/store.h"

namespace robotni::api {

class JobWaiter;     // jobs_api.cc: long polls of GET /api/worker/jobs/{id}/wait
class JobSubmitter;  // job_submitter.h: group commit of POST /api/worker/jobs
class JobViewCache;  // job_view_cache.h: rendered jobs of GET /api/worker/jobs/{id}

class Throughput;

struct WorkerApiContext {
  store::WorkItemStore* store = nullptr;
  exec::Dispatcher* dispatcher = nullptr;
  exec::WorkQueue* blocking = nullptr;
  std::shared_ptr<loop::LoopPoster> poster;  // set after the server listens
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool ready = false;
  std::shared_ptr<JobWaiter> waiter;        // created by RegisterJobsApi
  std::shared_ptr<JobSubmitter> submitter;  // created by RegisterJobsApi
  std::shared_ptr<JobViewCache> job_views;  // created by RegisterJobsApi
  // robot.yaml tasks consuming queues (service/serve_tasks.h): their status, and a wake after
  // a POST /api/work-items. Empty when serve runs no tasks.
  std::function<nlohmann::json()> task_consumers;
  std::function<void()> wake_tasks;
  // Finished attempts per minute for the dashboard's chart (api/throughput.h); null: the
  // throughput route answers 404.
  Throughput* throughput = nullptr;
  // Periodic jobs (service/serve_schedules.h), called on a WorkQueue thread: every schedule
  // of the store ({"schedules": [...]}), and pause / resume of one (the schedule's JSON).
  std::function<StatusOr<nlohmann::json>()> list_schedules;
  std::function<StatusOr<nlohmann::json>(const std::string& name, bool paused)> set_schedule_paused;
};

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_API_CONTEXT_H_
