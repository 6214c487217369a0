#ifndef ROBOTNI_RUNTIME_API_JOB_TYPES_API_H_
#define ROBOTNI_RUNTIME_API_JOB_TYPES_API_H_

// The served job types: GET /api/worker/types lists each registered type with its input
// schema, description, concurrency, timeout and attempts (ETag-validated). Read from the
// dispatcher on the loop thread; no store call.

#include "api/api_context.h"
#include "api/http_types.h"

namespace robotni::api {

Status RegisterJobTypesApi(Router* router, WorkerApiContext* ctx);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_JOB_TYPES_API_H_
