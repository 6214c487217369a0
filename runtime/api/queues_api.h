#ifndef ROBOTNI_RUNTIME_API_QUEUES_API_H_
#define ROBOTNI_RUNTIME_API_QUEUES_API_H_

// huey-style queue management over the store: GET /api/worker/queues/{queue}/pending |
// scheduled | revoked, POST /api/worker/queues/{queue}/flush, POST
// /api/worker/jobs/{id}/revoke. Handlers run on the loop thread; store calls go to the
// WorkQueue (see api_context.h).

#include "api/api_context.h"
#include "api/http_types.h"

namespace robotni::api {

Status RegisterQueuesApi(Router* router, WorkerApiContext* ctx);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_QUEUES_API_H_
