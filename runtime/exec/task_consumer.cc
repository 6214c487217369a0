#include "exec/task_consumer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>
#include <vector>

#include "core/private_fs.h"
#include "exec/output_cap.h"
#include "exec/queue_binding.h"
#include "exec/task_runner.h"

namespace robotni::exec {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

constexpr size_t kTailBytes = 4096;

Status Stopped() {
  return Status::Cancelled("serve is stopping: this run's items were given back");
}

// A run's output: stdout and stderr interleaved in one log file, plus the end of it
// kept for the run's report. The directories are 0700 and the file 0600: a task prints
// what it handles (customer data, a secret by mistake).
class RunLog : public python::TaskContext {
 public:
  RunLog(const fs::path& path, python::WorkItemBackend* items, int64_t max_output)
      : items_(items), max_output_(max_output) {
    if (path.empty()) return;
    if (!core::CreatePrivateDirectories(path.parent_path().string()).ok()) return;
    int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd >= 0) file_ = fdopen(fd, "wb");
    if (fd >= 0 && file_ == nullptr) close(fd);
  }
  ~RunLog() override {
    if (file_) fclose(file_);
  }
  void Write(int stream, std::string_view text) override {
    std::lock_guard<std::mutex> l(mu_);
    if (file_) {
      std::string kept = CappedOutput(max_output_, stream == 2 ? &err_ : &out_, text);
      fwrite(kept.data(), 1, kept.size(), file_);
      fflush(file_);  // read while the task runs (tail -f)
    }
    tail_.append(text);
    if (tail_.size() > 2 * kTailBytes) tail_.erase(0, tail_.size() - kTailBytes);
  }
  python::WorkItemBackend* work_items() override { return items_; }
  // The last line that says something: robocorp.tasks ends a failed run with the
  // exception line, a rule of '=' and the "Log (html): PATH" line; a bare traceback ends
  // with the exception line.
  std::string LastLine() {
    std::lock_guard<std::mutex> l(mu_);
    size_t end = tail_.size();
    while (end > 0) {
      size_t start = tail_.rfind('\n', end - 1);
      start = start == std::string::npos ? 0 : start + 1;
      std::string line = tail_.substr(start, end - start);
      while (!line.empty() && isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      if (line.find_first_not_of("=- ") != std::string::npos && line.rfind("Log (html): ", 0) != 0)
        return line;
      end = start > 0 ? start - 1 : 0;
    }
    return "";
  }

 private:
  std::mutex mu_;
  FILE* file_ = nullptr;
  std::string tail_;
  python::WorkItemBackend* items_;
  int64_t max_output_;         // of each stream in the file; -1 = all
  int64_t out_ = 0, err_ = 0;  // bytes written to each stream
};

}  // namespace

// The task's view of its queue: the run's QueueBinding, counted, and closable. After
// Close() the task is handed no further input (its loop ends as on an empty queue);
// after Cut() every call fails, so a task that outlived the drain stops at its next
// work-item call instead of touching items that were given back.
class TaskConsumer::RunItems : public python::WorkItemBackend {
 public:
  explicit RunItems(QueueBinding* binding) : b_(binding) {}
  void Close() { closed_ = true; }
  void Cut() { cut_ = true; }
  bool cut() const { return cut_; }
  // After `n` items the task is handed no more (0 = no limit): its worker is then recycled.
  void set_limit(int64_t n) { limit_ = n; }
  int64_t reserved() const { return reserved_; }
  int64_t done() const { return done_; }
  int64_t failed() const { return failed_; }

