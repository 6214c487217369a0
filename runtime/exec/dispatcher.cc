#include "exec/dispatcher.h"

#include <algorithm>
#include <deque>
#include <thread>

#include "core/json_schema.h"
#include "core/log.h"
#include "exec/store_job.h"

namespace robotni::exec {

namespace {

// A StoreJob that also tells on_progress (webhooks) about stored progress.
class ProgressReportingJob : public StoreJob {
 public:
  ProgressReportingJob(store::WorkItemStore* store, const store::Item& item,
                       const decltype(DispatcherOptions::on_progress)& on_progress)
      : StoreJob(store, item), on_progress_(on_progress) {}
  Status Progress(const std::string& message) override {
    Status s = StoreJob::Progress(message);
    if (s.ok() && on_progress_) on_progress_(item(), message);
    return s;
  }

 private:
  const decltype(DispatcherOptions::on_progress)& on_progress_;
};

// A schema valijson cannot read refuses its job type at load, not each submission.
Status CompileParamsSchema(JobTypeInfo* info) {
  auto compiled = JsonSchema::Compile(info->schema);
  if (!compiled.ok())
    return Status::InvalidArgument("job type '" + info->name + "': " + compiled.status().message());
  info->params_schema = std::move(compiled).value();
  return Status::OK();
}

}  // namespace

Dispatcher::Dispatcher(store::WorkItemStore* store, python::InterpreterPool* pool,
                       DispatcherOptions options)
    : store_(store),
      pool_(pool),
      options_(std::move(options)),
      start_backoff_("worker processes for jobs") {
  if (options_.workers > 0) {
    options_.concurrency = options_.workers;
    if (options_.worker_executable.empty())
      options_.worker_executable = worker::DefaultWorkerExecutable();
  }
  workers_.resize(static_cast<size_t>(std::max(0, options_.concurrency)));
  observers_ = std::make_shared<Observers>(Observers{options_.on_progress, options_.on_finished});
}

Dispatcher::~Dispatcher() {
  store_->SetWakeCallback(nullptr);
  Drain(std::chrono::milliseconds(0));
  // Runners still in a job finish it (its commit is refused: the item was given
  // back) and exit; a job stuck in C code past its timeout keeps this waiting, which
  // is why `serve` exits the process after draining instead of destroying this.
  for (auto& t : runners_) t.join();
}

PythonJobsConfig Dispatcher::python_config() const {
  PythonJobsConfig c = options_.python;
  // A worker runs one job at a time: its main interpreter isolates nothing less, and
  // loads the modules that refuse sub-interpreters (numpy).
  if (options_.workers > 0) c.kind = python::Interpreter::Kind::kMain;
  return c;
}

Status Dispatcher::LoadJobTypes() {
  std::lock_guard<std::mutex> load(load_mu_);
  uint64_t generation = ++loads_;
  StatusOr<std::vector<JobTypeInfo>> loaded = std::vector<JobTypeInfo>{};
  if (options_.workers > 0) {
    // The modules are imported in a worker, never here: an import that crashes must not
    // take the control process down.
    auto w =
        worker::WorkerProcess::Start({options_.worker_executable, python_config(), generation});
    if (!w.ok()) return w.status();
    loaded = (*w)->types();
  } else {
    loaded = LoadPythonJobTypes(pool_, python_config(), generation);
  }
  if (!loaded.ok()) return loaded.status();
  std::vector<JobTypeInfo> types;
  std::vector<std::string> names;
  for (auto& info : *loaded) {
    names.push_back(info.name);
    if (!Served(info.name)) continue;
    ROBOTNI_RETURN_IF_ERROR(CompileParamsSchema(&info));
    types.push_back(std::move(info));
  }
  std::lock_guard<std::mutex> l(mu_);
  loaded_names_ = std::move(names);
  for (const auto& n : native_types_) {
    types.erase(std::remove_if(types.begin(), types.end(),
                               [&](const JobTypeInfo& t) { return t.name == n.name; }),
                types.end());
    types.push_back(n);
  }
  retired_types_.push_back(std::move(types_));
  types_ = std::move(types);
  generation_ = generation;
  return Status::OK();
}

std::vector<JobTypeInfo> Dispatcher::types() const {
  std::lock_guard<std::mutex> l(mu_);
  return types_;
}

Status Dispatcher::RegisterNativeType(JobTypeInfo info) {
  if (info.name.empty()) return Status::InvalidArgument("a job type needs a name");
  if (!info.native) return Status::InvalidArgument("job type '" + info.name + "' has no handler");
  if (!Served(info.name))
    return Status::InvalidArgument("job type '" + info.name + "' is not among the served types");
  ROBOTNI_RETURN_IF_ERROR(CompileParamsSchema(&info));
  std::lock_guard<std::mutex> l(mu_);
  if (FindTypeLocked(info.name))
    return Status::InvalidArgument("job type '" + info.name + "' is already registered");
  native_types_.push_back(info);
  // types_ is replaced, never changed in place: FindType's pointers into it stay valid.
  std::vector<JobTypeInfo> next = types_;
  next.push_back(std::move(info));
  retired_types_.push_back(std::move(types_));
  types_ = std::move(next);
  ++wakes_;
  cv_.notify_all();
  return Status::OK();
}

const JobTypeInfo* Dispatcher::FindType(const std::string& name) const {
  std::lock_guard<std::mutex> l(mu_);
  return FindTypeLocked(name);
}

const JobTypeInfo* Dispatcher::FindTypeLocked(const std::string& name) const {
  for (const auto& t : types_)
    if (t.name == name) return &t;
  return nullptr;
}

namespace {

// A --types filter: a type name, or a prefix ending in '%' (notify.%).
bool FilterMatches(const std::string& filter, const std::string& type) {
  if (!filter.empty() && filter.back() == '%')
    return type.compare(0, filter.size() - 1, filter, 0, filter.size() - 1) == 0;
  return filter == type;
}

}  // namespace

std::vector<std::string> Dispatcher::UnmatchedTypeFilters(std::vector<std::string>* known) const {
  std::vector<std::string> names;
  {
    std::lock_guard<std::mutex> l(mu_);
    names = loaded_names_;
    for (const auto& n : native_types_) names.push_back(n.name);
  }
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  std::vector<std::string> unmatched;
  for (const auto& f : options_.type_filters) {
    bool matched = std::any_of(names.begin(), names.end(),
                               [&](const std::string& n) { return FilterMatches(f, n); });
    if (!matched) unmatched.push_back(f);
  }
  if (known) *known = std::move(names);
  return unmatched;
}

bool Dispatcher::Served(const std::string& type) const {
  if (options_.type_filters.empty()) return true;
  for (const auto& f : options_.type_filters)
    if (FilterMatches(f, type)) return true;
  return false;
}

void Dispatcher::SetObservers(decltype(DispatcherOptions::on_progress) on_progress,
                              decltype(DispatcherOptions::on_finished) on_finished) {
  auto next =
      std::make_shared<Observers>(Observers{std::move(on_progress), std::move(on_finished)});
  std::lock_guard<std::mutex> l(mu_);
  observers_ = std::move(next);
}

void Dispatcher::Start() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (started_) return;
    started_ = true;
    for (int i = 0; i < options_.concurrency; ++i)
      runners_.emplace_back([this, i] { RunnerLoop(i); });
    heartbeat_ = std::thread([this] { HeartbeatLoop(); });
  }
  // Items made ready by other processes on a shared store (PostgreSQL) wake the runners. Not
  // under mu_: the store calls Wake(), which takes mu_, holding its own lock.
  store_->SetWakeCallback([this] { Wake(); });
}

