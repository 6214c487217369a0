#include "api/schedules_api.h"

#include "api/api_util.h"

namespace robotni::api {

namespace {

Handler PauseHandler(WorkerApiContext* ctx, bool paused) {
  return [ctx, paused](const Request& req, Responder respond) {
    std::string name(req.Param("name"));
    Offload(ctx, std::move(respond), [ctx, name, paused] {
      if (!ctx->set_schedule_paused)
        return StatusError(Status::NotFound("no schedule '" + name + "'"));
      auto row = ctx->set_schedule_paused(name, paused);
      if (!row.ok()) return StatusError(row.status());
      return Response::Json(200, *row);
    });
  };
}

}  // namespace

Status RegisterSchedulesApi(Router* router, WorkerApiContext* ctx) {
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/worker/schedules", [ctx](const Request&, Responder respond) {
        Offload(ctx, std::move(respond), [ctx] {
          if (!ctx->list_schedules)
            return Response::Json(200, {{"schedules", nlohmann::json::array()}});
          auto list = ctx->list_schedules();
          if (!list.ok()) return StatusError(list.status());
          return Response::Json(200, *list);
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("POST /api/worker/schedules/{name}/pause", PauseHandler(ctx, true)));
  return router->Add("POST /api/worker/schedules/{name}/resume", PauseHandler(ctx, false));
}

}  // namespace robotni::api
