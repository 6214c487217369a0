#include "api/job_webhooks.h"

#include <cctype>

#include "core/log.h"

#include "api/api_util.h"
#include "api/jobs_api.h"

namespace robotni::api {

namespace {

using nlohmann::json;

constexpr const char* kEvent = "webhook";  // timeline event name of a recorded attempt

}  // namespace

WebhookUrls ParseWebhookUrls(const std::string& meta_json) {
  WebhookUrls urls;
  if (meta_json.empty()) return urls;
  json meta = json::parse(meta_json, nullptr, false);
  if (!meta.is_object()) return urls;
  if (auto it = meta.find("on_complete_url"); it != meta.end() && it->is_string())
    urls.on_complete = it->get<std::string>();
  if (auto it = meta.find("on_progress_url"); it != meta.end() && it->is_string())
    urls.on_progress = it->get<std::string>();
  return urls;
}

std::string ValidateWebhookUrl(const json& v, const std::string& field) {
  if (!v.is_string()) return field + ": expected a string (an http:// or https:// URL)";
  const std::string& url = v.get_ref<const std::string&>();
  if (url.size() > kMaxWebhookUrlBytes)
    return field + ": longer than " + std::to_string(kMaxWebhookUrlBytes) + " bytes";
  std::string lower;
  for (char c : url.substr(0, 8))
    lower += static_cast<char>(tolower(static_cast<unsigned char>(c)));
  size_t rest = 0;
  if (lower.rfind("http://", 0) == 0) {
    rest = 7;
  } else if (lower.rfind("https://", 0) == 0) {
    rest = 8;
  } else {
    return field + ": expected an http:// or https:// URL";
  }
  for (unsigned char c : url)
    if (c <= 0x20 || c == 0x7f) return field + ": whitespace or control characters in the URL";
  size_t host_end = url.find_first_of("/?#", rest);
  std::string authority =
      url.substr(rest, host_end == std::string::npos ? std::string::npos : host_end - rest);
  if (authority.find('@') != std::string::npos)
    return field + ": credentials in the URL are not accepted";
  if (authority.empty() || authority[0] == ':') return field + ": the URL has no host";
  return "";
}

json WebhookDeliveriesJson(const std::vector<store::TimelineEntry>& timeline) {
  json out = json::array();
  for (const auto& e : timeline) {
    if (e.event != kEvent) continue;
    json m = json::parse(e.message, nullptr, false);
    if (!m.is_object()) continue;
    m["at"] = IsoTime(e.at_ms);
    out.push_back(std::move(m));
  }
  return out;
}

void AddWebhookFields(const store::Item& item, const std::vector<store::TimelineEntry>* timeline,
                      json* job) {
  WebhookUrls urls = ParseWebhookUrls(item.meta_json);
  if (!urls.any()) return;
  if (!urls.on_complete.empty()) (*job)["on_complete_url"] = urls.on_complete;
  if (!urls.on_progress.empty()) (*job)["on_progress_url"] = urls.on_progress;
  if (timeline) (*job)["webhooks"] = WebhookDeliveriesJson(*timeline);
}

JobWebhooks::JobWebhooks(uv_loop_t* loop, store::WorkItemStore* store, WebhookOptions options)
    : store_(store),
      timeout_ms_(options.timeout_ms),
      unsigned_(options.secret.empty()),
      poster_(loop::LoopPoster::Create(loop)) {
  for (size_t i = 0; i < kLanes; ++i) io_.push_back(std::make_unique<exec::WorkQueue>(1));
  sender_ = std::make_unique<WebhookSender>(loop, std::move(options),
                                            [this](const WebhookAttempt& a) { Record(a); });
}

JobWebhooks::~JobWebhooks() = default;

void JobWebhooks::OnFinished(const store::Item& item, const store::Completion& c, const Status& s) {
  if (!s.ok()) return;  // refused (lease lost, item deleted): someone else reports it
  bool final = c.ok || c.exception_type == store::ExceptionType::kBusiness ||
               item.attempt >= item.max_attempts;
  if (!final) return;  // a retry follows; the receiver hears about the last attempt only
  WebhookUrls urls = ParseWebhookUrls(item.meta_json);
  if (urls.on_complete.empty()) return;
  // The body is the job as the API shows it now, read after the commit (off the runner).
  Lane(item.id).Submit([this, id = item.id, url = std::move(urls.on_complete)]() mutable {
    auto it = store_->Get(id);
    if (!it.ok()) return;
    json body = JobJson(*it);
    body["event"] = "complete";
    poster_->Post([this, id, url = std::move(url), body = body.dump()]() mutable {
      Deliver(std::move(id), "complete", std::move(url), std::move(body));
    });
  });
}

void JobWebhooks::OnProgress(const store::Item& item, const std::string& message) {
  WebhookUrls urls = ParseWebhookUrls(item.meta_json);
  if (urls.on_progress.empty()) return;
  // The running job's snapshot plus the message: no store read per progress call.
  json body = JobJson(item);
  body["event"] = "progress";
  body["progress"] = {{"message", message}, {"at", IsoTime(NowMs())}};
  poster_->Post([this, id = item.id, url = std::move(urls.on_progress), b = body.dump()]() mutable {
    Deliver(std::move(id), "progress", std::move(url), std::move(b));
  });
}

void JobWebhooks::Deliver(std::string job_id, std::string event, std::string url,
                          std::string body) {
  if (!sender_) return;
  if (unsigned_) {
    unsigned_ = false;
    log::Warn(
        "no webhook secret configured: webhooks go out unsigned (set webhooks.secret in "
        "--config or ROBOTNI_WEBHOOK_SECRET)",
        {{"event", "webhooks_unsigned"}});
  }
  sender_->Enqueue({std::move(job_id), std::move(event), std::move(url), std::move(body)});
}

void JobWebhooks::Record(const WebhookAttempt& a) {
  json m = {{"event", a.event},
            {"url", a.url},
            {"delivery_id", a.delivery_id},
            {"attempt", a.attempt},
            {"outcome", WebhookOutcomeName(a.outcome)},
            {"http_status", a.http_status == 0 ? json(nullptr) : json(a.http_status)},
            {"error", a.error.empty() ? json(nullptr) : json(a.error)},
            {"duration_ms", a.duration_ms}};
  if (a.outcome == WebhookOutcome::kRetrying) m["retry_in_ms"] = a.retry_in_ms;
  if (a.outcome != WebhookOutcome::kDelivered && a.outcome != WebhookOutcome::kRetrying)
    log::Warn("webhook " + a.event + " of job " + a.job_id + " to " + a.url + " " +
                  WebhookOutcomeName(a.outcome) + " after " + std::to_string(a.attempt) +
                  " attempt(s): " + a.error + (a.detail.empty() ? "" : " (" + a.detail + ")"),
              {{"event", "webhook_" + std::string(WebhookOutcomeName(a.outcome))},
               {"job_id", a.job_id},
               {"url", a.url},
               {"attempt", a.attempt}});
  ++records_pending_;
  Lane(a.job_id).Submit([this, id = a.job_id, msg = m.dump()] {
    Status s = store_->RecordEvent(id, kEvent, msg);
    if (!s.ok() && !s.IsNotFound())
      log::Warn("cannot record a webhook delivery of job " + id + ": " + s.message(),
                {{"event", "webhook_record_failed"}, {"job_id", id}});
    poster_->Post([this] {
      --records_pending_;
      MaybeDone();
    });
  });
}

void JobWebhooks::Reconfigure(const WebhookOptions& options) {
  timeout_ms_ = options.timeout_ms;
  unsigned_ = options.secret.empty();  // warn again at the next delivery
  sender_->Reconfigure(options);
}

void JobWebhooks::Shutdown(uint64_t grace_ms, std::function<void()> done) {
  on_shutdown_ = std::move(done);
  if (!sender_) return MaybeDone();
  sender_->Shutdown(grace_ms, [this] {
    sender_done_ = true;
    MaybeDone();
  });
}

void JobWebhooks::MaybeDone() {
  if (!on_shutdown_ || !sender_done_ || records_pending_ > 0) return;
  auto done = std::move(on_shutdown_);
  on_shutdown_ = nullptr;
  // Later posts (a job that finished after the drain) are dropped; the loop can close.
  poster_->Close();
  done();
}

}  // namespace robotni::api
