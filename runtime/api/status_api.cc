#include "api/status_api.h"

#include <chrono>

#include "api/api_util.h"
#include "api/throughput.h"
#include "robotni/status.h"

namespace robotni::api {

using nlohmann::json;

namespace {

// One entry per runner slot (a thread, or a worker process with --workers): busy with the job
// it runs, or idle. For the dashboard's worker panel.
json Slots(const exec::Dispatcher& d) {
  json slots = json::array();
  const int n = d.runners();
  for (int i = 0; i < n; ++i) {
    json slot = {{"slot", i},
                 {"kind", d.workers() > 0 ? "process" : "thread"},
                 {"busy", false},
                 {"job", nullptr}};
    if (d.workers() > 0) {  // null while its worker process starts (or restarts)
      const int pid = d.WorkerPid(i);
      slot["pid"] = pid > 0 ? json(pid) : json();
    }
    slots.push_back(std::move(slot));
  }
  for (const auto& r : d.Running()) {
    if (r.runner < 0 || r.runner >= n) continue;
    json& s = slots[r.runner];
    s["busy"] = true;
    s["job"] = {{"job_id", r.id}, {"type", r.type}, {"started", IsoTime(r.started_ms)}};
  }
  return slots;
}

}  // namespace

Status RegisterStatusApi(Router* router, WorkerApiContext* ctx) {
  ROBOTNI_RETURN_IF_ERROR(router->Add("GET /api/worker/status", [ctx](const Request&,
                                                                      Responder respond) {
    auto counters = ctx->dispatcher->counters();
    json tasks = ctx->task_consumers ? ctx->task_consumers() : json::array();
    json slots = Slots(*ctx->dispatcher);
    double uptime =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - ctx->started).count();
    Offload(ctx, std::move(respond), [ctx, counters, uptime, tasks, slots] {
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
           {"workers", {{"busy", counters.busy}, {"slots", slots}}},
           {"jobs",
            {{"done", counters.done}, {"failed", counters.failed}, {"retried", counters.retried}}},
           {"queues", depth},
           {"task_consumers", tasks}});
    });
  }));
  // Finished attempts per minute over the last hour (api/throughput.h), for the chart.
  return router->Add("GET /api/worker/throughput", [ctx](const Request&, Responder respond) {
    if (!ctx->throughput) return respond(Response::Error(404, "no throughput counters here"));
    respond(Response::Json(200, ctx->throughput->Json(NowMs())));
  });
}

}  // namespace robotni::api