  std::string input_queue() const override { return b_->input_queue(); }
  std::string output_queue() const override { return b_->output_queue(); }
  StatusOr<std::optional<std::string>> ReserveInput() override {
    if (cut_) return Stopped();
    if (closed_ || (limit_ > 0 && reserved_ >= limit_)) return std::optional<std::string>();
    auto r = b_->ReserveInput();
    if (r.ok() && r->has_value()) reserved_++;
    return r;
  }
  Status ReleaseInput(const std::string& id, const Release& release) override {
    if (cut_) return Stopped();
    Status s = b_->ReleaseInput(id, release);
    if (s.ok()) (release.done ? done_ : failed_)++;
    return s;
  }
  StatusOr<std::string> CreateOutput(const std::string& parent_id,
                                     std::string payload_json) override {
    if (cut_) return Stopped();
    return b_->CreateOutput(parent_id, std::move(payload_json));
  }
  StatusOr<std::string> LoadPayload(const std::string& id) override {
    if (cut_) return Stopped();
    return b_->LoadPayload(id);
  }
  Status SavePayload(const std::string& id, std::string payload_json) override {
    if (cut_) return Stopped();
    return b_->SavePayload(id, std::move(payload_json));
  }
  StatusOr<std::vector<std::string>> ListFiles(const std::string& id) override {
    if (cut_) return Stopped();
    return b_->ListFiles(id);
  }
  StatusOr<std::string> GetFile(const std::string& id, const std::string& name) override {
    if (cut_) return Stopped();
    return b_->GetFile(id, name);
  }
  Status AddFile(const std::string& id, const std::string& name, std::string content) override {
    if (cut_) return Stopped();
    return b_->AddFile(id, name, std::move(content));
  }
  Status RemoveFile(const std::string& id, const std::string& name) override {
    if (cut_) return Stopped();
    return b_->RemoveFile(id, name);
  }
  Status Flush() override {
    if (cut_) return Stopped();
    return b_->Flush();
  }
  Status GiveBack(const std::string& id) override {
    if (cut_) return Stopped();
    Status s = b_->GiveBack(id);
    if (s.ok()) reserved_--;
    return s;
  }

 private:
  QueueBinding* b_;
  std::atomic<bool> closed_{false}, cut_{false};
  std::atomic<int64_t> reserved_{0}, done_{0}, failed_{0};
  int64_t limit_ = 0;
};

TaskConsumer::TaskConsumer(store::WorkItemStore* store, python::InterpreterPool* pool,
                           TaskConsumerOptions options)
    : store_(store),
      pool_(pool),
      options_(std::move(options)),
      start_backoff_("the worker process for task '" + options_.task + "'") {
  totals_.task = options_.task;
  totals_.input_queue = options_.queues.input;
  totals_.output_queue = options_.queues.output;
}

TaskConsumer::~TaskConsumer() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void TaskConsumer::Start() {
  std::lock_guard<std::mutex> l(mu_);
  if (started_) return;
  started_ = true;
  thread_ = std::thread([this] { Loop(); });
}

void TaskConsumer::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

void TaskConsumer::BeginDrain() {
  std::lock_guard<std::mutex> l(mu_);
  draining_ = true;
  if (run_items_) run_items_->Close();
  cv_.notify_all();
}

int TaskConsumer::Drain(Clock::time_point deadline) {
  BeginDrain();
  std::unique_lock<std::mutex> l(mu_);
  cv_.wait_until(l, deadline, [&] { return !running_; });
  if (!running_) return 0;
  // Past the grace: the run is abandoned; what it holds goes back to the queue, and
  // its later releases are refused (fenced by the lease).
  if (run_items_) run_items_->Cut();
  std::string owner = run_owner_;
  worker::WorkerProcess* w = running_worker_;
  if (!w) stuck_ = true;  // in this process: nothing can stop it
  l.unlock();
  int given_back = GiveBack(owner);
  if (w) {
    // In a worker: killed, so the consumer's thread returns and serve ends cleanly.
    l.lock();
    if (running_worker_) running_worker_->Kill("the service is stopping");
    cv_.wait_for(l, std::chrono::seconds(5), [&] { return !running_; });
    if (running_) stuck_ = true;
  }
  return given_back;
}

Status TaskConsumer::StartWorker() {
  if (worker_) return Status::OK();
  auto started = worker::WorkerProcess::Start(worker::TaskWorkerSpec(options_.pool_key));
  if (!started.ok()) {
    start_backoff_.Failed(started.status());
    return started.status();
  }
  start_backoff_.Succeeded();
  worker_ = std::move(started).value();
  worker_items_ = 0;
  return Status::OK();
}

python::TaskResult TaskConsumer::RunInWorker(python::TaskContext* log, RunItems* items) {
  python::TaskResult result;
  if (Status s = StartWorker(); !s.ok()) {
    result.outcome = python::TaskResult::Outcome::kHostError;
    result.exit_code = 1;
    result.detail = "no worker process: " + s.message();
    return result;
  }
  if (options_.max_items_per_worker > 0)
    items->set_limit(std::max<int64_t>(1, options_.max_items_per_worker - worker_items_));
  {
    std::lock_guard<std::mutex> l(mu_);
    running_worker_ = worker_.get();
    if (draining_ && run_items_ && run_items_->cut()) worker_->Kill("the service is stopping");
  }
  auto run = worker_->RunTask(options_.spec, options_.spec.hard_timeout_grace_seconds, log,
                              options_.memory_limit_mb);
  {
    std::lock_guard<std::mutex> l(mu_);
    running_worker_ = nullptr;
  }
  worker_items_ += items->reserved();
  bool recycle =
      options_.max_items_per_worker > 0 && worker_items_ >= options_.max_items_per_worker;
  if (run.died || recycle) worker_.reset();
  return run.result;
}

