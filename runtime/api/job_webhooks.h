#ifndef ROBOTNI_RUNTIME_API_JOB_WEBHOOKS_H_
#define ROBOTNI_RUNTIME_API_JOB_WEBHOOKS_H_

// JobWebhooks: the jobs side of webhooks. A job submitted with `on_complete_url` /
// `on_progress_url` keeps them in its item's meta_json; when the dispatcher reports the job
// finished for good (done, or failed with no retry left) or reporting progress, this builds the
// job's JSON and hands a delivery to a WebhookSender on the loop. Every attempt's outcome is
// appended to the job's timeline (event "webhook", a compact JSON message) and shows in the
// job's JSON as `webhooks`.
//
// Thread-safety: OnFinished / OnProgress from any thread (runner and executor threads).
// Construction, Shutdown and destruction on the loop thread.

#include <uv.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "api/http_types.h"
#include "exec/work_queue.h"
#include "http/webhooks.h"
#include "loop/loop_poster.h"
#include "robotni/status.h"
#include "store/store.h"

namespace robotni::api {

constexpr size_t kMaxWebhookUrlBytes = 2048;

struct WebhookUrls {
  std::string on_complete, on_progress;
  bool any() const { return !on_complete.empty() || !on_progress.empty(); }
};

// The URLs kept in an item's meta_json ({"on_complete_url": ..., "on_progress_url": ...}).
WebhookUrls ParseWebhookUrls(const std::string& meta_json);

// Checks a submitted URL field: a string of at most kMaxWebhookUrlBytes, http:// or https://
// with a host, no whitespace or control characters. "" when valid, else the 400 message naming
// `field`.
std::string ValidateWebhookUrl(const nlohmann::json& v, const std::string& field);

// The `webhooks` array of the job JSON, from the item's timeline: one entry per recorded
// attempt, oldest first ({"at", "event", "url", "delivery_id", "attempt", "outcome",
// "http_status", "error", "duration_ms"}; "retry_in_ms" while retrying). No answer body is
// ever part of it.
nlohmann::json WebhookDeliveriesJson(const std::vector<store::TimelineEntry>& timeline);

// For JobJson: a job with webhook URLs gets them, and with `timeline` given, `webhooks`.
void AddWebhookFields(const store::Item& item, const std::vector<store::TimelineEntry>* timeline,
                      nlohmann::json* job);

class JobWebhooks {
 public:
  // Loop thread. With no secret in `options`, the first delivery logs a warning that
  // deliveries go out unsigned.
  JobWebhooks(uv_loop_t* loop, store::WorkItemStore* store, WebhookOptions options);
  ~JobWebhooks();
  JobWebhooks(const JobWebhooks&) = delete;
  JobWebhooks& operator=(const JobWebhooks&) = delete;

  // Any thread: the dispatcher's on_finished. Only a final outcome (done, business failure,
  // or the last attempt failed) that the store accepted sends on_complete_url.
  void OnFinished(const store::Item& item, const store::Completion& c, const Status& s);
  // Any thread: the dispatcher's on_progress.
  void OnProgress(const store::Item& item, const std::string& message);

  // Loop thread: new settings from a SIGHUP reload (see WebhookSender::Reconfigure).
  void Reconfigure(const WebhookOptions& options);

  // Loop thread: the SIGTERM path. Pending deliveries get `grace_ms` (see
  // WebhookSender::Shutdown), the outcomes are written to the store, then `done` runs on the
  // loop thread and the loop has no handle of this object left.
  void Shutdown(uint64_t grace_ms, std::function<void()> done);
  // The same with one attempt's timeout as the grace period.
  void Shutdown(std::function<void()> done) { Shutdown(timeout_ms_, std::move(done)); }

 private:
  void Record(const WebhookAttempt& a);
  void Deliver(std::string job_id, std::string event, std::string url, std::string body);
  void MaybeDone();

  store::WorkItemStore* store_;
  uint64_t timeout_ms_;
  bool unsigned_ = false;  // no secret: warn at the next delivery (once per setting)
  std::shared_ptr<loop::LoopPoster> poster_;
  std::unique_ptr<WebhookSender> sender_;
  // Store reads for completion bodies and the outcome records. A job always uses the same
  // one-thread lane, so its records stay in order; other jobs' records commit meanwhile (each
  // record waits for its commit, so one lane alone would serialise every job's).
  static constexpr size_t kLanes = 4;
  exec::WorkQueue& Lane(const std::string& job_id) {
    return *io_[std::hash<std::string>{}(job_id) % kLanes];
  }
  std::vector<std::unique_ptr<exec::WorkQueue>> io_;
  int records_pending_ = 0;  // loop thread
  bool sender_done_ = false;
  std::function<void()> on_shutdown_;
};

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_JOB_WEBHOOKS_H_
