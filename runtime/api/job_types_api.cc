#include "api/job_types_api.h"

#include <vector>

#include "robotni/status.h"

namespace robotni::api {

namespace {

using nlohmann::json;

json TypesJson(const std::vector<exec::JobTypeInfo>& types) {
  json out = json::array();
  for (const auto& t : types)
    out.push_back({{"type", t.name},
                   {"input_schema", t.schema},
                   {"description", t.doc},
                   {"concurrency", t.concurrency},
                   {"timeout_seconds", t.limits.timeout.value_or(0)},
                   {"max_attempts", t.max_attempts}});
  return out;
}

}  // namespace

Status RegisterJobTypesApi(Router* router, WorkerApiContext* ctx) {
  return router->Add("GET /api/worker/types", [ctx](const Request& req, Responder respond) {
    Response r = Response::Json(200, {{"types", TypesJson(ctx->dispatcher->types())}});
    ApplyEtag(req, &r);
    respond(std::move(r));
  });
}

}  // namespace robotni::api
