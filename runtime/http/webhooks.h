#ifndef ROBOTNI_RUNTIME_HTTP_WEBHOOKS_H_
#define ROBOTNI_RUNTIME_HTTP_WEBHOOKS_H_

// WebhookSender: signed POSTs to client URLs on the libuv loop (CurlMulti), with a delivery
// queue, a cap on requests in flight, retries with exponential backoff and jitter, coalescing of
// progress events, and a bounded shutdown. It knows nothing about jobs or the store: every
// attempt's outcome goes to an `on_attempt` callback (job_webhooks.h records it on the job).
//
// Only the status and the time an answer took are kept: its body is never read into the record
// (a receiver inside the network could otherwise hand its secrets to whoever submitted the
// job), redirects are not followed, and every connection failure (refused, timed out, reset,
// no such name) is recorded as "unreachable" so the records do not scan ports; the detail
// goes to the operator's log. Targets refused by the address policy fail at once, unretried.
//
// What a receiver gets (docs/serve.md, "Webhooks"):
//   POST <url>, Content-Type: application/json, the body as given, and
//   X-Robotni-Event: complete | progress
//   X-Robotni-Delivery: <id>        the same for every attempt of one delivery (dedupe on it)
//   X-Robotni-Attempt: <n>          1, 2, ...
//   X-Robotni-Job-Id: <job id>
//   X-Robotni-Timestamp: <unix seconds>
//   X-Robotni-Signature: sha256=<hex HMAC-SHA256(secret, timestamp + "." + body)>  (with a secret)
//
// Thread-safety: loop thread only. Other threads hand deliveries over with a LoopPoster.

#include <uv.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>

#include "http/address_policy.h"
#include "http/curl_multi.h"
#include "loop/uv_handle.h"

namespace robotni::http {

struct WebhookOptions {
  std::string secret;            // "" = deliveries go out unsigned
  int max_attempts = 5;          // per delivery, first attempt included
  uint64_t timeout_ms = 10'000;  // per attempt, connecting included
  int64_t base_delay_ms = 1000;  // delay before attempt n+1: base * 2^(n-1), capped, jittered
  int64_t max_delay_ms = 60'000;
  // A receiver's Retry-After (on a retried answer, e.g. 429 or 503) stretches the wait before
  // the next attempt to at least that long, up to this cap.
  int64_t max_retry_after_ms = 600'000;
  double jitter = 0.2;         // +-20 %
  size_t max_in_flight = 16;   // requests at the same time; the rest wait in order
  size_t max_queued = 10'000;  // beyond it new deliveries fail at once (recorded)
  std::string user_agent = "robotni-webhooks";
  // Which addresses deliveries may connect to (checked after DNS, at connect time); by
  // default no loopback, link-local, private or otherwise reserved one (address_policy.h).
  AddressPolicy policy;
  std::function<int64_t()> now_ms;  // wall clock for X-Robotni-Timestamp; empty = system clock
};

// What an attempt came to. kRetrying: another attempt follows after retry_in_ms.
// kFailed: final (a 4xx other than 408/429, or the last attempt failed). kAbandoned: the
// service stopped before the delivery succeeded.
enum class WebhookOutcome { kDelivered, kRetrying, kFailed, kAbandoned };
const char* WebhookOutcomeName(WebhookOutcome o);  // "delivered", "retrying", ...

struct WebhookDelivery {
  std::string job_id;
  std::string event;  // "complete" or "progress"; progress deliveries coalesce
  std::string url;
  std::string body;  // JSON
};

struct WebhookAttempt {
  std::string delivery_id, job_id, event, url;
  int attempt = 0;  // 1-based; 0 when abandoned before any attempt
  WebhookOutcome outcome = WebhookOutcome::kFailed;
  long http_status = 0;     // 0 = no response
  std::string error;        // "" when a 2xx answered; "unreachable" for every connection failure
  std::string detail;       // curl's reason, for the operator's log only (not the job's record)
  int64_t duration_ms = 0;  // of this attempt; 0 when none ran
  int64_t retry_in_ms = 0;
};

// The signature header value: "sha256=" + hex HMAC-SHA256(secret, timestamp + "." + body).
// Signing the timestamp too lets receivers refuse replays of old deliveries.
std::string WebhookSignature(std::string_view secret, std::string_view timestamp,
                             std::string_view body);

// How one attempt's result counts: 2xx delivered; 408, 429, 5xx, timeouts and connection
// errors retry; any other status (3xx: redirects are not followed, other 4xx) and an address
// the policy refused are final.
enum class AttemptClass { kDelivered, kRetry, kFinal };
AttemptClass ClassifyAttempt(const HttpClientResult& r);

// Backoff before attempt `attempt + 1` after `attempt` failed (attempt >= 1):
// base * 2^(attempt-1), at most max_delay, scaled by 1 + jitter * (2 * unit - 1) for a uniform
// `unit` in [0, 1).
int64_t RetryDelayMs(const WebhookOptions& o, int attempt, double unit);

// The wait before the next attempt after `r`: RetryDelayMs, or the response's Retry-After when
// that is longer (capped at max_retry_after_ms; a receiver asking for a pause gets it).
int64_t NextAttemptDelayMs(const WebhookOptions& o, const HttpClientResult& r, int attempt,
                           double unit);

class WebhookSender {
 public:
  using OnAttempt = std::function<void(const WebhookAttempt&)>;

