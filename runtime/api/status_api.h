#ifndef ROBOTNI_RUNTIME_API_STATUS_API_H_
#define ROBOTNI_RUNTIME_API_STATUS_API_H_

// The service's status: GET /api/worker/status answers the version, uptime, the
// dispatcher's counters, each queue's depth by state (a store call, on the WorkQueue) and the
// robot.yaml task consumers.

#include "api/api_context.h"
#include "api/http_types.h"

namespace robotni::api {

Status RegisterStatusApi(Router* router, WorkerApiContext* ctx);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_STATUS_API_H_
