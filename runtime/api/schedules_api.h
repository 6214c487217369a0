#ifndef ROBOTNI_RUNTIME_API_SCHEDULES_API_H_
#define ROBOTNI_RUNTIME_API_SCHEDULES_API_H_

// Periodic jobs (service/serve_schedules.h): GET /api/worker/schedules lists every schedule
// of the store with its next run; POST /api/worker/schedules/{name}/pause and /resume. The
// store calls run on a WorkQueue thread.

#include "api/api_context.h"
#include "api/http_types.h"

namespace robotni::api {

Status RegisterSchedulesApi(Router* router, WorkerApiContext* ctx);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_SCHEDULES_API_H_