void Dispatcher::Wake() {
  {
    std::lock_guard<std::mutex> l(mu_);
    ++wakes_;
  }
  cv_.notify_all();
}

std::vector<std::string> Dispatcher::ReservableTypes() {
  std::vector<std::string> out;
  for (const auto& t : types_) {
    if (t.concurrency > 0 && running_per_type_[t.name] >= t.concurrency) continue;
    out.push_back(t.name);
  }
  return out;
}

store::ReserveRequest Dispatcher::ReserveFor(std::vector<std::string> queues,
                                             size_t max_items) const {
  store::ReserveRequest req;
  req.queues = std::move(queues);
  req.owner = options_.owner;
  req.lease_ms = options_.lease_ms;
  req.max_items = static_cast<int>(max_items);
  req.start_now = 1;  // the runner starts the first; the others are held (shown queued)
  return req;
}

namespace {

constexpr size_t kMaxAhead = 32;

int64_t SinceUs(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t)
      .count();
}

}  // namespace

// What one runner holds between its claims and commits.
struct Dispatcher::RunnerState {
  std::deque<store::Item> held;  // reserved, not started yet, in claim order
  struct Finished {
    store::Item item;
    store::Completion c;
    std::shared_ptr<const Observers> observers;
  };
  std::vector<Finished> finished;  // run, their outcomes not committed yet
  std::chrono::steady_clock::time_point first_finished;
  size_t ahead = 1;          // jobs the next claim asks for (grows while the budget allows)
  int reserve_failures = 0;  // reserve errors in a row (the store cannot be reached)
};

