#include "api/api_util.h"

#include <charconv>
#include <chrono>

#include "api/jobs_api.h"
#include "core/iso_time.h"
#include "core/json_limits.h"

namespace robotni::api {

void Offload(WorkerApiContext* ctx, Responder respond, std::function<Response()> work) {
  ctx->blocking->Submit([ctx, respond = std::move(respond), work = std::move(work)]() mutable {
    Response r = work();
    ctx->poster->Post(
        [respond = std::move(respond), r = std::move(r)]() mutable { respond(std::move(r)); });
  });
}

Response StatusError(const Status& s) {
  int code = s.IsNotFound() ? 404 : s.IsInvalidArgument() ? 400 : s.IsConflict() ? 409 : 503;
  return Response::Error(code, s.message());
}

std::string IsoTime(int64_t ms) { return FormatIsoTime(ms); }

nlohmann::json OrNull(const std::string& s) {
  return s.empty() ? nlohmann::json(nullptr) : nlohmann::json(s);
}

nlohmann::json ParseStoredJson(const std::string& text) {
  nlohmann::json doc;
  (void)ParseJsonWithin(text, &doc);  // discarded when invalid or too deep
  return doc;
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ParseLimit(const Request& req, int fallback, int max, int* out, Response* err) {
  auto v = req.Query("limit");
  if (!v) {
    *out = fallback;
    return true;
  }
  int n = 0;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size() || n < 1 || n > max) {
    *err = Response::Error(400, "limit: expected an integer from 1 to " + std::to_string(max));
    return false;
  }
  *out = n;
  return true;
}

bool ParseJsonBody(const Request& req, nlohmann::json* out, Response* err) {
  bool too_deep = false;  // *out is discarded when invalid: callers say how
  if (!ParseJsonWithin(req.body, out, &too_deep) && too_deep) {
    *err = Response::Error(400, "body " + JsonTooDeepMessage());
    return false;
  }
  return true;
}

StatusOr<store::Item> GetJob(store::WorkItemStore* store, const std::string& id) {
  auto it = store->Get(id);
  if (it.ok() && it->kind != store::Kind::kJob)
    return Status::NotFound("no job " + id + " (work item " + id + " is at /api/work-items/" + id +
                            ")");
  if (!it.ok() && it.status().IsNotFound()) return Status::NotFound("no job " + id);
  return it;
}

Handler CancelJobHandler(WorkerApiContext* ctx) {
  return [ctx](const Request& req, Responder respond) {
    std::string id(req.Param("id"));
    Offload(ctx, std::move(respond), [ctx, id] {
      // Checked first: a robot's work item is not cancelled through the job API.
      if (auto job = GetJob(ctx->store, id); !job.ok()) return StatusError(job.status());
      Status s = ctx->store->Cancel(id);
      if (!s.ok()) return StatusError(s);
      auto it = ctx->store->Get(id);
      if (!it.ok()) return StatusError(it.status());
      return Response::Json(200, JobJson(*it));
    });
  };
}

}  // namespace robotni::api
