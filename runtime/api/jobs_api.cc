#include "api/jobs_api.h"
#include "api/api_util.h"
#include "api/job_submitter.h"
#include "api/job_view_cache.h"
#include "api/job_webhooks.h"
#include "http/source_etag.h"

#include <chrono>
#include <climits>
#include <cmath>
#include <condition_variable>
#include <ctime>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "core/iso_time.h"
#include "core/json_schema.h"
#include "robotni/status.h"

namespace robotni::api {

namespace {

using nlohmann::json;

const char* ApiStatus(const store::Item& it) {
  if (store::IsHeld(it)) return "queued";  // claimed ahead, its handler not started
  switch (it.state) {
    case store::State::kPending:
      return "queued";
    case store::State::kReserved:
      return "running";
    case store::State::kDone:
      return "done";
    case store::State::kFailed:
      return "failed";
    case store::State::kCancelled:
      return "cancelled";
  }
  return "unknown";
}

constexpr size_t kMaxBatch = 1000;
// The ranges of a job's numbers (docs/serve.md): outside them a submission is a 400 naming the
// field, never a value silently wrapped or clamped.
constexpr int64_t kMinPriority = INT32_MIN, kMaxPriority = INT32_MAX;
constexpr double kMaxDelaySeconds = 10 * 365 * 86400.0;
constexpr int64_t kMaxAttempts = 1000;
constexpr double kMaxWaitSeconds = 60;
constexpr const char* kLogFile = "job.log";  // the dispatcher attaches the captured output

// An integer JSON number (signed or unsigned; 2.0 is not one) from lo to hi.
bool IntegerIn(const json& v, int64_t lo, int64_t hi) {
  // nlohmann reads every non-negative integer as unsigned; past INT64_MAX it has no int64_t.
  if (v.is_number_unsigned()) {
    uint64_t n = v.get<uint64_t>();
    return n <= static_cast<uint64_t>(hi) && (lo <= 0 || n >= static_cast<uint64_t>(lo));
  }
  if (!v.is_number_integer()) return false;
  int64_t n = v.get<int64_t>();
  return n >= lo && n <= hi;
}

// Checks one job submission (the body of POST /api/worker/jobs) and fills *item; else fills
// *err with the 400 / 404 answer.
bool BuildJob(WorkerApiContext* ctx, const json& body, store::NewItem* item, Response* err) {
  auto fail = [&](std::string msg) {
    *err = Response::Error(400, msg);
    return false;
  };
  if (body.is_discarded() || !body.is_object()) return fail("body: expected a JSON object");
  if (!body.contains("type") || !body["type"].is_string()) return fail("type: required string");
  std::string type = body["type"];
  const exec::JobTypeInfo* info = ctx->dispatcher->FindType(type);
  if (!info) {
    json names = json::array();
    for (const auto& t : ctx->dispatcher->types()) names.push_back(t.name);
    json e = {{"error",
               {{"status", 404},
                {"reason", "Not Found"},
                {"message", "unknown job type '" + type + "'"},
                {"types", names}}}};
    *err = Response::Json(404, e);
    return false;
  }
  json params = body.value("params", json::object());
  if (std::string why = CheckParams(*info, params); !why.empty()) return fail(why);
  item->queue = type;
  item->payload_json = params.dump();
  if (body.contains("priority")) {
    if (!IntegerIn(body["priority"], kMinPriority, kMaxPriority))
      return fail("priority: expected an integer from " + std::to_string(kMinPriority) + " to " +
                  std::to_string(kMaxPriority));
    item->priority = body["priority"].get<int>();
  }
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  if (body.contains("delay_seconds") && body.contains("run_at"))
    return fail("delay_seconds and run_at: give one, not both");
  if (body.contains("delay_seconds")) {
    const json& d = body["delay_seconds"];
    if (!d.is_number() || !(d.get<double>() >= 0) || d.get<double>() > kMaxDelaySeconds)
      return fail("delay_seconds: expected a number from 0 to " +
                  std::to_string(static_cast<int64_t>(kMaxDelaySeconds)) + " (10 years)");
    item->not_before_ms = now + static_cast<int64_t>(d.get<double>() * 1000);
  }
  if (body.contains("run_at")) {
    std::optional<int64_t> at;
    if (body["run_at"].is_string()) at = ParseIsoTime(body["run_at"].get<std::string>());
    if (!at)
      return fail(
          "run_at: expected an RFC 3339 date-time (a real calendar day, Z or an offset) like "
          "2030-01-02T03:04:05Z or 2030-01-02T05:04:05+02:00");
    if (*at > now + static_cast<int64_t>(kMaxDelaySeconds) * 1000)
      return fail("run_at: at most 10 years ahead");
    item->not_before_ms = *at;  // a time in the past runs at once
  }
  int max_attempts = info->max_attempts > 0 ? info->max_attempts : 3;
  if (body.contains("max_attempts")) {
    if (!IntegerIn(body["max_attempts"], 1, kMaxAttempts))
      return fail("max_attempts: expected an integer from 1 to " + std::to_string(kMaxAttempts));
    max_attempts = body["max_attempts"].get<int>();
  }
  item->max_attempts = max_attempts;
  if (body.contains("idempotency_key")) {
    if (!body["idempotency_key"].is_string()) return fail("idempotency_key: expected a string");
    item->idempotency_key = body["idempotency_key"];
  }
  json meta = json::object();
  for (const char* field : {"on_complete_url", "on_progress_url"}) {
    if (!body.contains(field)) continue;
    if (std::string why = ValidateWebhookUrl(body[field], field); !why.empty()) return fail(why);
    meta[field] = body[field];
  }
  if (!meta.empty()) item->meta_json = meta.dump();
  return true;
}

// The timeline a job's `webhooks` array is made from (deliveries are timeline events: read
// only for a job that has webhook URLs). Runs off the loop.
std::vector<store::TimelineEntry> WebhookTimeline(store::WorkItemStore* store,
                                                  const store::Item& it) {
  std::vector<store::TimelineEntry> tl;
  if (ParseWebhookUrls(it.meta_json).any())
    if (auto t = store->Timeline(it.id); t.ok()) tl = std::move(t).value();
  return tl;
}

// The job's JSON with its `webhooks` array.
json JobJsonWithWebhooks(store::WorkItemStore* store, const store::Item& it) {
  std::vector<store::TimelineEntry> tl = WebhookTimeline(store, it);
  return JobJson(it, &tl);
}

// The ETag of JobJson(it, &timeline) from its inputs: every field JobJson reads.
std::string JobEtag(const store::Item& it, const std::vector<store::TimelineEntry>& timeline) {
  http::SourceEtag tag;
  tag.Add(it.id).Add(it.queue).Add(static_cast<int64_t>(it.state)).Add(it.payload_json);
  tag.Add(it.result_json).Add(static_cast<int64_t>(it.exception_type)).Add(it.error_code);
  tag.Add(it.error_message).Add(it.traceback).Add(it.attempt).Add(it.max_attempts);
  tag.Add(it.priority).Add(it.cancel_requested).Add(it.lease_owner).Add(it.created_ms);
  tag.Add(it.not_before_ms).Add(it.started_ms).Add(it.finished_ms).Add(it.meta_json);
  for (const auto& e : timeline) tag.Add(e.at_ms).Add(e.event).Add(e.attempt).Add(e.message);
  return tag.Tag();
}

bool Finished(store::State s) {
  return s == store::State::kDone || s == store::State::kFailed || s == store::State::kCancelled;
}

// The answer to GET /api/worker/jobs/{id} from a rendered view: 304 when the request's
// If-None-Match (null: none) matches its ETag, else 200 with the JSON.
Response JobViewResponse(const JobViewCache::View& v, const std::string* if_none_match) {
  Response r;
  if (if_none_match != nullptr && http::IfNoneMatchMatches(*if_none_match, v.etag)) {
    r.status = 304;
  } else {
    r.body = v.body;
    r.headers.Set("Content-Type", "application/json");
  }
  r.headers.Set("ETag", v.etag);
  return r;
}

}  // namespace

// Long-polls for GET /api/worker/jobs/{id}/wait without blocking the loop or the WorkQueue:
// one thread of its own reads the store for every waiting request about every 50 ms and
// posts the answer (200 with the job once it is done, failed or cancelled, or 200 with the
// job as it is when the timeout passes; 404 for an unknown id) back to the loop.
class JobWaiter {
 public:
  explicit JobWaiter(WorkerApiContext* ctx) : ctx_(ctx) {}
  ~JobWaiter() {
    {
      std::lock_guard<std::mutex> l(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }
  void Add(std::string id, std::chrono::steady_clock::time_point deadline, Responder respond) {
    std::lock_guard<std::mutex> l(mu_);
    waits_.push_back({std::move(id), deadline, std::move(respond)});
    if (!thread_.joinable()) thread_ = std::thread([this] { Loop(); });
    cv_.notify_all();
  }

 private:
  struct Wait {
    std::string id;
    std::chrono::steady_clock::time_point deadline;
    Responder respond;
  };
  void Loop() {
    std::unique_lock<std::mutex> l(mu_);
    while (!stop_) {
      if (waits_.empty()) {
        cv_.wait(l, [&] { return stop_ || !waits_.empty(); });
        continue;
      }
      std::vector<Wait> batch = std::move(waits_);
      waits_.clear();
      l.unlock();
      std::vector<Wait> keep;
      auto now = std::chrono::steady_clock::now();
      for (auto& w : batch) {
        auto it = GetJob(ctx_->store, w.id);
        Response r;
        if (!it.ok()) {
          r = it.status().IsNotFound() ? Response::Error(404, it.status().message())
                                       : Response::Error(503, it.status().message());
        } else if (Finished(it->state) || now >= w.deadline) {
          r = Response::Json(200, JobJsonWithWebhooks(ctx_->store, *it));
        } else {
          keep.push_back(std::move(w));
          continue;
        }
        ctx_->poster->Post([respond = std::move(w.respond), r = std::move(r)]() mutable {
          respond(std::move(r));
        });
      }
      l.lock();
      for (auto& w : keep) waits_.push_back(std::move(w));
      if (!keep.empty()) cv_.wait_for(l, std::chrono::milliseconds(50), [&] { return stop_; });
    }
    // Stopping: the loop has stopped too; the Responders answer nowhere.
    waits_.clear();
  }

  WorkerApiContext* ctx_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<Wait> waits_;  // guarded by mu_
  bool stop_ = false;        // guarded by mu_
  std::thread thread_;       // started by the first wait
};

std::string CheckParams(const exec::JobTypeInfo& type, const json& params) {
  std::shared_ptr<const JsonSchema> schema = type.params_schema;
  if (!schema) {  // a type the dispatcher did not take (tests): compiled here
    auto compiled = JsonSchema::Compile(type.schema);
    if (!compiled.ok())
      return "params: job type '" + type.name + "': " + compiled.status().message();
    schema = std::move(compiled).value();
  }
  return schema->Check(params, "params");
}

json JobJson(const store::Item& it, const std::vector<store::TimelineEntry>* timeline) {
  json err = nullptr;
  if (it.exception_type != store::ExceptionType::kNone &&
      (it.state == store::State::kFailed || !it.error_message.empty()))
    err = {{"type", store::ExceptionTypeName(it.exception_type)},
           {"code", OrNull(it.error_code)},
           {"message", it.error_message},
           {"traceback", OrNull(it.traceback)}};
  json result = nullptr;
  if (!it.result_json.empty()) {
    result = ParseStoredJson(it.result_json);
    if (result.is_discarded()) result = it.result_json;
  }
  json params = ParseStoredJson(it.payload_json);
  // The lease owner of the attempt that runs or ran it (a finished job keeps it); none while
  // it waits, held ahead by a runner included.
  json worker = it.state == store::State::kPending || store::IsHeld(it) ? json(nullptr)
                                                                        : OrNull(it.lease_owner);
  json out = {{"job_id", it.id},
              {"type", it.queue},
              {"status", ApiStatus(it)},
              {"params", params.is_discarded() ? json(nullptr) : params},
              {"result", result},
              {"error", err},
              {"attempts", it.attempt},
              {"max_attempts", it.max_attempts},
              {"priority", it.priority},
              {"cancel_requested", it.cancel_requested},
              {"worker", worker},
              {"timeline",
               {{"timeQueued", IsoTime(it.created_ms)},
                {"timeScheduled", IsoTime(it.not_before_ms)},
                {"timeStarted", IsoTime(it.started_ms)},
                {"timeFinished", IsoTime(it.finished_ms)}}}};
  AddWebhookFields(it, timeline, &out);
  return out;
}

Status RegisterJobsApi(Router* router, WorkerApiContext* ctx) {
  if (!ctx->waiter) ctx->waiter = std::make_shared<JobWaiter>(ctx);
  if (!ctx->submitter) ctx->submitter = std::make_shared<JobSubmitter>(ctx);
  if (!ctx->job_views) ctx->job_views = std::make_shared<JobViewCache>(ctx->store);
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("POST /api/worker/jobs", [ctx](const Request& req, Responder respond) {
        json body;
        if (Response err; !ParseJsonBody(req, &body, &err)) return respond(std::move(err));
        store::NewItem item;
        if (Response err; !BuildJob(ctx, body, &item, &err)) return respond(std::move(err));
        item.kind = store::Kind::kJob;
        ctx->submitter->Submit(std::move(item), std::move(respond));
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("POST /api/worker/jobs/batch", [ctx](const Request& req, Responder respond) {
        json body;
        if (Response err; !ParseJsonBody(req, &body, &err)) return respond(std::move(err));
        json jobs = body.is_object() && body.contains("jobs") ? body["jobs"] : body;
        if (body.is_discarded() || !jobs.is_array())
          return respond(Response::Error(400, "body: expected {\"jobs\": [...]} or an array"));
        if (jobs.empty()) return respond(Response::Error(400, "jobs: empty"));
        if (jobs.size() > kMaxBatch)
          return respond(
              Response::Error(400, "jobs: at most " + std::to_string(kMaxBatch) + " per batch"));
        std::vector<store::NewItem> items(jobs.size());
        for (size_t i = 0; i < jobs.size(); ++i) {
          Response err;
          items[i].kind = store::Kind::kJob;
          if (BuildJob(ctx, jobs[i], &items[i], &err)) continue;
          // All or nothing: the first bad job refuses the batch, named by its index.
          json e = json::parse(err.body, nullptr, false);
          std::string msg = e.is_object() && e.contains("error")
                                ? e["error"].value("message", std::string("invalid"))
                                : std::string("invalid");
          json out = {{"error",
                       {{"status", 400},
                        {"reason", "Bad Request"},
                        {"message", "jobs[" + std::to_string(i) + "]: " + msg},
                        {"index", i}}}};
          return respond(Response::Json(400, out));
        }
        Offload(ctx, std::move(respond), [ctx, items = std::move(items)] {
          auto ids = ctx->store->CreateBatch(items);
          if (!ids.ok()) return StatusError(ids.status());
          ctx->dispatcher->Wake();
          json out = json::array();
          for (const auto& id : *ids) out.push_back({{"job_id", id}, {"status", "queued"}});
          return Response::Json(202, {{"jobs", out}});
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/worker/jobs/{id}/wait", [ctx](const Request& req, Responder respond) {
        double timeout = 30;
        if (auto t = req.Query("timeout")) {
          char* end = nullptr;
          std::string text(*t);
          timeout = strtod(text.c_str(), &end);
          if (text.empty() || *end != '\0' || !(timeout >= 0))
            return respond(Response::Error(400, "timeout: expected a non-negative number"));
        }
        timeout = std::min(timeout, kMaxWaitSeconds);
        auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::milliseconds(static_cast<int64_t>(timeout * 1000));
        ctx->waiter->Add(std::string(req.Param("id")), deadline, std::move(respond));
      }));
  ROBOTNI_RETURN_IF_ERROR(
      router->Add("GET /api/worker/jobs/{id}/log", [ctx](const Request& req, Responder respond) {
        std::string id(req.Param("id"));
        Offload(ctx, std::move(respond), [ctx, id] {
          auto it = GetJob(ctx->store, id);
          if (!it.ok()) return StatusError(it.status());
          auto log = ctx->store->GetFile(id, kLogFile);
          if (!log.ok() && log.status().IsNotFound())
            return Response::Error(404, "job " + id + " has no captured output");
          if (!log.ok()) return StatusError(log.status());
          return Response::Text(200, std::move(log).value());
        });
      }));
  ROBOTNI_RETURN_IF_ERROR(router->Add("GET /api/worker/jobs/{id}", [ctx](const Request& req,
                                                                         Responder respond) {
    std::string_view id = req.Param("id");
    const std::string* inm = req.headers.Find("If-None-Match");
    JobViewCache* views = ctx->job_views.get();
    if (const JobViewCache::View* v = views->Find(id)) return respond(JobViewResponse(*v, inm));
    struct Read {
      Response response;
      std::optional<JobViewCache::View> view;  // a rendered 200, for the cache
    };
    auto read = std::make_shared<Read>();
    uint64_t token = views->Begin();
    ctx->blocking->Submit([ctx, read, token, id = std::string(id), inm = inm ? *inm : std::string(),
                           respond = std::move(respond)]() mutable {
      auto it = GetJob(ctx->store, id);
      if (!it.ok()) {
        read->response = StatusError(it.status());
      } else {
        std::vector<store::TimelineEntry> webhooks = WebhookTimeline(ctx->store, *it);
        // Decided from the row, before rendering: a poll that finds the job unchanged
        // costs a read and a hash.
        std::string etag = JobEtag(*it, webhooks);
        if (!inm.empty() && http::IfNoneMatchMatches(inm, etag)) {
          read->response.status = 304;
          read->response.headers.Set("ETag", etag);
        } else {
          read->view = JobViewCache::View{
              etag, JobJson(*it, &webhooks).dump(-1, ' ', false, json::error_handler_t::replace)};
          read->response = JobViewResponse(*read->view, nullptr);
        }
      }
      ctx->poster->Post(
          [ctx, read, token, id = std::move(id), respond = std::move(respond)]() mutable {
            if (read->view) ctx->job_views->Put(token, std::move(id), std::move(*read->view));
            respond(std::move(read->response));
          });
    });
  }));
  // The same cancel as huey's revoke (queues_api.cc).
  ROBOTNI_RETURN_IF_ERROR(router->Add("DELETE /api/worker/jobs/{id}", CancelJobHandler(ctx)));
  return Status::OK();
}

}  // namespace robotni::api