double Dispatcher::ExpectedUs(const std::string& type) const {
  auto it = expected_us_.find(type);
  return it == expected_us_.end() ? -1 : it->second;
}

bool Dispatcher::Quick(const std::string& type) const {
  double e = ExpectedUs(type);
  return e >= 0 && e <= static_cast<double>(options_.reserve_ahead_ms) * 1000;
}

size_t Dispatcher::AheadFor(const RunnerState& r) const {
  if (options_.reserve_ahead_ms <= 0) return 1;
  // A per-type limit counts running jobs only: jobs held ahead could pass it.
  for (const auto& t : types_)
    if (t.concurrency > 0) return 1;
  return r.ahead;
}

void Dispatcher::GiveBackHeld(RunnerState& r, std::unique_lock<std::mutex>& l) {
  if (r.held.empty()) return;
  std::vector<store::Lease> leases;
  for (const auto& item : r.held) {
    leases.push_back(store::LeaseOf(item));
    running_.erase(item.id);
  }
  r.held.clear();
  l.unlock();
  int ok = 0;
  for (const auto& lease : leases) ok += store_->Unreserve(lease).ok() ? 1 : 0;
  l.lock();
  if (stopping_) given_back_ += ok;
}

void Dispatcher::TakeReserved(int index, RunnerState& r, StatusOr<std::vector<store::Item>> got,
                              std::unique_lock<std::mutex>& l) {
  if (!got.ok()) {
    if (r.reserve_failures++ == 0)
      log::Warn("runner " + std::to_string(index) + " cannot claim jobs: " +
                    got.status().message() + " (trying again with backoff)",
                {{"event", "store_unreachable"}, {"runner", index}});
    return;
  }
  if (r.reserve_failures > 0)
    log::Info("the store answers again; runner " + std::to_string(index) + " claims jobs",
              {{"event", "store_reachable"}, {"runner", index}});
  r.reserve_failures = 0;
  std::vector<store::Item>& items = *got;
  // The first is started now. Each later one only when what runs before it is expected to
  // take no more than the budget: a type not run yet counts as slow.
  const double budget_us = static_cast<double>(options_.reserve_ahead_ms) * 1000;
  size_t keep = items.empty() ? 0 : 1;
  double expected = 0;  // of the jobs kept
  for (; keep < items.size(); ++keep) {
    double e = ExpectedUs(items[keep - 1].queue);
    if (e < 0 || expected + e > budget_us) break;
    expected += e;
  }
  // The next claim: as many as were kept when some went back; twice as many when all came
  // as asked and their expected work leaves room (a quick, known type).
  const size_t asked = r.ahead;
  if (keep < items.size()) {
    r.ahead = std::max<size_t>(1, keep);
  } else if (items.size() == asked && Quick(items.back().queue) &&
             expected + ExpectedUs(items.back().queue) < budget_us) {
    r.ahead = std::min(kMaxAhead, asked * 2);
  }
  for (size_t i = 0; i < items.size(); ++i) {
    running_[items[i].id] = store::LeaseOf(items[i]);
    r.held.push_back(std::move(items[i]));
  }
  if (keep < r.held.size()) {
    RunnerState past;
    past.held.assign(std::make_move_iterator(r.held.begin() + static_cast<ptrdiff_t>(keep)),
                     std::make_move_iterator(r.held.end()));
    r.held.resize(keep);
    GiveBackHeld(past, l);
  }
}

