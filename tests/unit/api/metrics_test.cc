#include "api/metrics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <thread>

namespace robotni::api {
namespace {

TEST(MetricsTextTest, EscapesLabelValuesAndHelp) {
  EXPECT_EQ(EscapeLabelValue("plain"), "plain");
  EXPECT_EQ(EscapeLabelValue("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
  EXPECT_EQ(EscapeHelp("x \"quoted\" \\ \n"), "x \"quoted\" \\\\ \\n");
}

TEST(MetricsTextTest, FormatsValues) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(42), "42");
  EXPECT_EQ(FormatMetricValue(-3), "-3");
  EXPECT_EQ(FormatMetricValue(0.25), "0.25");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(INFINITY), "+Inf");
  EXPECT_EQ(FormatMetricValue(-INFINITY), "-Inf");
  EXPECT_EQ(FormatMetricValue(NAN), "NaN");
}

TEST(MetricsTextTest, WritesFamiliesAndSamples) {
  MetricsWriter w;
  w.Family("robotni_x", "An \"x\".\nSecond line", "gauge");
  w.Sample("robotni_x", {{"queue", "q\"1"}, {"state", "done"}}, 3);
  w.Sample("robotni_x", {}, 1.5);
  EXPECT_EQ(w.text(),
            "# HELP robotni_x An \"x\".\\nSecond line\n"
            "# TYPE robotni_x gauge\n"
            "robotni_x{queue=\"q\\\"1\",state=\"done\"} 3\n"
            "robotni_x 1.5\n");
}

TEST(HistogramTest, BucketsAreCumulative) {
  Histogram h({0.1, 1, 10});
  for (double v : {0.0625, 0.0625, 1.0, 2.0, 20.0, 30.0}) h.Observe(v);
  auto s = h.Take();
  ASSERT_EQ(s.cumulative.size(), 4u);
  EXPECT_EQ(s.cumulative[0], 2u);
  EXPECT_EQ(s.cumulative[1], 3u);  // le is inclusive: 1.0 counts in le="1"
  EXPECT_EQ(s.cumulative[2], 4u);
  EXPECT_EQ(s.cumulative[3], 6u);  // +Inf == count
  EXPECT_EQ(s.count, 6u);
  EXPECT_DOUBLE_EQ(s.sum, 53.125);

  MetricsWriter w;
  h.Write(&w, "d_seconds", "Durations.");
  EXPECT_EQ(w.text(),
            "# HELP d_seconds Durations.\n"
            "# TYPE d_seconds histogram\n"
            "d_seconds_bucket{le=\"0.1\"} 2\n"
            "d_seconds_bucket{le=\"1\"} 3\n"
            "d_seconds_bucket{le=\"10\"} 4\n"
            "d_seconds_bucket{le=\"+Inf\"} 6\n"
            "d_seconds_sum 53.125\n"
            "d_seconds_count 6\n");
}

TEST(HistogramTest, ObserveIsThreadSafe) {
  Histogram h(Histogram::DurationBuckets());
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t)
    threads.emplace_back([&h] {
      for (int i = 0; i < 10000; ++i) h.Observe(0.02);
    });
  for (auto& t : threads) t.join();
  auto s = h.Take();
  EXPECT_EQ(s.count, 40000u);
  EXPECT_EQ(s.cumulative.back(), 40000u);
  EXPECT_EQ(s.cumulative[0], 0u);  // 0.02 > 0.01
  EXPECT_EQ(s.cumulative[1], 40000u);
}

TEST(RenderMetricsTest, HasEveryFamily) {
  store::QueueStats q;
  q.queue = "add";
  q.pending = 2;
  q.scheduled = 1;
  q.done = 5;
  exec::Dispatcher::Counters jobs;
  jobs.busy = 1;
  jobs.done = 5;
  jobs.failed = 2;
  Histogram h({1});
  h.Observe(0.5);
  std::vector<std::pair<std::pair<std::string, int>, uint64_t>> http = {{{"GET /healthz", 200}, 3},
                                                                        {{"(unmatched)", 404}, 1}};
  std::string text = RenderMetrics({q}, jobs, h, http);
  for (const char* line : {
           "# TYPE robotni_work_items gauge\n",
           "robotni_work_items{queue=\"add\",state=\"queued\"} 2\n",
           "robotni_work_items{queue=\"add\",state=\"scheduled\"} 1\n",
           "robotni_work_items{queue=\"add\",state=\"running\"} 0\n",
           "robotni_work_items{queue=\"add\",state=\"done\"} 5\n",
           "robotni_queue_depth{queue=\"add\"} 3\n",
           "robotni_executors_busy 1\n",
           "# TYPE robotni_jobs_total counter\n",
           "robotni_jobs_total{outcome=\"failed\"} 2\n",
           "robotni_job_duration_seconds_bucket{le=\"+Inf\"} 1\n",
           "robotni_http_requests_total{route=\"GET /healthz\",code=\"200\"} 3\n",
           "robotni_http_requests_total{route=\"(unmatched)\",code=\"404\"} 1\n",
       }) {
    EXPECT_NE(text.find(line), std::string::npos) << line << "\n" << text;
  }
}

}  // namespace
}  // namespace robotni::api
