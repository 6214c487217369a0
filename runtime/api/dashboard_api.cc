#include "api/dashboard_api.h"
#include "api/api_util.h"
#include "api/jobs_api.h"

#include <algorithm>
#include <charconv>
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

bool ParseState(std::string_view s, store::State* out) {
  if (s == "queued")
    *out = store::State::kPending;
  else if (s == "running")
    *out = store::State::kReserved;
  else if (s == "done")
    *out = store::State::kDone;
  else if (s == "failed")
    *out = store::State::kFailed;
  else if (s == "cancelled")
    *out = store::State::kCancelled;
  else
    return false;
  return true;
}

bool ParseInt(std::string_view s, int* out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
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

  // GET /api/worker/jobs?type=&state=&limit=&offset=: newest first.
  ROBOTNI_RETURN_IF_ERROR(
      AddOptional(router, "GET /api/worker/jobs", [ctx](const Request& req, Responder respond) {
        store::ListFilter f;
        f.kind = store::Kind::kJob;  // a robot's work items are at /api/work-items
        if (auto t = req.Query("type")) f.queue = std::string(*t);
        if (auto s = req.Query("state"); s && !s->empty()) {
          store::State st;
          if (!ParseState(*s, &st))
            return respond(
                Response::Error(400, "state: expected queued, running, done, failed or cancelled"));
          f.state = st;
        }
        if (auto l = req.Query("limit"); l && !l->empty()) {
          if (!ParseInt(*l, &f.limit) || f.limit < 1 || f.limit > 1000)
            return respond(Response::Error(400, "limit: expected an integer from 1 to 1000"));
        } else {
          f.limit = 50;
        }
        if (auto o = req.Query("offset"); o && !o->empty()) {
          if (!ParseInt(*o, &f.offset) || f.offset < 0)
            return respond(
                Response::Error(400, "offset: expected an integer from 0 to 2147483647"));
        }
        auto req_copy = std::make_shared<Request>(req);
        Offload(ctx, std::move(respond), [ctx, f, req_copy] {
          auto items = ctx->store->List(f);
          if (!items.ok()) return StatusError(items.status());
          json jobs = json::array();
          for (const auto& it : *items) jobs.push_back(JobJson(it));
          Response r =
              Response::Json(200, {{"jobs", jobs}, {"limit", f.limit}, {"offset", f.offset}});
          ApplyEtag(*req_copy, &r);
          return r;
        });
      }));

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
