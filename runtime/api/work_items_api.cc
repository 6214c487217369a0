#include "api/work_items_api.h"
#include "api/api_util.h"

#include <chrono>
#include <ctime>

#include "http/multipart.h"
#include "robotni/status.h"

namespace robotni::api {

namespace {

using nlohmann::json;

constexpr const char* kDefaultQueue = "default";

const char* ActionServerState(store::State s) {
  switch (s) {
    case store::State::kPending:
      return "PENDING";
    case store::State::kReserved:
      return "IN_PROGRESS";
    case store::State::kDone:
      return "DONE";
    case store::State::kFailed:
    case store::State::kCancelled:
      return "FAILED";
  }
  return "FAILED";
}

bool HasFile(const store::Item& it, const std::string& name) {
  for (const auto& f : it.files)
    if (f.name == name) return true;
  return false;
}

// Content-Disposition filename: quotes and backslashes escaped, control bytes dropped.
std::string QuoteFilename(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) continue;
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

json WorkItemJson(const store::Item& it) {
  json payload = ParseStoredJson(it.payload_json);
  if (payload.is_discarded() || !payload.is_object()) payload = nullptr;
  json files = json::array();
  for (const auto& f : it.files) files.push_back(f.name);
  std::string code = it.error_code, message = it.error_message;
  if (it.state == store::State::kCancelled && code.empty()) {
    code = "CANCELLED";
    if (message.empty()) message = "cancelled";
  }
  return {{"id", it.id},
          {"queue_name", it.queue},
          {"state", ActionServerState(it.state)},
          {"payload", payload},
          {"parent_id", OrNull(it.parent_id)},
          {"error_code", OrNull(code)},
          {"error_message", OrNull(message)},
          {"files", files},
          {"created_at", IsoTime(it.created_ms)},
          {"updated_at", IsoTime(it.updated_ms > 0 ? it.updated_ms : it.created_ms)}};
}

Status RegisterWorkItemsApi(Router* router, WorkerApiContext* ctx) {
  // --- Action Server /api/work-items -------------------------------------------------
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("POST /api/work-items", [ctx](const Request& req, Responder respond) {
        json body = json::object();
        if (Response err; !req.body.empty() && !ParseJsonBody(req, &body, &err))
          return respond(std::move(err));
        if (body.is_discarded() || !body.is_object())
          return respond(Response::Error(400, "body: expected a JSON object"));
        store::NewItem item;
        item.queue = kDefaultQueue;
        if (body.contains("queue_name") && !body["queue_name"].is_null()) {
          if (!body["queue_name"].is_string() || body["queue_name"].get<std::string>().empty())
            return respond(Response::Error(400, "queue_name: expected a non-empty string"));
          item.queue = body["queue_name"];
        }
        if (body.contains("payload") && !body["payload"].is_null()) {
          if (!body["payload"].is_object())
            return respond(Response::Error(400, "payload: expected an object or null"));
          item.payload_json = body["payload"].dump();
        }
        Offload(ctx, std::move(respond), [ctx, item = std::move(item)] {
          auto id = ctx->store->Create(item);
          if (!id.ok()) return StatusError(id.status());
          ctx->dispatcher->Wake();
          if (ctx->wake_tasks) ctx->wake_tasks();
          auto it = ctx->store->Get(*id);
          if (!it.ok()) return StatusError(it.status());
          return Response::Json(200, WorkItemJson(*it));
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/work-items", [ctx](const Request& req, Responder respond) {
        store::ListFilter f;
        if (auto q = req.Query("queue_name"); q && !q->empty()) f.queue = std::string(*q);
        if (auto s = req.Query("state"); s && !s->empty()) {
          auto st = store::ParseState(*s);
          if (!st)
            return respond(
                Response::Error(400, "state: expected PENDING, IN_PROGRESS, DONE or FAILED, got '" +
                                         std::string(*s) + "'"));
          f.state = st;
        }
        if (Response err; !ParseLimit(req, 100, 10000, &f.limit, &err))
          return respond(std::move(err));
        f.newest_first = true;
        Offload(ctx, std::move(respond), [ctx, f] {
          auto items = ctx->store->List(f);
          if (!items.ok()) return StatusError(items.status());
          json out = json::array();
          for (const auto& it : *items) out.push_back(WorkItemJson(it));
          size_t n = out.size();
          return Response::Json(200, {{"items", std::move(out)}, {"total", n}});
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/work-items/stats", [ctx](const Request& req, Responder respond) {
        std::string queue = kDefaultQueue;
        if (auto q = req.Query("queue_name"); q && !q->empty()) queue = std::string(*q);
        Offload(ctx, std::move(respond), [ctx, queue] {
          auto stats = ctx->store->Stats(queue);
          if (!stats.ok()) return StatusError(stats.status());
          // The Action Server's four states over the store's counts (store.h QueueStats):
          // PENDING is queued (pending + held) + scheduled, FAILED is failed + cancelled.
          store::QueueStats q;
          for (const auto& s : *stats)
            if (s.queue == queue) q = s;
          return Response::Json(200, {{"queue_name", queue},
                                      {"pending", q.pending + q.held + q.scheduled},
                                      {"in_progress", q.reserved},
                                      {"done", q.done},
                                      {"failed", q.failed + q.cancelled},
                                      {"total", q.total()}});
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/work-items/{id}", [ctx](const Request& req, Responder respond) {
        std::string id(req.Param("id"));
        Offload(ctx, std::move(respond), [ctx, id] {
          auto it = ctx->store->Get(id);
          if (!it.ok()) return StatusError(it.status());
          return Response::Json(200, WorkItemJson(*it));
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("DELETE /api/work-items/{id}", [ctx](const Request& req, Responder respond) {
        std::string id(req.Param("id"));
        Offload(ctx, std::move(respond), [ctx, id] {
          Status s = ctx->store->Delete(id);
          if (!s.ok()) return StatusError(s);
          return Response::Json(200, {{"status", "deleted"}, {"id", id}});
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(router->Add("POST /api/work-items/{id}/files", [ctx](const Request& req,
                                                                               Responder respond) {
    std::string boundary, error;
    if (!MultipartBoundary(req.Header("Content-Type"), &boundary, &error))
      return respond(Response::Error(400, error));
    std::vector<MultipartPart> parts;
    if (!ParseMultipart(req.body, boundary, &parts, &error))
      return respond(Response::Error(400, error));
    const MultipartPart* file = nullptr;
    for (const auto& p : parts)
      if (p.name == "file") {
        file = &p;
        break;
      }
    if (!file) return respond(Response::Error(400, "multipart: no 'file' field"));
    if (!file->has_filename || file->filename.empty())
      return respond(Response::Error(400, "file: the part has no filename"));
    if (Status s = store::ValidateFileName(file->filename); !s.ok())
      return respond(Response::Error(400, s.message()));
    std::string id(req.Param("id"));
    store::NewFile nf{file->filename, file->body};
    Offload(ctx, std::move(respond), [ctx, id, nf = std::move(nf)] {
      auto it = ctx->store->Get(id);
      if (!it.ok()) return StatusError(it.status());
      if (HasFile(*it, nf.name))
        return Response::Error(409, "work item " + id + " already has a file '" + nf.name + "'");
      Status s = ctx->store->AddFile(id, nf);
      if (!s.ok()) return StatusError(s);
      return Response::Json(200, {{"status", "uploaded"},
                                  {"item_id", id},
                                  {"filename", nf.name},
                                  {"size", nf.content.size()}});
    });
  }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/work-items/{id}/files", [ctx](const Request& req, Responder respond) {
        std::string id(req.Param("id"));
        Offload(ctx, std::move(respond), [ctx, id] {
          auto it = ctx->store->Get(id);
          if (!it.ok()) return StatusError(it.status());
          json files = json::array();
          for (const auto& f : it->files) files.push_back(f.name);
          return Response::Json(200, {{"item_id", id}, {"files", files}});
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(router->Add(
      "GET /api/work-items/{id}/files/{name}", [ctx](const Request& req, Responder respond) {
        std::string id(req.Param("id")), name(req.Param("name"));
        if (Status s = store::ValidateFileName(name); !s.ok())
          return respond(Response::Error(400, s.message()));
        Offload(ctx, std::move(respond), [ctx, id, name] {
          auto content = ctx->store->GetFile(id, name);
          if (!content.ok()) return StatusError(content.status());
          Response r;
          r.status = 200;
          r.headers.Set("Content-Type", "application/octet-stream");
          r.headers.Set("Content-Disposition", "attachment; filename=" + QuoteFilename(name));
          r.body = std::move(content).value();
          return r;
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(router->Add(
      "DELETE /api/work-items/{id}/files/{name}", [ctx](const Request& req, Responder respond) {
        std::string id(req.Param("id")), name(req.Param("name"));
        if (Status s = store::ValidateFileName(name); !s.ok())
          return respond(Response::Error(400, s.message()));
        Offload(ctx, std::move(respond), [ctx, id, name] {
          Status s = ctx->store->RemoveFile(id, name);
          if (!s.ok()) return StatusError(s);
          return Response::Json(200, {{"status", "deleted"}, {"item_id", id}, {"filename", name}});
        });
      }));

  return Status::OK();
}

}  // namespace robotni::api
