#include "api/queues_api.h"

#include "api/api_util.h"
#include "api/jobs_api.h"
#include "robotni/status.h"

namespace robotni::api {

namespace {

using nlohmann::json;

// huey-style listings of one queue: pending (due now), scheduled (due later), revoked.
Status AddQueueListing(Router* router, WorkerApiContext* ctx, const std::string& which) {
  return router->Add("GET /api/worker/queues/{queue}/" + which, [ctx, which](const Request& req,
                                                                             Responder respond) {
    int limit;
    if (Response err; !ParseLimit(req, 100, 1000, &limit, &err)) return respond(std::move(err));
    std::string queue(req.Param("queue"));
    Offload(ctx, std::move(respond), [ctx, which, queue, limit] {
      store::ListFilter f;
      f.queue = queue;
      f.state = which == "revoked" ? store::State::kCancelled : store::State::kPending;
      f.newest_first = false;
      f.limit = limit;  // in SQL: a deep queue costs `limit` rows, not all of them
      int64_t now = NowMs();
      if (which == "pending") f.due_by_ms = now;
      if (which == "scheduled") f.due_after_ms = now;
      auto items = ctx->store->List(f);
      if (!items.ok()) return StatusError(items.status());
      json jobs = json::array();
      for (const auto& it : *items) jobs.push_back(JobJson(it));
      return Response::Json(200, {{"queue", queue}, {which, jobs}, {"count", jobs.size()}});
    });
  });
}

}  // namespace

Status RegisterQueuesApi(Router* router, WorkerApiContext* ctx) {
  ROBOTNI_RETURN_IF_ERROR(AddQueueListing(router, ctx, "pending"));
  ROBOTNI_RETURN_IF_ERROR(AddQueueListing(router, ctx, "scheduled"));
  ROBOTNI_RETURN_IF_ERROR(AddQueueListing(router, ctx, "revoked"));
  // huey's name for DELETE /api/worker/jobs/{id} (jobs_api.cc): the same handler.
  ROBOTNI_RETURN_IF_ERROR(router->Add("POST /api/worker/jobs/{id}/revoke", CancelJobHandler(ctx)));
  ROBOTNI_RETURN_IF_ERROR(router->Add("POST /api/worker/queues/{queue}/flush",
                                      [ctx](const Request& req, Responder respond) {
                                        std::string queue(req.Param("queue"));
                                        Offload(ctx, std::move(respond), [ctx, queue] {
                                          auto n = ctx->store->Flush(queue);
                                          if (!n.ok()) return StatusError(n.status());
                                          return Response::Json(200, {{"flushed", *n}});
                                        });
                                      }));
  return Status::OK();
}

}  // namespace robotni::api
