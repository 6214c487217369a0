#ifndef ROBOTNI_RUNTIME_API_JOBS_API_H_
#define ROBOTNI_RUNTIME_API_JOBS_API_H_

// The Robotni job API over the store and the dispatcher: POST /api/worker/jobs (and /batch),
// GET /api/worker/jobs/{id}, /{id}/wait (a long poll), /{id}/log, DELETE
// /api/worker/jobs/{id}. Handlers run on the loop thread; store calls go to the WorkQueue
// (api_context.h).

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/api_context.h"
#include "api/http_types.h"
#include "store/store.h"

namespace robotni::api {

// Registers the routes above and creates ctx->waiter.
Status RegisterJobsApi(Router* router, WorkerApiContext* ctx);

// Checks `params` against the small JSON Schema subset job types use: type, properties
// (with type), required. Returns "" when valid, else a message naming the field.
std::string ValidateParams(const nlohmann::json& schema, const nlohmann::json& params);

// The job's JSON as the API returns it (status in the API's vocabulary). A job with webhook
// URLs shows them, and with its `timeline` given, a `webhooks` array of delivery outcomes.
nlohmann::json JobJson(const store::Item& item,
                       const std::vector<store::TimelineEntry>* timeline = nullptr);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_JOBS_API_H_
