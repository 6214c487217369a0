#ifndef ROBOTNI_RUNTIME_API_WORKER_API_H_
#define ROBOTNI_RUNTIME_API_WORKER_API_H_

// The Robotni job API (/api/worker/...) and health routes over the store and the
// dispatcher. Handlers run on the loop thread and never block it: store calls go to a
// WorkQueue thread and the answer comes back through the server's LoopPoster.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "exec/dispatcher.h"
#include "exec/work_queue.h"
#include "loop/loop_poster.h"
#include "http/router.h"
#include "store/store.h"
#include "api/http_types.h"

namespace robotni::api {

class JobWaiter;  // worker_api.cc: long polls of GET /api/worker/jobs/{id}/wait

struct WorkerApiContext {
  store::WorkItemStore* store = nullptr;
  exec::Dispatcher* dispatcher = nullptr;
  exec::WorkQueue* blocking = nullptr;
  std::shared_ptr<loop::LoopPoster> poster;  // set after the server listens
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  bool ready = false;
  std::shared_ptr<JobWaiter> waiter;  // created by RegisterWorkerApi
  // robot.yaml tasks consuming queues (cli/serve_tasks.h): their status, and a wake after a
  // POST /api/work-items. Empty when serve runs no tasks.
  std::function<nlohmann::json()> task_consumers;
  std::function<void()> wake_tasks;
};

Status RegisterWorkerApi(Router* router, WorkerApiContext* ctx);

// The work-items and queue-management routes (work_items_api.h).
Status RegisterWorkItemsApi(Router* router, WorkerApiContext* ctx);

// Checks `params` against the small JSON Schema subset job types use: type, properties
// (with type), required. Returns "" when valid, else a message naming the field.
std::string ValidateParams(const nlohmann::json& schema, const nlohmann::json& params);

// The job's JSON as the API returns it (status in the API's vocabulary). A job with webhook
// URLs shows them, and with its `timeline` given, a `webhooks` array of delivery outcomes.
nlohmann::json JobJson(const store::Item& item,
                       const std::vector<store::TimelineEntry>* timeline = nullptr);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_WORKER_API_H_