StatusOr<std::vector<store::Item>> Dispatcher::CommitFinished(RunnerState& r,
                                                              std::vector<std::string> queues,
                                                              size_t ahead,
                                                              std::unique_lock<std::mutex>& l) {
  std::vector<RunnerState::Finished> finished = std::move(r.finished);
  r.finished.clear();
  l.unlock();
  std::vector<store::Completion> completions;
  for (auto& f : finished) completions.push_back(std::move(f.c));
  StatusOr<std::vector<store::Item>> reserved = std::vector<store::Item>{};
  std::vector<Status> outcomes;
  if (ahead == 0) {
    outcomes = store_->CompleteBatch(completions);
  } else {
    auto both = store_->CompleteBatchAndReserve(completions, ReserveFor(std::move(queues), ahead));
    outcomes = std::move(both.completed);
    reserved = std::move(both.reserved);
  }
  for (size_t i = 0; i < finished.size(); ++i) {
    const store::Item& item = finished[i].item;
    store::Completion& c = finished[i].c;
    c = std::move(completions[i]);
    Status& s = outcomes[i];
    if (s.code() == Status::Code::kIOError) s = CompleteWhenReachable(item, c, s);
    if (s.IsInvalidArgument()) {
      // The store refused the outcome itself (a result or output past the size or depth
      // limit, or not JSON): another attempt would produce it again, and a lease left to
      // expire ran the job again and again. It fails now, saying why.
      c = RefusedOutcome(item, std::move(c), s);
      s = store_->Complete(c);
    }
  }
  l.lock();
  for (size_t i = 0; i < finished.size(); ++i) {
    const store::Item& item = finished[i].item;
    const store::Completion& c = finished[i].c;
    running_.erase(item.id);
    counters_.busy--;
    if (!outcomes[i].ok()) continue;
    Counters::Outcomes& of_type = counters_.by_type[item.queue];
    if (c.ok) {
      counters_.done++;
      of_type.done++;
    } else if (c.exception_type == store::ExceptionType::kBusiness ||
               item.attempt >= item.max_attempts) {
      counters_.failed++;
      of_type.failed++;
    } else {
      counters_.retried++;
      of_type.retried++;
    }
  }
  if (stopping_) cv_.notify_all();  // Drain() waits for busy == 0
  l.unlock();
  {
    log::Batch lines;  // serve logs a line per finished job: one write for them all
    for (size_t i = 0; i < finished.size(); ++i) {
      const auto& f = finished[i];
      if (f.observers->on_finished) f.observers->on_finished(f.item, f.c, outcomes[i]);
    }
  }
  l.lock();
  return reserved;
}

