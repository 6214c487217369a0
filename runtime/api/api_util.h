#ifndef ROBOTNI_RUNTIME_API_API_UTIL_H_
#define ROBOTNI_RUNTIME_API_API_UTIL_H_

// Small pieces the API modules (jobs_api, status_api, queues_api, work_items_api,
// dashboard_api, ...) share.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "api/api_context.h"
#include "api/http_types.h"
#include "http/responder.h"
#include "http/response.h"
#include "robotni/status.h"

namespace robotni::api {

// Runs `work` on a WorkQueue thread (store calls block) and answers with its Response
// on the loop thread, through the server's poster.
void Offload(WorkerApiContext* ctx, Responder respond, std::function<Response()> work);

// 404 NotFound, 400 InvalidArgument, 409 Conflict, else 503, with the status message.
Response StatusError(const Status& s);

// "2026-11-22T21:00:36.413Z"; "" for 0.
std::string IsoTime(int64_t ms);

nlohmann::json OrNull(const std::string& s);  // "" -> null

// JSON text the store holds, parsed; discarded when it is not JSON or nests deeper than
// kMaxJsonDepth (the store refuses such text; a row written before it did stays harmless).
nlohmann::json ParseStoredJson(const std::string& text);

int64_t NowMs();  // wall clock, ms since the epoch

// ?limit=: an integer from 1 to `max`; `fallback` when absent. False with the 400 answer
// naming the range when malformed or out of range.
bool ParseLimit(const Request& req, int fallback, int max, int* out, Response* err);

// The request body parsed as JSON into *out (discarded when it is not JSON: the caller says
// what it expected). False with a 400 naming the limit when it nests deeper than
// kMaxJsonDepth (core/json_limits.h): copying such a value would recurse once per level.
bool ParseJsonBody(const Request& req, nlohmann::json* out, Response* err);

// The job `id` from the store. NotFound "no job ID" when there is no such item or it is a
// work item (a robot's, `robotni items`', /api/work-items'): the job API answers for jobs
// only, and names where a work item of that id is.
StatusOr<store::Item> GetJob(store::WorkItemStore* store, const std::string& id);

// The handler that cancels the job its path's {id} names, for DELETE /api/worker/jobs/{id}
// (jobs_api) and huey's POST /api/worker/jobs/{id}/revoke (queues_api), which are the same
// operation: store Cancel on the WorkQueue, then 200 with the job as it is now (JobJson),
// or the store's error (StatusError).
Handler CancelJobHandler(WorkerApiContext* ctx);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_API_UTIL_H_
