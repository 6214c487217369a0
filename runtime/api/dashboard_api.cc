#include "api/dashboard_api.h"
#include "api/api_util.h"
#include "api/job_list.h"
#include "api/jobs_api.h"

#include <algorithm>
#include <memory>
#include <string>

#include "robotni/status.h"

namespace robotni::api {

namespace {

using nlohmann::json;

// Scripts and styles come from this origin only: no inline code, no eval, no frames.
constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'none'; frame-ancestors 'none'; base-uri 'none'";

std::string_view ContentType(std::string_view name) {
  auto ends = [&](std::string_view ext) {
    return name.size() >= ext.size() && name.substr(name.size() - ext.size()) == ext;
  };
  if (ends(".html")) return "text/html; charset=utf-8";
  if (ends(".js")) return "text/javascript; charset=utf-8";
  if (ends(".css")) return "text/css; charset=utf-8";
  if (ends(".svg")) return "image/svg+xml";
  if (ends(".json")) return "application/json";
  if (ends(".txt")) return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

const DashboardAsset* FindAsset(std::string_view name) {
  for (size_t i = 0; i < kDashboardAssetCount; ++i)
    if (kDashboardAssets[i].name == name) return &kDashboardAssets[i];
  return nullptr;
}

void ServeAsset(const Request& req, const Responder& respond, std::string_view name) {
  const DashboardAsset* a = FindAsset(name);
  if (!a) return respond(Response::Error(404, "no such dashboard asset"));
  Response r;
  r.status = 200;
  r.body = std::string(a->data);
  r.headers.Set("Content-Type", std::string(ContentType(name)));
  r.headers.Set("Cache-Control", "no-cache");
  r.headers.Set("Content-Security-Policy", kCsp);
  r.headers.Set("X-Content-Type-Options", "nosniff");
  r.headers.Set("Referrer-Policy", "no-referrer");
  r.headers.Set("X-Frame-Options", "DENY");
  ApplyEtag(req, &r);
  respond(std::move(r));
}

// Adds a route unless another module registered the same one first (theirs wins).
Status AddOptional(Router* router, std::string_view spec, Handler handler) {
  Router::Match m = router->Find(spec.substr(0, spec.find(' ')), spec.substr(spec.find(' ') + 1));
  if (m.status == 200 && m.route == spec) return Status::OK();
  return router->Add(spec, std::move(handler));
}

}  // namespace

std::vector<std::string> DashboardOpenPaths() {
  // The route pattern too: an unknown asset is then a 404 for anyone, as outside /api.
  std::vector<std::string> paths = {"/", "/dashboard/{asset}"};
  for (size_t i = 0; i < kDashboardAssetCount; ++i)
    paths.push_back("/dashboard/" + std::string(kDashboardAssets[i].name));
  return paths;
}

Status RegisterDashboard(Router* router, WorkerApiContext* ctx) {
  ROBOTNI_RETURN_IF_ERROR(router->Add("GET /", [](const Request& req, Responder respond) {
    ServeAsset(req, respond, "index.html");
  }));
  ROBOTNI_RETURN_IF_ERROR(router->Add(
      "GET /dashboard/{asset}",
      [](const Request& req, Responder respond) { ServeAsset(req, respond, req.Param("asset")); }));

  // GET /api/worker/jobs: newest first, filtered and paged (api/job_list.h).
  ROBOTNI_RETURN_IF_ERROR(AddOptional(router, "GET /api/worker/jobs", JobListHandler(ctx)));

  ROBOTNI_RETURN_IF_ERROR(AddOptional(
      router, "GET /api/worker/jobs/{id}/timeline", [ctx](const Request& req, Responder respond) {
        std::string id(req.Param("id"));
        Offload(ctx, std::move(respond), [ctx, id] {
          auto it = GetJob(ctx->store, id);
          if (!it.ok()) return StatusError(it.status());
          auto tl = ctx->store->Timeline(id);
          if (!tl.ok()) return StatusError(tl.status());
          json events = json::array();
          for (const auto& e : *tl)
            events.push_back({{"at_ms", e.at_ms},
                              {"event", e.event},
                              {"attempt", e.attempt},
                              {"message", e.message}});
          return Response::Json(200, {{"job_id", id}, {"events", events}});
        });
      }));

  // FAILED or CANCELLED -> queued again, attempts reset.
  ROBOTNI_RETURN_IF_ERROR(AddOptional(router, "POST /api/worker/jobs/{id}/retry",
                                      [ctx](const Request& req, Responder respond) {
                                        std::string id(req.Param("id"));
                                        Offload(ctx, std::move(respond), [ctx, id] {
                                          // Checked first: not a robot's work item.
                                          if (auto job = GetJob(ctx->store, id); !job.ok())
                                            return StatusError(job.status());
                                          Status s = ctx->store->Retry(id);
                                          if (!s.ok()) return StatusError(s);
                                          ctx->dispatcher->Wake();
                                          auto it = ctx->store->Get(id);
                                          if (!it.ok()) return StatusError(it.status());
                                          return Response::Json(200, JobJson(*it));
                                        });
                                      }));
  return Status::OK();
}

}  // namespace robotni::api
