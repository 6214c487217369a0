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
#include "exec/job_type.h"
#include "store/store.h"

namespace robotni::api {

// Registers the routes above and creates ctx->waiter.
Status RegisterJobsApi(Router* router, WorkerApiContext* ctx);

// Checks `params` against the job type's JSON Schema (core/json_schema.h: valijson, draft 7).
// Returns "" when valid, else a message naming the field: "params.address.zip: expected
// string", "params.color: expected one of \"red\", \"green\"", "params.z: unknown field ...".
std::string CheckParams(const exec::JobTypeInfo& type, const nlohmann::json& params);

// The job's JSON as the API returns it (status in the API's vocabulary). A job with webhook
// URLs shows them, and with its `timeline` given, a `webhooks` array of delivery outcomes.
nlohmann::json JobJson(const store::Item& item,
                       const std::vector<store::TimelineEntry>* timeline = nullptr);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_JOBS_API_H_
