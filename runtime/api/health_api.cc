#include "api/health_api.h"

#include "robotni/status.h"

namespace robotni::api {

Status RegisterHealthApi(Router* router, WorkerApiContext* ctx) {
  ROBOTNI_RETURN_IF_ERROR(router->Add("GET /healthz", [](const Request&, Responder respond) {
    respond(Response::Json(200, {{"status", "ok"}}));
  }));
  ROBOTNI_RETURN_IF_ERROR(router->Add("GET /readyz", [ctx](const Request&, Responder respond) {
    respond(ctx->ready ? Response::Json(200, {{"status", "ready"}})
                       : Response::Json(503, {{"status", "starting"}}));
  }));
  return Status::OK();
}

}  // namespace robotni::api