bool TaskConsumer::stuck() const {
  std::lock_guard<std::mutex> l(mu_);
  return stuck_;
}

TaskConsumer::Snapshot TaskConsumer::snapshot() const {
  std::lock_guard<std::mutex> l(mu_);
  Snapshot s = totals_;
  s.running = running_;
  s.stuck = stuck_;
  return s;
}

void TaskConsumer::Loop() {
  std::unique_lock<std::mutex> l(mu_);
  uint64_t seen = wakes_;
  while (!stopping_ && !draining_) {
    cv_.wait_for(l, std::chrono::milliseconds(options_.poll_ms),
                 [&] { return stopping_ || draining_ || wakes_ != seen; });
    seen = wakes_;
    if (stopping_ || draining_ || Clock::now() < not_before_) continue;
    l.unlock();
    bool queued = HasQueuedItems();
    l.lock();
    if (!queued || stopping_ || draining_) continue;
    if (options_.in_worker && !worker_) {
      // Started before the run reserves anything: a worker that cannot start costs no
      // item an attempt, and is tried again after a growing wait (StartBackoff logs it).
      l.unlock();
      Status s = StartWorker();
      l.lock();
      if (!s.ok()) {
        not_before_ = start_backoff_.not_before();
        continue;
      }
      if (stopping_ || draining_) continue;
    }
    running_ = true;
    int64_t run = ++totals_.runs;
    l.unlock();
    TaskRunReport report = RunOnce(run);
    l.lock();
    if (stuck_) {
      // Abandoned by Drain: running_ stays set and nothing more runs.
      l.unlock();
      if (options_.on_run) options_.on_run(report);
      return;
    }
    running_ = false;
    totals_.items += report.items;
    totals_.done += report.done;
    totals_.failed += report.failed;
    totals_.last = report;
    // Only a run that got nothing done delays the next one. A run that released items
    // and then failed (its worker was killed, say) made progress: the next run starts at
    // once, without waiting for the poll, and the count of failed runs starts over.
    // (Counting every failed run made each kill of a long run's worker double the delay,
    // up to 60 s, since a run that drains a long queue never ends "ok" between kills.)
    if (report.released > 0 || (report.result == "ok" && report.items > 0)) {
      failures_ = 0;
      if (report.result != "ok") ++wakes_;
    } else {
      ++failures_;
      int64_t backoff_ms = std::min<int64_t>(60000, 1000LL << std::min(failures_ - 1, 6));
      not_before_ = Clock::now() + std::chrono::milliseconds(backoff_ms);
    }
    cv_.notify_all();
    if (options_.on_run) {
      l.unlock();
      options_.on_run(report);
      l.lock();
    }
  }
}

bool TaskConsumer::HasQueuedItems() {
  auto stats = store_->Stats(options_.queues.input);
  if (!stats.ok()) return false;
  for (const auto& q : *stats)
    if (q.queue == options_.queues.input && q.pending > 0) return true;
  return false;
}

