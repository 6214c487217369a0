#include "api/metrics.h"

#include <cmath>
#include <cstdio>
#include <cstdlib>

namespace robotni::api {

std::string EscapeLabelValue(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string EscapeHelp(std::string_view v) {
  std::string out;
  out.reserve(v.size());
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out;
}

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[40];
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    snprintf(buf, sizeof(buf), "%.0f", v);
  } else {
    snprintf(buf, sizeof(buf), "%.17g", v);
    // Prefer the shortest form that reads back the same.
    for (int prec = 1; prec < 17; ++prec) {
      char shorter[40];
      snprintf(shorter, sizeof(shorter), "%.*g", prec, v);
      if (std::strtod(shorter, nullptr) == v) {
        return shorter;
      }
    }
  }
  return buf;
}

void MetricsWriter::Family(std::string_view name, std::string_view help, std::string_view type) {
  text_ += "# HELP ";
  text_ += name;
  text_ += ' ';
  text_ += EscapeHelp(help);
  text_ += "\n# TYPE ";
  text_ += name;
  text_ += ' ';
  text_ += type;
  text_ += '\n';
}

void MetricsWriter::Sample(std::string_view name, const Labels& labels, double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i) text_ += ',';
      text_ += labels[i].first;
      text_ += "=\"";
      text_ += EscapeLabelValue(labels[i].second);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += FormatMetricValue(value);
  text_ += '\n';
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::Observe(double v) {
  size_t i = 0;
  while (i < bounds_.size() && v > bounds_[i]) ++i;  // le: v <= bound
  std::lock_guard<std::mutex> l(mu_);
  counts_[i]++;
  sum_ += v;
  count_++;
}

Histogram::Snapshot Histogram::Take() const {
  Snapshot s;
  s.bounds = bounds_;
  std::lock_guard<std::mutex> l(mu_);
  uint64_t running = 0;
  for (uint64_t c : counts_) {
    running += c;
    s.cumulative.push_back(running);
  }
  s.sum = sum_;
  s.count = count_;
  return s;
}

void Histogram::Write(MetricsWriter* w, std::string_view name, std::string_view help) const {
  w->Family(name, help, "histogram");
  WriteSamples(w, name, {});
}

void Histogram::WriteSamples(MetricsWriter* w, std::string_view name, const Labels& labels) const {
  Snapshot s = Take();
  std::string bucket = std::string(name) + "_bucket";
  for (size_t i = 0; i < s.cumulative.size(); ++i) {
    Labels with_le = labels;
    with_le.emplace_back("le", i < s.bounds.size() ? FormatMetricValue(s.bounds[i]) : "+Inf");
    w->Sample(bucket, with_le, static_cast<double>(s.cumulative[i]));
  }
  w->Sample(std::string(name) + "_sum", labels, s.sum);
  w->Sample(std::string(name) + "_count", labels, static_cast<double>(s.count));
}

void JobDurations::Observe(const std::string& type, double seconds) {
  Histogram* h;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& slot = by_type_[type];
    if (!slot) slot = std::make_unique<Histogram>(Histogram::DurationBuckets());
    h = slot.get();
  }
  h->Observe(seconds);  // its own lock; the map never drops an entry
}

void JobDurations::Write(MetricsWriter* w, std::string_view name, std::string_view help) const {
  w->Family(name, help, "histogram");
  std::lock_guard<std::mutex> l(mu_);
  for (const auto& [type, h] : by_type_) h->WriteSamples(w, name, {{"type", type}});
}

std::vector<double> Histogram::DurationBuckets() {
  return {0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
}

std::string RenderMetrics(
    const std::vector<store::QueueStats>& stats, const exec::Dispatcher::Counters& jobs,
    const JobDurations& durations,
    const std::vector<std::pair<std::pair<std::string, int>, uint64_t>>& http_responses) {
  MetricsWriter w;
  w.Family("robotni_work_items", "Work items by queue and state.", "gauge");
  for (const auto& q : stats) {
    for (const auto& [state, n] : store::StateCounts(q)) {
      w.Sample("robotni_work_items", {{"queue", q.queue}, {"state", state}},
               static_cast<double>(n));
    }
  }
  w.Family("robotni_queue_depth", "Items waiting to run (queued + scheduled) by queue.", "gauge");
  for (const auto& q : stats) {
    w.Sample("robotni_queue_depth", {{"queue", q.queue}},
             static_cast<double>(q.pending + q.held + q.scheduled));
  }
  w.Family("robotni_executors_busy", "Executors running a job now.", "gauge");
  w.Sample("robotni_executors_busy", {}, jobs.busy);
  w.Family("robotni_jobs_total", "Jobs finished by this server, by job type and outcome.",
           "counter");
  for (const auto& [type, n] : jobs.by_type) {
    const std::pair<const char*, int64_t> outcomes[] = {
        {"done", n.done}, {"failed", n.failed}, {"retried", n.retried}};
    for (const auto& [outcome, count] : outcomes)
      w.Sample("robotni_jobs_total", {{"type", type}, {"outcome", outcome}},
               static_cast<double>(count));
  }
  durations.Write(&w, "robotni_job_duration_seconds",
                  "Run time of jobs, start to finish, by job type.");
  w.Family("robotni_http_requests_total", "HTTP responses by route and status code.", "counter");
  for (const auto& [key, n] : http_responses) {
    w.Sample("robotni_http_requests_total",
             {{"route", key.first}, {"code", std::to_string(key.second)}}, static_cast<double>(n));
  }
  return w.text();
}

Status RegisterMetricsApi(Router* router, MetricsContext* ctx) {
  return router->Add("GET /metrics", [ctx](const Request&, Responder respond) {
    // Loop thread: copy the HTTP counters here; the store is read off the loop.
    std::vector<std::pair<std::pair<std::string, int>, uint64_t>> http;
    if (ctx->http) http.assign(ctx->http->responses.begin(), ctx->http->responses.end());
    ctx->blocking->Submit([ctx, respond = std::move(respond), http = std::move(http)]() mutable {
      Response r;
      auto stats = ctx->store->Stats("");
      if (!stats.ok()) {
        r = Response::Error(503, stats.status().message());
      } else {
        exec::Dispatcher::Counters jobs;
        if (ctx->dispatcher) jobs = ctx->dispatcher->counters();
        r = Response::Text(200, RenderMetrics(stats.value(), jobs, ctx->job_durations, http));
        r.headers.Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8");
      }
      ctx->poster->Post(
          [respond = std::move(respond), r = std::move(r)]() mutable { respond(std::move(r)); });
    });
  });
}

}  // namespace robotni::api
