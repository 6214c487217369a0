#ifndef ROBOTNI_RUNTIME_API_METRICS_H_
#define ROBOTNI_RUNTIME_API_METRICS_H_

// GET /metrics: the Prometheus text exposition format (version 0.0.4), written by hand.
//
// Families: robotni_work_items{queue,state} and robotni_queue_depth{queue} (gauges, from the
// store's Stats; state = queued|scheduled|running|done|failed|cancelled as
// store::StateCounts names them; depth = queued + scheduled), robotni_executors_busy (gauge),
// robotni_jobs_total{outcome="done|failed|retried"} (counter), robotni_job_duration_seconds
// (histogram fed by the dispatcher's on_finished hook) and
// robotni_http_requests_total{route,code} (counter, from HttpCounters::responses).
// The handler copies the HTTP counters on the loop thread, then reads the store on a
// WorkQueue thread and answers through the LoopPoster, so the loop never blocks.

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "exec/dispatcher.h"
#include "exec/work_queue.h"
#include "loop/loop_poster.h"
#include "http/router.h"
#include "http/server.h"
#include "store/store.h"
#include "api/http_types.h"

namespace robotni::api {

using Labels = std::vector<std::pair<std::string, std::string>>;

// Label values escape '\\', '"' and newline; HELP text escapes '\\' and newline.
std::string EscapeLabelValue(std::string_view v);
std::string EscapeHelp(std::string_view v);
// A sample value: integers without exponent, "+Inf", "-Inf", "NaN", else shortest %.17g.
std::string FormatMetricValue(double v);

// Builds one exposition. Not thread-safe; one writer per scrape.
class MetricsWriter {
 public:
  // Starts a family: "# HELP name help" and "# TYPE name type".
  void Family(std::string_view name, std::string_view help, std::string_view type);
  // "name{k="v",...} value".
  void Sample(std::string_view name, const Labels& labels, double value);
  const std::string& text() const { return text_; }

 private:
  std::string text_;
};

// A histogram with fixed upper bounds. Observe() from any thread.
class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void Observe(double v);

  struct Snapshot {
    std::vector<double> bounds;        // without +Inf
    std::vector<uint64_t> cumulative;  // bounds.size() + 1 entries; the last is +Inf
    double sum = 0;
    uint64_t count = 0;
  };
  Snapshot Take() const;
  // Writes the family (_bucket{le=...}, _sum, _count).
  void Write(MetricsWriter* w, std::string_view name, std::string_view help) const;

  // Job durations: 10 ms .. 1 h.
  static std::vector<double> DurationBuckets();

 private:
  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative; mu_
  double sum_ = 0;                // mu_
  uint64_t count_ = 0;            // mu_
};

struct MetricsContext {
  store::WorkItemStore* store = nullptr;
  exec::Dispatcher* dispatcher = nullptr;
  exec::WorkQueue* blocking = nullptr;
  std::shared_ptr<loop::LoopPoster> poster;  // set after the server listens
  const HttpCounters* http = nullptr;  // set once the server exists; read on the loop
  Histogram job_durations{Histogram::DurationBuckets()};
};

// The exposition for the given inputs (no I/O); what GET /metrics answers.
std::string RenderMetrics(
    const std::vector<store::QueueStats>& stats, const exec::Dispatcher::Counters& jobs,
    const Histogram& durations,
    const std::vector<std::pair<std::pair<std::string, int>, uint64_t>>& http_responses);

// Adds GET /metrics.
Status RegisterMetricsApi(Router* router, MetricsContext* ctx);

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_METRICS_H_