TaskRunReport TaskConsumer::RunOnce(int64_t run) {
  auto started = Clock::now();
  TaskRunReport report;
  report.task = options_.task;
  report.run = run;
  std::string owner = options_.owner + ":" + options_.task + ":" + std::to_string(run);

  QueueBindingOptions qopts;
  qopts.input_queue = options_.queues.input;
  qopts.output_queue = options_.queues.output;
  qopts.owner = owner;
  qopts.lease_ms = options_.lease_ms;
  qopts.max_payload_bytes = options_.max_payload_bytes;
  store::WorkItemStore* st = store_;
  QueueBinding binding([st]() -> StatusOr<store::WorkItemStore*> { return st; }, qopts);
  RunItems items(&binding);
  if (!options_.log_dir.empty()) report.log = NewLogPath(run);
  RunLog log(report.log, &items, options_.max_output_bytes);
  {
    std::lock_guard<std::mutex> l(mu_);
    run_owner_ = owner;
    run_items_ = &items;
    if (draining_) items.Close();
  }

  python::TaskResult result;
  if (options_.in_worker) {
    result = RunInWorker(&log, &items);
  } else if (auto lease = pool_->Acquire(options_.pool_key, options_.kind); !lease.ok()) {
    result.outcome = python::TaskResult::Outcome::kHostError;
    result.exit_code = 1;
    result.detail = "no interpreter: " + lease.status().message();
  } else {
    python::TaskSpec spec = options_.spec;
    // Stuck in native code past its timeout: the interpreter is poisoned and this
    // thread never comes back. Give the run's items back now; the task stays stuck.
    spec.on_hard_timeout = [this, owner, run] {
      {
        std::lock_guard<std::mutex> l(mu_);
        if (run_items_) run_items_->Cut();
        stuck_ = true;
      }
      TaskRunReport r;
      r.task = options_.task;
      r.run = run;
      r.result = "stuck";
      r.exit_code = 1;
      int n = GiveBack(owner);
      r.detail = "did not stop within " +
                 std::to_string(static_cast<int>(options_.spec.hard_timeout_grace_seconds)) +
                 " s after its timeout (stuck in native code); " + std::to_string(n) +
                 " item(s) went back to the queue; the task runs no more until serve restarts";
      {
        std::lock_guard<std::mutex> l(mu_);
        totals_.last = r;
      }
      if (options_.on_run) options_.on_run(r);
    };
    result = (*lease)->Run(spec, &log);
    lease->Release();
  }

  bool cut = items.cut();
  bool passed = result.exit_code == 0 && !cut;
  // Released by the task itself, before Finish settles the rest: the run's progress.
  report.released = items.done() + items.failed();
  Status finished = binding.Finish(
      passed, passed ? "" : ExplainOutcome(options_.task, result, options_.spec.timeout_seconds));
  {
    std::lock_guard<std::mutex> l(mu_);
    run_items_ = nullptr;
    run_owner_.clear();
  }

  report.items = items.reserved();
  report.done = items.done();
  report.failed = items.failed();
  int64_t settled = report.items - report.done - report.failed;  // by Finish
  if (!cut) (passed ? report.done : report.failed) += settled;
  report.exit_code = result.exit_code;
  report.seconds = std::chrono::duration<double>(Clock::now() - started).count();
  using Outcome = python::TaskResult::Outcome;
  if (cut) {
    report.result = "stopped";
    report.detail = "still running when the drain's grace period ended; its items went back";
  } else if (result.outcome == Outcome::kTimeout) {
    report.result = "timeout";
  } else if (result.outcome == Outcome::kHostError || result.outcome == Outcome::kUnsupported) {
    report.result = "error";
  } else if (result.exit_code != 0) {
    report.result = "failed";
  } else {
    report.result = "ok";
  }
  if (report.result != "ok" && !cut) {
    report.detail = ExplainOutcome(options_.task, result, options_.spec.timeout_seconds);
    if (report.detail.empty()) report.detail = log.LastLine();
  }
  if (!finished.ok() && !cut) {
    if (report.result == "ok") report.result = "error";
    report.detail +=
        (report.detail.empty() ? "" : "; ") + std::string("work items: ") + finished.message();
  }
  if (!options_.log_dir.empty()) PruneLogs();
  return report;
}

int TaskConsumer::GiveBack(const std::string& owner) {
  int given_back = 0;
  store::ListFilter filter;
  filter.queue = options_.queues.input;
  filter.state = store::State::kReserved;
  filter.limit = 1000;
  for (;;) {
    auto items = store_->List(filter);
    if (!items.ok() || items->empty()) break;
    for (const auto& it : *items) {
      if (it.lease_owner != owner) continue;
      if (store_->Unreserve(store::LeaseOf(it)).ok()) ++given_back;
    }
    if (static_cast<int>(items->size()) < filter.limit) break;
    filter.offset += filter.limit;
  }
  (void)store_->Sync();
  return given_back;
}

fs::path TaskConsumer::NewLogPath(int64_t run) {
  auto now = std::chrono::system_clock::now();
  time_t t = std::chrono::system_clock::to_time_t(now);
  int ms = static_cast<int>(
      std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[64];
  strftime(buf, sizeof(buf), "%Y%m%dT%H%M%S", &tm);
  char name[96];
  snprintf(name, sizeof(name), "%s.%03dZ-run%lld.log", buf, ms, static_cast<long long>(run));
  return options_.log_dir / name;
}

void TaskConsumer::PruneLogs() {
  std::error_code ec;
  std::vector<fs::path> logs;
  for (const auto& e : fs::directory_iterator(options_.log_dir, ec))
    if (e.path().extension() == ".log") logs.push_back(e.path());
  if (static_cast<int>(logs.size()) <= options_.keep_logs) return;
  std::sort(logs.begin(), logs.end());  // names start with the UTC time
  for (size_t i = 0; i + options_.keep_logs < logs.size(); ++i) fs::remove(logs[i], ec);
}

}  // namespace robotni::exec