void Dispatcher::RunnerLoop(int index) {
  // A warm worker before the first job: its start (CPython, the job modules) is not paid
  // by a job.
  if (options_.workers > 0 && !options_.python.job_modules.empty()) (void)WorkerFor(index);
  std::unique_lock<std::mutex> l(mu_);
  uint64_t seen = wakes_;
  RunnerState r;
  const int64_t budget_us = options_.reserve_ahead_ms * 1000;
  while (!stopping_) {
    if (options_.workers > 0 && !options_.python.job_modules.empty() && !WorkerReady(index, l)) {
      // Its worker is not there yet: another runner or process takes the held jobs.
      GiveBackHeld(r, l);
      if (!r.finished.empty()) (void)CommitFinished(r, {}, 0, l);
      continue;
    }
    if (r.held.empty()) {
      // The next claim rides on the commit of the outcomes that wait, if any.
      std::vector<std::string> queues = ReservableTypes();
      const size_t ahead = queues.empty() ? 0 : AheadFor(r);
      if (!r.finished.empty()) {
        auto got = CommitFinished(r, std::move(queues), ahead, l);
        if (ahead > 0) TakeReserved(index, r, std::move(got), l);
      } else if (ahead > 0) {
        l.unlock();
        auto got = store_->Reserve(ReserveFor(std::move(queues), ahead));
        l.lock();
        TakeReserved(index, r, std::move(got), l);
      }
    } else if (!r.finished.empty() &&
               (SinceUs(r.first_finished) > budget_us || !Quick(r.held.front().queue))) {
      // Outcomes do not wait behind a slow job, nor past the budget.
      (void)CommitFinished(r, {}, 0, l);
    }
    if (stopping_) break;
    // Per-type limits are checked before the reserve; another runner may have taken the last
    // slot meanwhile: then the item goes back untouched.
    if (!r.held.empty()) {
      const auto* t = FindTypeLocked(r.held.front().queue);
      if (t && t->concurrency > 0 && running_per_type_[t->name] >= t->concurrency)
        GiveBackHeld(r, l);
    }
    if (r.held.empty()) {
      // A store that does not answer is asked again less and less often (up to 5 s), not
      // every poll_ms from every runner.
      const int64_t pause =
          r.reserve_failures == 0
              ? options_.poll_ms
              : std::min<int64_t>(5000, options_.poll_ms << std::min(r.reserve_failures, 5));
      cv_.wait_for(l, std::chrono::milliseconds(pause),
                   [&] { return stopping_ || wakes_ != seen; });
      seen = wakes_;
      continue;
    }
    const JobTypeInfo* type = FindTypeLocked(r.held.front().queue);
    if (options_.workers > 0 && !(type && type->native)) {
      RunInWorker(index, r, l);
      continue;
    }
    store::Item item = std::move(r.held.front());
    r.held.pop_front();
    const auto started = StartJob(index, item);
    std::shared_ptr<const Observers> observers = observers_;
    l.unlock();
    store::Completion c = RunOne(item, *observers);
    l.lock();
    EndJob(r, std::move(item), std::move(c), started, std::move(observers));
  }
  // Stopping: what was reserved ahead goes back before the outcomes commit, so Drain, which
  // waits for busy == 0, counts it.
  GiveBackHeld(r, l);
  if (!r.finished.empty()) (void)CommitFinished(r, {}, 0, l);
}

std::chrono::steady_clock::time_point Dispatcher::StartJob(int index, store::Item& item) {
  running_per_type_[item.queue]++;
  const auto started = std::chrono::steady_clock::now();
  const int64_t started_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
  running_jobs_[item.id] = {item.id, item.queue, started, index, started_ms};
  if (item.started_ms == 0) {
    // Held until now: the store shows it queued until its outcome records this start, or
    // the heartbeat thread does once it runs past the budget (it is not quick after all).
    const auto due = started + std::chrono::milliseconds(options_.reserve_ahead_ms);
    held_starts_[item.id] = {{store::LeaseOf(item), started_ms}, due};
    if (due < next_look_) {
      next_look_ = due;
      cv_.notify_all();
    }
  }
  item.started_ms = started_ms;  // what on_finished reports (its duration)
  counters_.busy++;
  return started;
}

void Dispatcher::EndJob(RunnerState& r, store::Item item, store::Completion c,
                        std::chrono::steady_clock::time_point started,
                        std::shared_ptr<const Observers> observers) {
  c.started_ms = item.started_ms;  // a job claimed ahead started after its claim
  const double took_us = static_cast<double>(SinceUs(started));
  auto [e, first] = expected_us_.try_emplace(item.queue, took_us);
  if (!first) e->second += (took_us - e->second) / 8;  // a mean of the last few runs
  running_per_type_[item.queue]--;
  running_jobs_.erase(item.id);
  held_starts_.erase(item.id);
  if (r.finished.empty()) r.first_finished = std::chrono::steady_clock::now();
  r.finished.push_back({std::move(item), std::move(c), std::move(observers)});
}

store::Completion Dispatcher::RunOne(const store::Item& item, const Observers& observers) {
  ProgressReportingJob job(store_, item, observers.on_progress);
  const JobTypeInfo* type = FindType(item.queue);
  if (type && type->native) {
    try {
      type->native(job);
    } catch (const std::exception& e) {
      return job.TakeCompletion(std::string("the job's handler threw: ") + e.what());
    } catch (...) {
      return job.TakeCompletion("the job's handler threw");
    }
    return job.TakeCompletion("the job's handler did not report an outcome");
  }
  Limits limits = LimitsOf(type);
  PythonJobRun run = RunPythonJob(pool_, python_config(), generation_, &job, *limits.timeout,
                                  *limits.max_output_bytes);
  return CompletePythonJob(item, job, std::move(run.log), run.timed_out ? "TIMEOUT" : "", run.why);
}

