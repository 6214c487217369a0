#include "api/api_util.h"

#include <chrono>
#include <cstdio>
#include <ctime>

#include "api/jobs_api.h"
#include "core/iso_time.h"

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

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

bool ParseLimit(const Request& req, int fallback, int max, int* out) {
  auto v = req.Query("limit");
  if (!v) {
    *out = fallback;
    return true;
  }
  try {
    size_t used = 0;
    int n = std::stoi(std::string(*v), &used);
    if (used != v->size() || n < 1) return false;
    *out = std::min(n, max);
    return true;
  } catch (...) {
    return false;
  }
}

Handler CancelJobHandler(WorkerApiContext* ctx) {
  return [ctx](const Request& req, Responder respond) {
    std::string id(req.Param("id"));
    Offload(ctx, std::move(respond), [ctx, id] {
      Status s = ctx->store->Cancel(id);
      if (!s.ok()) return StatusError(s);
      auto it = ctx->store->Get(id);
      if (!it.ok()) return StatusError(it.status());
      return Response::Json(200, JobJson(*it));
    });
  };
}

}  // namespace robotni::api
