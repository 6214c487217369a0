#ifndef ROBOTNI_RUNTIME_API_HEALTH_API_H_
#define ROBOTNI_RUNTIME_API_HEALTH_API_H_

// Liveness and readiness probes: GET /healthz (200 while the loop answers) and GET /readyz
// (200 once serve is ready, 503 while it starts). Neither touches the store.

#include "api/api_context.h"
#include "api/http_types.h"

namespace robotni::api {

Status RegisterHealthApi(Router* router, WorkerApiContext* ctx);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_HEALTH_API_H_