Limits Dispatcher::LimitsOf(const JobTypeInfo* type) const {
  const JobPolicy& p = options_.policy;
  Limits limits{p.default_timeout, p.kill_grace, p.memory_limit_mb, p.max_jobs_per_worker,
                p.max_output_bytes};
  if (!type) return limits;
  limits = limits.Over(type->limits);
  auto section = p.per_type.find(type->name);
  return section == p.per_type.end() ? limits : limits.Over(section->second);
}

Status Dispatcher::CompleteWhenReachable(const store::Item& item, const store::Completion& c,
                                         Status s) {
  log::Warn("job " + item.id + " (" + item.queue + "): its outcome could not be stored: " +
                s.message() + " (trying again with backoff)",
            {{"event", "job_outcome_retry"}, {"job_id", item.id}, {"type", item.queue}});
  const auto give_up =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.lease_ms);
  for (int64_t wait_ms = 100; s.code() == Status::Code::kIOError;
       wait_ms = std::min<int64_t>(wait_ms * 2, 5000)) {
    if (std::chrono::steady_clock::now() + std::chrono::milliseconds(wait_ms) > give_up) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(wait_ms));
    s = store_->Complete(c);
  }
  if (s.ok())
    log::Info("job " + item.id + " (" + item.queue + "): its outcome was stored after a retry",
              {{"event", "job_outcome_stored"}, {"job_id", item.id}});
  return s;
}

store::Completion Dispatcher::RefusedOutcome(const store::Item& item, store::Completion c,
                                             const Status& why) {
  log::Warn("job " + item.id + " (" + item.queue + "): its outcome was refused: " + why.message(),
            {{"event", "job_outcome_refused"}, {"job_id", item.id}, {"type", item.queue}});
  store::Completion failed;
  failed.lease = c.lease;
  failed.started_ms = c.started_ms;
  failed.ok = false;
  failed.exception_type = store::ExceptionType::kBusiness;  // not retried: it would recur
  failed.error_code = "OUTCOME_REFUSED";
  failed.error_message = "the job's outcome was refused: " + why.message();
  return failed;
}

store::Completion Dispatcher::CompletePythonJob(const store::Item& item, StoreJob& job,
                                                std::string log, const std::string& failure_code,
                                                const std::string& why) {
  // The job's captured output becomes its `job.log` file (served by GET .../log). Attached
  // before the completion so a client that saw the job finish finds it; a retry replaces it.
  if (!log.empty()) {
    (void)store_->RemoveFile(item.id, "job.log");
    (void)store_->AddFile(item.id, store::NewFile{"job.log", std::move(log)});
  }
  store::Completion c = job.TakeCompletion(why);
  if (!failure_code.empty()) {
    c.ok = false;
    c.exception_type = store::ExceptionType::kApplication;
    c.error_code = failure_code;
    c.error_message = why;
  }
  return c;
}

StatusOr<std::shared_ptr<worker::WorkerProcess>> Dispatcher::WorkerFor(int runner) {
  uint64_t generation = generation_;
  {
    std::lock_guard<std::mutex> l(mu_);
    auto& w = workers_[runner];
    if (w && w->alive() && w->generation() == generation) return w;
  }
  auto started =
      worker::WorkerProcess::Start({options_.worker_executable, python_config(), generation});
  if (!started.ok()) {
    start_backoff_.Failed(started.status());
    return started.status();
  }
  start_backoff_.Succeeded();
  std::shared_ptr<worker::WorkerProcess> w = std::move(started).value();
  std::shared_ptr<worker::WorkerProcess> old;
  std::lock_guard<std::mutex> l(mu_);
  old.swap(workers_[runner]);  // stopped (destroyed) after the lock is released
  workers_[runner] = w;
  if (stopping_) w->Kill("stopping");
  return w;
}

bool Dispatcher::WorkerReady(int runner, std::unique_lock<std::mutex>& l) {
  const auto& w = workers_[runner];
  if (w && w->alive() && w->generation() == generation_) return true;
  auto not_before = start_backoff_.not_before();
  if (std::chrono::steady_clock::now() < not_before) {
    cv_.wait_until(l, not_before, [&] { return stopping_; });
    return false;
  }
  l.unlock();
  bool ok = WorkerFor(runner).ok();
  l.lock();
  return ok;
}

