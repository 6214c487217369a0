#include "http/webhooks.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>

#include "core/hmac_sha256.h"
#include "core/log.h"

namespace robotni::http {

const char* WebhookOutcomeName(WebhookOutcome o) {
  switch (o) {
    case WebhookOutcome::kDelivered:
      return "delivered";
    case WebhookOutcome::kRetrying:
      return "retrying";
    case WebhookOutcome::kFailed:
      return "failed";
    case WebhookOutcome::kAbandoned:
      return "abandoned";
  }
  return "unknown";
}

std::string WebhookSignature(std::string_view secret, std::string_view timestamp,
                             std::string_view body) {
  std::string signed_text;
  signed_text.reserve(timestamp.size() + 1 + body.size());
  signed_text.append(timestamp).append(".").append(body);
  return "sha256=" + HmacSha256Hex(secret, signed_text);
}

AttemptClass ClassifyAttempt(const HttpClientResult& r) {
  if (r.refused) return AttemptClass::kFinal;     // the address policy: the same next time
  if (!r.responded) return AttemptClass::kRetry;  // timeouts, refused or reset connections, DNS
  if (r.status >= 200 && r.status < 300) return AttemptClass::kDelivered;
  if (r.status == 408 || r.status == 429 || r.status >= 500) return AttemptClass::kRetry;
  return AttemptClass::kFinal;
}

int64_t RetryDelayMs(const WebhookOptions& o, int attempt, double unit) {
  double d = static_cast<double>(o.base_delay_ms) * std::ldexp(1.0, std::clamp(attempt - 1, 0, 40));
  d = std::min(d, static_cast<double>(o.max_delay_ms));
  d *= 1.0 + o.jitter * (2.0 * unit - 1.0);
  return std::max<int64_t>(0, static_cast<int64_t>(d));
}

int64_t NextAttemptDelayMs(const WebhookOptions& o, const HttpClientResult& r, int attempt,
                           double unit) {
  int64_t backoff = RetryDelayMs(o, attempt, unit);
  if (!r.responded || r.retry_after_ms <= 0) return backoff;
  return std::max(backoff, std::min(r.retry_after_ms, o.max_retry_after_ms));
}

WebhookSender::WebhookSender(uv_loop_t* loop, WebhookOptions options, OnAttempt on_attempt)
    : loop_(loop),
      options_(std::move(options)),
      on_attempt_(std::move(on_attempt)),
      curl_(loop),
      rng_(std::random_device{}()) {
  retry_timer_ = loop::UvHandle<uv_timer_t>::Make();
  uv_timer_init(loop_, retry_timer_.get());
  retry_timer_.get()->data = this;
  deadline_timer_ = loop::UvHandle<uv_timer_t>::Make();
  uv_timer_init(loop_, deadline_timer_.get());
  deadline_timer_.get()->data = this;
  char prefix[17];
  std::snprintf(prefix, sizeof(prefix), "%016llx", static_cast<unsigned long long>(rng_()));
  id_prefix_ = prefix;
  if (options_.max_attempts < 1) options_.max_attempts = 1;
  if (options_.max_in_flight < 1) options_.max_in_flight = 1;
}

WebhookSender::~WebhookSender() {
  closed_ = true;  // completions of the aborted requests below report nothing
  curl_.Close();
}

void WebhookSender::Reconfigure(const WebhookOptions& o) {
  options_.secret = o.secret;
  options_.max_attempts = std::max(1, o.max_attempts);
  options_.timeout_ms = o.timeout_ms;
  options_.policy = o.policy;
}

int64_t WebhookSender::NowMs() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string WebhookSender::Enqueue(WebhookDelivery d) {
  uint64_t seq = next_seq_++;
  std::string id = id_prefix_ + "-" + std::to_string(seq);
  if (closed_) return id;
  bool progress = d.event == "progress";
  std::string key = d.job_id + "\n" + d.url;
  if (progress) {
    if (auto it = coalesce_.find(key); it != coalesce_.end()) {
      Delivery& waiting = deliveries_.at(it->second);
      waiting.d.body = std::move(d.body);  // the newest state wins; its attempts stay counted
      ++coalesced_;
      return waiting.id;
    }
  }
  Delivery dl{id, std::move(d)};
  if (deliveries_.size() >= options_.max_queued) {
    Report(dl, WebhookOutcome::kFailed, 0, "too many webhook deliveries queued");
    return id;
  }
  deliveries_.emplace(seq, std::move(dl));
  if (progress) coalesce_[key] = seq;
  ready_.push_back(seq);
  Pump();
  return id;
}

void WebhookSender::Pump() {
  while (!closed_ && !past_deadline_ && in_flight_ < options_.max_in_flight && !ready_.empty()) {
    uint64_t seq = ready_.front();
    ready_.pop_front();
    StartAttempt(seq);
  }
  MaybeFinishShutdown();
}

void WebhookSender::StartAttempt(uint64_t seq) {
  auto it = deliveries_.find(seq);
  if (it == deliveries_.end()) return;
  Delivery& dl = it->second;
  if (dl.d.event == "progress") {
    auto c = coalesce_.find(dl.d.job_id + "\n" + dl.d.url);
    if (c != coalesce_.end() && c->second == seq) coalesce_.erase(c);  // a newer one queues anew
  }
  dl.attempts++;
  std::string timestamp = std::to_string(NowMs() / 1000);
  HttpClientRequest req;
  req.url = dl.d.url;
  req.method = "POST";
  req.timeout_ms = options_.timeout_ms;
  req.max_response_bytes = 0;  // only the status is kept: the body is read and dropped
  req.check_address = [policy = options_.policy, host = UrlHost(dl.d.url)](const sockaddr* addr) {
    return policy.Check(addr, host);
  };
  req.headers = {"Content-Type: application/json",
                 "User-Agent: " + options_.user_agent,
                 "X-Robotni-Event: " + dl.d.event,
                 "X-Robotni-Delivery: " + dl.id,
                 "X-Robotni-Attempt: " + std::to_string(dl.attempts),
                 "X-Robotni-Job-Id: " + dl.d.job_id,
                 "X-Robotni-Timestamp: " + timestamp};
  if (!options_.secret.empty())
    req.headers.push_back("X-Robotni-Signature: " +
                          WebhookSignature(options_.secret, timestamp, dl.d.body));
  req.body = dl.d.body;
  dl.in_flight = true;
  ++in_flight_;
  dl.transfer = curl_.Start(std::move(req), [this, seq](HttpClientResult r) { OnResult(seq, r); });
  if (dl.transfer == 0) {
    HttpClientResult r;
    r.error = "could not start the request";
    OnResult(seq, r);
  }
}

void WebhookSender::OnResult(uint64_t seq, const HttpClientResult& r) {
  if (closed_) return;
  auto it = deliveries_.find(seq);
  if (it == deliveries_.end()) return;
  Delivery& dl = it->second;
  dl.in_flight = false;
  dl.transfer = 0;
  --in_flight_;
  dl.last_duration_ms = r.elapsed_ms;
  dl.last_detail.clear();
  std::string error;
  if (r.aborted) {
    error = "aborted at shutdown";
  } else if (r.refused) {
    error = r.error;
  } else if (!r.responded) {
    // Refused, timed out, reset or unresolvable alike: telling them apart maps ports.
    error = "unreachable";
    dl.last_detail = r.error;
  } else if (r.status < 200 || r.status >= 300) {
    error = "HTTP " + std::to_string(r.status);
  }
  // The state changes before the report: `on_attempt` may call back into this sender.
  AttemptClass cls = ClassifyAttempt(r);
  if (cls == AttemptClass::kRetry && dl.attempts < options_.max_attempts && !shutting_down_) {
    std::uniform_real_distribution<double> unit(0.0, 1.0);
    int64_t delay = NextAttemptDelayMs(options_, r, dl.attempts, unit(rng_));
    waiting_.emplace(uv_now(loop_) + static_cast<uint64_t>(delay), seq);
    ArmRetryTimer();
    Report(dl, WebhookOutcome::kRetrying, r.status, error, delay);
  } else {
    Delivery settled = std::move(dl);
    deliveries_.erase(it);
    if (cls == AttemptClass::kDelivered)
      Report(settled, WebhookOutcome::kDelivered, r.status, "");
    else if (cls == AttemptClass::kFinal || settled.attempts >= options_.max_attempts)
      Report(settled, WebhookOutcome::kFailed, r.status, error);
    else
      Report(settled, WebhookOutcome::kAbandoned, r.status, error);  // no retry after shutdown
  }
  Pump();
}

void WebhookSender::Report(const Delivery& dl, WebhookOutcome outcome, long status,
                           std::string error, int64_t retry_in_ms) {
  if (!on_attempt_) return;
  WebhookAttempt a;
  a.delivery_id = dl.id;
  a.job_id = dl.d.job_id;
  a.event = dl.d.event;
  a.url = dl.d.url;
  a.attempt = dl.attempts;
  a.outcome = outcome;
  a.http_status = status;
  a.error = std::move(error);
  a.detail = dl.last_detail;
  a.duration_ms = dl.last_duration_ms;
  a.retry_in_ms = retry_in_ms;
  try {
    on_attempt_(a);
  } catch (...) {
    log::Error("webhooks: recording an attempt threw");
  }
}

void WebhookSender::ArmRetryTimer() {
  if (!retry_timer_) return;
  if (waiting_.empty()) {
    uv_timer_stop(retry_timer_.get());
    return;
  }
  uint64_t now = uv_now(loop_);
  uint64_t due = waiting_.begin()->first;
  uv_timer_start(retry_timer_.get(), &WebhookSender::OnRetryTimer, due > now ? due - now : 0, 0);
}

void WebhookSender::OnRetryTimer(uv_timer_t* t) {
  auto* self = static_cast<WebhookSender*>(t->data);
  if (!self) return;
  uint64_t now = uv_now(self->loop_);
  while (!self->waiting_.empty() && self->waiting_.begin()->first <= now) {
    self->ready_.push_back(self->waiting_.begin()->second);
    self->waiting_.erase(self->waiting_.begin());
  }
  self->ArmRetryTimer();
  self->Pump();
}

void WebhookSender::Shutdown(uint64_t grace_ms, std::function<void()> done) {
  if (shutting_down_) {
    if (done) done();  // already shutting down: nothing more to wait for from this caller
    return;
  }
  shutting_down_ = true;
  on_shutdown_ = std::move(done);
  // Backoff is skipped: everything waiting gets its attempt now, within the grace period.
  for (auto& [due, seq] : waiting_) ready_.push_back(seq);
  waiting_.clear();
  ArmRetryTimer();
  uv_timer_start(deadline_timer_.get(), &WebhookSender::OnDeadline, grace_ms, 0);
  Pump();
}

void WebhookSender::OnDeadline(uv_timer_t* t) {
  auto* self = static_cast<WebhookSender*>(t->data);
  if (!self) return;
  self->past_deadline_ = true;
  // Running attempts end now; their completions report them abandoned.
  std::vector<uint64_t> running;
  for (auto& [seq, dl] : self->deliveries_)
    if (dl.in_flight) running.push_back(dl.transfer);
  for (uint64_t id : running) self->curl_.Cancel(id);
  // Never started (more than max_in_flight were due): abandoned as they are.
  std::map<uint64_t, Delivery> left = std::move(self->deliveries_);
  self->deliveries_.clear();
  self->ready_.clear();
  self->coalesce_.clear();
  for (auto& [seq, dl] : left)
    self->Report(dl, WebhookOutcome::kAbandoned, 0, "service stopped before the attempt");
  self->MaybeFinishShutdown();
}

void WebhookSender::MaybeFinishShutdown() {
  if (!shutting_down_ || closed_ || finishing_ || !deliveries_.empty()) return;
  // Finished from a timer of its own, never from deep inside a completion: `done` may destroy
  // this sender.
  finishing_ = true;
  uv_timer_start(deadline_timer_.get(), &WebhookSender::OnFinish, 0, 0);
}

void WebhookSender::OnFinish(uv_timer_t* t) {
  auto* self = static_cast<WebhookSender*>(t->data);
  if (!self) return;
  self->closed_ = true;
  self->curl_.Close();
  self->retry_timer_.Reset();
  self->deadline_timer_.Reset();
  if (auto done = std::move(self->on_shutdown_)) done();  // `self` may be gone after this
}

}  // namespace robotni::http