  // Loop thread. `on_attempt` runs on the loop thread after every attempt (and for every
  // abandoned delivery at shutdown).
  WebhookSender(uv_loop_t* loop, WebhookOptions options, OnAttempt on_attempt);
  ~WebhookSender();  // aborts what is left without reporting it; prefer Shutdown()
  WebhookSender(const WebhookSender&) = delete;
  WebhookSender& operator=(const WebhookSender&) = delete;

  // Queues a delivery; returns its delivery id. A progress delivery replaces the body of a
  // progress delivery for the same job and URL that has not started yet (the receiver gets the
  // newest state, not a backlog).
  std::string Enqueue(WebhookDelivery d);

  // Stops retrying: deliveries waiting for a retry are attempted at once, and an attempt that
  // fails now is not retried. After `grace_ms`, attempts still running are aborted. Every
  // delivery that did not succeed is reported kAbandoned (or kFailed when final anyway). Then
  // the handles close and `done` runs on the loop thread. Deliveries enqueued meanwhile get one
  // attempt too.
  void Shutdown(uint64_t grace_ms, std::function<void()> done);

  // A SIGHUP reload: the secret, max_attempts, timeout_ms and policy of `o` apply to attempts
  // that start from now on.
  void Reconfigure(const WebhookOptions& o);

  size_t queued() const { return deliveries_.size(); }
  size_t in_flight() const { return in_flight_; }
  uint64_t coalesced() const { return coalesced_; }

 private:
  struct Delivery {
    std::string id;
    WebhookDelivery d;
    int attempts = 0;
    uint64_t transfer = 0;  // CurlMulti id while in flight
    bool in_flight = false;
    int64_t last_duration_ms = 0;  // of the last attempt
    std::string last_detail;       // its connection error, for the log
  };
  void Pump();
  void StartAttempt(uint64_t seq);
  void OnResult(uint64_t seq, const HttpClientResult& r);
  void Report(const Delivery& dl, WebhookOutcome outcome, long status, std::string error,
              int64_t retry_in_ms = 0);
  void ArmRetryTimer();
  static void OnRetryTimer(uv_timer_t* t);
  static void OnDeadline(uv_timer_t* t);
  static void OnFinish(uv_timer_t* t);
  void MaybeFinishShutdown();
  int64_t NowMs() const;

  uv_loop_t* loop_;
  WebhookOptions options_;
  OnAttempt on_attempt_;
  CurlMulti curl_;
  std::map<uint64_t, Delivery> deliveries_;    // seq -> every delivery not yet settled
  std::deque<uint64_t> ready_;                 // due now, in order
  std::multimap<uint64_t, uint64_t> waiting_;  // uv_now due time -> seq (retry backoff)
  std::map<std::string, uint64_t> coalesce_;   // job \n url -> seq of a not-started progress
  loop::UvHandle<uv_timer_t> retry_timer_;
  loop::UvHandle<uv_timer_t> deadline_timer_;
  size_t in_flight_ = 0;
  uint64_t next_seq_ = 1;
  uint64_t coalesced_ = 0;
  std::string id_prefix_;  // random per sender, so delivery ids differ across restarts
  std::mt19937_64 rng_;
  bool shutting_down_ = false;
  bool past_deadline_ = false;
  bool finishing_ = false;
  bool closed_ = false;
  std::function<void()> on_shutdown_;
};

}  // namespace robotni::http

#endif  // ROBOTNI_RUNTIME_HTTP_WEBHOOKS_H_