void Dispatcher::RunInWorker(int runner, RunnerState& r, std::unique_lock<std::mutex>& l) {
  // The run: the front, and the held jobs after it up to a native one. They were claimed as
  // quick (their expected work within the budget), so they wait for each other no longer
  // than they would one message at a time.
  std::vector<store::Item> items;
  std::vector<Limits> limits;
  do {
    const JobTypeInfo* type = FindTypeLocked(r.held.front().queue);
    if (!items.empty() && type && type->native) break;
    limits.push_back(LimitsOf(type));
    items.push_back(std::move(r.held.front()));
    r.held.pop_front();
  } while (!r.held.empty());
  std::shared_ptr<const Observers> observers = observers_;
  l.unlock();
  auto w = WorkerFor(runner);
  // Not past the job after which the worker is replaced (max_runs_per_worker of its type).
  size_t n = w.ok() ? items.size() : 1;
  for (size_t i = 0; w.ok() && i < n; ++i) {
    const int64_t max_runs = *limits[i].max_runs_per_worker;
    if (max_runs > 0 && (*w)->jobs_run() + static_cast<int64_t>(i) + 1 >= max_runs) n = i + 1;
  }
  std::vector<std::unique_ptr<ProgressReportingJob>> jobs;
  std::vector<worker::WorkerProcess::BatchJob> batch;
  for (size_t i = 0; i < n; ++i) {
    jobs.push_back(
        std::make_unique<ProgressReportingJob>(store_, items[i], observers->on_progress));
    worker::RunLimits rl;
    rl.timeout = *limits[i].timeout;
    rl.kill_grace = *limits[i].kill_grace;
    rl.memory_limit_mb = *limits[i].memory_limit_mb;
    rl.max_output_bytes = *limits[i].max_output_bytes;
    batch.push_back({&items[i], rl, jobs[i].get()});
  }
  std::vector<std::chrono::steady_clock::time_point> started(n);
  bool died = false;
  auto on_start = [&](size_t k) {
    std::unique_lock<std::mutex> g(mu_);
    // Started first: the worker runs it already, so Drain (which waits for busy == 0 and then
    // gives back every lease) must never see this runner idle while the commit below runs.
    // A run goes on when the service stops: it is at most about the budget of expected work.
    started[k] = StartJob(runner, items[k]);
    // As between jobs sent one at a time: outcomes do not wait behind a slow job (the last of
    // a run may be), nor past the budget.
    if (!r.finished.empty() &&
        (SinceUs(r.first_finished) > options_.reserve_ahead_ms * 1000 || !Quick(items[k].queue)))
      (void)CommitFinished(r, {}, 0, g);
  };
  auto on_done = [&](size_t k, worker::WorkerRun run) {
    const store::Item& item = items[k];
    if (run.died) {
      died = true;
      log::Warn("worker process " + std::to_string((*w)->pid()) + " running job " + item.id + " (" +
                item.queue + "): " + run.cause + "; it is replaced");
    }
    // A job whose worker died keeps as its log what it printed before.
    const std::string code = run.died ? run.error_code : run.timed_out ? "TIMEOUT" : "";
    store::Completion c =
        CompletePythonJob(item, *jobs[k], std::move(run.log), code, run.died ? run.cause : run.why);
    std::lock_guard<std::mutex> g(mu_);
    EndJob(r, item, std::move(c), started[k], observers);
  };
  size_t ran = 0;
  if (!w.ok()) {
    std::lock_guard<std::mutex> g(mu_);
    started[0] = StartJob(runner, items[0]);
    EndJob(r, items[0], jobs[0]->TakeCompletion("no worker process: " + w.status().message()),
           started[0], observers);
    ran = 1;
  } else {
    ran = (*w)->RunBatch(batch, on_start, on_done);
    // Counted over every type's jobs in the worker, checked after each job of its type.
    const int64_t max_runs = *limits[ran - 1].max_runs_per_worker;
    if (died || (max_runs > 0 && (*w)->jobs_run() >= max_runs)) {
      std::shared_ptr<worker::WorkerProcess> gone;
      std::lock_guard<std::mutex> g(mu_);
      if (workers_[runner] == *w) gone.swap(workers_[runner]);
    }
  }
  l.lock();
  // What did not start goes back to the front, in order (still claimed by this runner).
  for (size_t i = items.size(); i-- > ran;) r.held.push_front(std::move(items[i]));
}

