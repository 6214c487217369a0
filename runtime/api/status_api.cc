#include "api/status_api.h"

#include <chrono>

#include "api/api_util.h"
#include "robotni/status.h"

namespace robotni::api {

using nlohmann::json;

Status RegisterStatusApi(Router* router, WorkerApiContext* ctx) {
  return router->Add("GET /api/worker/status", [ctx](const Request&, Responder respond) {
    auto counters = ctx->dispatcher->counters();
    json tasks = ctx->task_consumers ? ctx->task_consumers() : json::array();
    double uptime =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx->started).count();
    Offload(ctx, std::move(respond), [ctx, counters, uptime, tasks] {
      auto stats = ctx->store->Stats("");
      if (!stats.ok()) return StatusError(stats.status());
      json depth = json::object();
      for (const auto& q : *stats) {
        json& counts = depth[q.queue];
        for (const auto& [name, n] : store::StateCounts(q)) counts[name] = n;
        counts["total"] = q.total();
      }
      return Response::Json(
          200,
          {{"version", ROBOTNI_VERSION},
           {"uptime_seconds", uptime},
           {"workers", {{"busy", counters.busy}}},
           {"jobs",
            {{"done", counters.done}, {"failed", counters.failed}, {"retried", counters.retried}}},
           {"queues", depth},
           {"task_consumers", tasks}});
    });
  });
}

}  // namespace robotni::api
