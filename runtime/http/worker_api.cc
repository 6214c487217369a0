#include "http/worker_api.h"

#include "robotni/status.h"

namespace robotni::http {

namespace {

using nlohmann::json;

const char* ApiStatus(const store::Item& it) {
  switch (it.state) {
    case store::State::kPending: return "queued";
    case store::State::kReserved: return "running";
    case store::State::kDone: return "done";
    case store::State::kFailed: return "failed";
    case store::State::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string IsoTime(int64_t ms) {
  if (ms <= 0) return "";
  time_t s = static_cast<time_t>(ms / 1000);
  struct tm tm;
  gmtime_r(&s, &tm);
  char buf[40];
  snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
           tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
  return buf;
}

json OrNull(const std::string& s) { return s.empty() ? json(nullptr) : json(s); }

bool TypeMatches(const std::string& type, const json& v) {
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") return v.is_number_integer() || v.is_number_unsigned();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "null") return v.is_null();
  return true;  // unknown keywords are not checked
}

// Runs `work` on a blocking thread and answers with its Response on the loop.
void Offload(WorkerApiContext* ctx, Responder respond, std::function<Response()> work) {
  ctx->blocking->Submit([ctx, respond = std::move(respond), work = std::move(work)]() mutable {
    Response r = work();
    ctx->poster->Post([respond = std::move(respond), r = std::move(r)]() mutable {
      respond(std::move(r));
    });
  });
}

Response StatusError(const Status& s) {
  int code = s.IsNotFound() ? 404 : s.IsInvalidArgument() ? 400 : s.IsConflict() ? 409 : 503;
  return Response::Error(code, s.message());
}

json TypesJson(const std::vector<exec::JobTypeInfo>& types) {
  json out = json::array();
  for (const auto& t : types)
    out.push_back({{"type", t.name},
                   {"input_schema", t.schema},
                   {"description", t.doc},
                   {"concurrency", t.concurrency},
                   {"timeout_seconds", t.timeout},
                   {"max_attempts", t.max_attempts}});
  return out;
}

}  // namespace

std::string ValidateParams(const json& schema, const json& params) {
  if (schema.contains("type") && schema["type"].is_string() &&
      !TypeMatches(schema["type"], params))
    return "params: expected " + schema["type"].get<std::string>();
  if (!params.is_object()) return "";
  if (schema.contains("required") && schema["required"].is_array()) {
    for (const auto& r : schema["required"])
      if (r.is_string() && !params.contains(r.get<std::string>()))
        return "params." + r.get<std::string>() + ": required";
  }
  if (schema.contains("properties") && schema["properties"].is_object()) {
    for (const auto& [name, prop] : schema["properties"].items()) {
      if (!params.contains(name) || !prop.is_object() || !prop.contains("type")) continue;
      if (prop["type"].is_string() && !TypeMatches(prop["type"], params[name]))
        return "params." + name + ": expected " + prop["type"].get<std::string>();
    }
  }
  return "";
}

json JobJson(const store::Item& it) {
  json err = nullptr;
  if (it.exception_type != store::ExceptionType::kNone &&
      (it.state == store::State::kFailed || !it.error_message.empty()))
    err = {{"type", store::ExceptionTypeName(it.exception_type)},
           {"code", OrNull(it.error_code)},
           {"message", it.error_message},
           {"traceback", OrNull(it.traceback)}};
  json result = nullptr;
  if (!it.result_json.empty()) {
    result = json::parse(it.result_json, nullptr, false);
    if (result.is_discarded()) result = it.result_json;
  }
  json params = json::parse(it.payload_json, nullptr, false);
  return {{"job_id", it.id},
          {"type", it.queue},
          {"status", ApiStatus(it)},
          {"params", params.is_discarded() ? json(nullptr) : params},
          {"result", result},
          {"error", err},
          {"attempts", it.attempt},
          {"max_attempts", it.max_attempts},
          {"priority", it.priority},
          {"cancel_requested", it.cancel_requested},
          {"timeline",
           {{"timeQueued", IsoTime(it.created_ms)},
            {"timeScheduled", IsoTime(it.not_before_ms)},
            {"timeStarted", IsoTime(it.started_ms)},
            {"timeFinished", IsoTime(it.finished_ms)}}}};
}

Status RegisterWorkerApi(Router* router, WorkerApiContext* ctx) {
  ROBOTNI_RETURN_IF_ERROR(router->Add("GET /healthz", [](const Request&, Responder respond) {
    respond(Response::Json(200, {{"status", "ok"}}));
  }));
  ROBOTNI_RETURN_IF_ERROR(router->Add("GET /readyz", [ctx](const Request&, Responder respond) {
    respond(ctx->ready ? Response::Json(200, {{"status", "ready"}})
                       : Response::Json(503, {{"status", "starting"}}));
  }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/worker/types", [ctx](const Request& req, Responder respond) {
        Response r = Response::Json(200, {{"types", TypesJson(ctx->dispatcher->types())}});
        ApplyEtag(req, &r);
        respond(std::move(r));
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("POST /api/worker/jobs", [ctx](const Request& req, Responder respond) {
        json body = json::parse(req.body, nullptr, false);
        if (body.is_discarded() || !body.is_object())
          return respond(Response::Error(400, "body: expected a JSON object"));
        if (!body.contains("type") || !body["type"].is_string())
          return respond(Response::Error(400, "type: required string"));
        std::string type = body["type"];
        const exec::JobTypeInfo* info = ctx->dispatcher->FindType(type);
        if (!info) {
          json names = json::array();
          for (const auto& t : ctx->dispatcher->types()) names.push_back(t.name);
          json e = {{"error",
                     {{"status", 404}, {"reason", "Not Found"},
                      {"message", "unknown job type '" + type + "'"}, {"types", names}}}};
          return respond(Response::Json(404, e));
        }
        json params = body.value("params", json::object());
        if (std::string why = ValidateParams(info->schema, params); !why.empty())
          return respond(Response::Error(400, why));
        store::NewItem item;
        item.queue = type;
        item.payload_json = params.dump();
        if (body.contains("priority")) {
          if (!body["priority"].is_number_integer())
            return respond(Response::Error(400, "priority: expected an integer"));
          item.priority = body["priority"];
        }
        int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                          std::chrono::system_clock::now().time_since_epoch())
                          .count();
        if (body.contains("delay_seconds")) {
          if (!body["delay_seconds"].is_number() || body["delay_seconds"].get<double>() < 0)
            return respond(Response::Error(400, "delay_seconds: expected a non-negative number"));
          item.not_before_ms = now + static_cast<int64_t>(body["delay_seconds"].get<double>() * 1000);
        }
        int max_attempts = info->max_attempts > 0 ? info->max_attempts : 3;
        if (body.contains("max_attempts")) {
          if (!body["max_attempts"].is_number_integer() || body["max_attempts"].get<int>() < 1)
            return respond(Response::Error(400, "max_attempts: expected an integer >= 1"));
          max_attempts = body["max_attempts"];
        }
        item.max_attempts = max_attempts;
        if (body.contains("idempotency_key")) {
          if (!body["idempotency_key"].is_string())
            return respond(Response::Error(400, "idempotency_key: expected a string"));
          item.idempotency_key = body["idempotency_key"];
        }
        Offload(ctx, std::move(respond), [ctx, item = std::move(item)] {
          auto id = ctx->store->Create(item);
          if (!id.ok()) return StatusError(id.status());
          ctx->dispatcher->Wake();
          return Response::Json(202, {{"job_id", *id}, {"status", "queued"}});
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/worker/jobs/{id}", [ctx](const Request& req, Responder respond) {
        std::string id(req.Param("id"));
        auto req_copy = std::make_shared<Request>(req);
        Offload(ctx, std::move(respond), [ctx, id, req_copy] {
          auto it = ctx->store->Get(id);
          if (!it.ok()) return StatusError(it.status());
          Response r = Response::Json(200, JobJson(*it));
          ApplyEtag(*req_copy, &r);
          return r;
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("DELETE /api/worker/jobs/{id}", [ctx](const Request& req, Responder respond) {
        std::string id(req.Param("id"));
        Offload(ctx, std::move(respond), [ctx, id] {
          Status s = ctx->store->Cancel(id);
          if (!s.ok()) return StatusError(s);
          auto it = ctx->store->Get(id);
          if (!it.ok()) return StatusError(it.status());
          return Response::Json(200, JobJson(*it));
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/worker/status", [ctx](const Request&, Responder respond) {
        auto counters = ctx->dispatcher->counters();
        double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                                      ctx->started)
                            .count();
        Offload(ctx, std::move(respond), [ctx, counters, uptime] {
          auto stats = ctx->store->Stats("");
          if (!stats.ok()) return StatusError(stats.status());
          json depth = json::object();
          for (const auto& q : *stats)
            depth[q.queue] = {{"queued", q.pending - q.scheduled}, {"scheduled", q.scheduled},
                              {"running", q.reserved}, {"done", q.done},
                              {"failed", q.failed}, {"cancelled", q.cancelled}};
          return Response::Json(200, {{"version", ROBOTNI_VERSION},
                                      {"uptime_seconds", uptime},
                                      {"workers", {{"busy", counters.busy}}},
                                      {"jobs", {{"done", counters.done},
                                                {"failed", counters.failed},
                                                {"retried", counters.retried}}},
                                      {"queues", depth}});
        });
      }));
  return Status::OK();
}

}  // namespace robotni::http