void Dispatcher::HeartbeatLoop() {
  using Clock = std::chrono::steady_clock;
  const auto period = std::chrono::milliseconds(std::max<int64_t>(options_.lease_ms / 3, 50));
  std::unique_lock<std::mutex> l(mu_);
  auto next_beat = Clock::now() + period;
  while (!stopping_) {
    // Wakes for the next beat, or the earliest held start that comes due first (a runner
    // that starts a held job lowers next_look_ and notifies).
    next_look_ = next_beat;
    for (const auto& [id, h] : held_starts_) next_look_ = std::min(next_look_, h.due);
    const auto until = next_look_;
    cv_.wait_until(l, until, [&] { return stopping_ || next_look_ < until; });
    if (stopping_) break;
    const auto now = Clock::now();
    std::vector<store::Start> starts;
    for (auto it = held_starts_.begin(); it != held_starts_.end();) {
      if (it->second.due > now) {
        ++it;
        continue;
      }
      starts.push_back(std::move(it->second.start));
      it = held_starts_.erase(it);
    }
    const bool beat = now >= next_beat;
    std::vector<store::Lease> leases;
    if (beat) {
      for (const auto& [id, lease] : running_) leases.push_back(lease);
      next_beat = now + period;
    }
    l.unlock();
    // A lost lease or an unreachable store only leaves the start to the outcome's commit.
    if (!starts.empty()) (void)store_->RecordStarts(starts);
    if (beat) {
      if (!leases.empty()) store_->HeartbeatBatch(leases, options_.lease_ms);
      auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
      store_->ReapExpired(wall);
    }
    l.lock();
  }
}

int Dispatcher::Drain(std::chrono::milliseconds grace) {
  std::unique_lock<std::mutex> l(mu_);
  if (!started_) return 0;
  stopping_ = true;
  cv_.notify_all();
  cv_.wait_for(l, grace, [&] { return counters_.busy == 0; });
  int given_back = given_back_;
  std::vector<store::Lease> left;
  for (const auto& [id, lease] : running_) left.push_back(lease);
  l.unlock();
  // Given back before any worker is killed, so a killed job's commit is refused (its
  // lease is gone) and the item spends no attempt.
  for (const auto& lease : left)
    if (store_->Unreserve(lease).ok()) ++given_back;
  l.lock();
  if (options_.workers > 0 && counters_.busy > 0) {
    // Worker processes can always be stopped: kill the ones still running a job, so the
    // runners return and the dispatcher ends cleanly whatever the jobs do.
    for (auto& w : workers_)
      if (w) w->Kill("the service is stopping");
    cv_.wait_for(l, std::chrono::seconds(5), [&] { return counters_.busy == 0; });
  }
  bool all_done = counters_.busy == 0;
  l.unlock();
  if (heartbeat_.joinable()) heartbeat_.join();
  if (all_done) {
    for (auto& t : runners_) t.join();
    runners_.clear();
  }
  return given_back;
}

std::vector<Dispatcher::RunningJob> Dispatcher::Running() const {
  std::vector<RunningJob> out;
  {
    std::lock_guard<std::mutex> l(mu_);
    for (const auto& [id, job] : running_jobs_) out.push_back(job);
  }
  std::sort(out.begin(), out.end(),
            [](const RunningJob& a, const RunningJob& b) { return a.started < b.started; });
  return out;
}

int Dispatcher::WorkerPid(int runner) const {
  std::lock_guard<std::mutex> l(mu_);
  if (runner < 0 || static_cast<size_t>(runner) >= workers_.size()) return 0;
  const auto& w = workers_[static_cast<size_t>(runner)];
  return w && w->alive() ? static_cast<int>(w->pid()) : 0;
}

Dispatcher::Counters Dispatcher::counters() const {
  std::lock_guard<std::mutex> l(mu_);
  return counters_;
}

}  // namespace robotni::exec
