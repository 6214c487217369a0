// Runtime: the composition root. Builds and owns a running robotni: the stores, the
// interpreter host and pool, the job dispatcher, robot runs and the HTTP service.
#include "robotni/runtime.h"

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <nlohmann/json.hpp>

#include "config/robot_yaml.h"
#include "config/serve_settings.h"
#include "core/json_limits.h"
#include "core/log.h"
#include "exec/dispatcher.h"
#include "exec/store_job.h"
#include "exec/task_env.h"
#include "exec/work_item_queues.h"
#include "python/interpreter.h"
#include "python/interpreter_pool.h"
#include "python/version.h"
#include "service/http_service.h"
#include "service/lazy_store.h"
#include "service/robot_run.h"

namespace robotni {

namespace fs = std::filesystem;

namespace {

// CPython is one per process: the host is started by the first Runtime that needs it and
// stopped with the last open Runtime (when robotni started it). Every open Runtime counts,
// whether it used Python or not, so CPython is not finalised and started again while one
// lives.
std::mutex g_runtimes_mu;
int g_runtimes = 0;  // guarded by g_runtimes_mu

std::vector<TimelineEvent> ToEvents(std::vector<store::TimelineEntry> timeline) {
  std::vector<TimelineEvent> out;
  out.reserve(timeline.size());
  for (auto& e : timeline)
    out.push_back({e.at_ms, std::move(e.event), e.attempt, std::move(e.message)});
  return out;
}

ItemInfo ToInfo(store::Item it, std::vector<store::TimelineEntry> timeline = {}) {
  ItemInfo out;
  out.id = std::move(it.id);
  out.queue = std::move(it.queue);
  out.state = store::StateName(it.state);
  out.payload_json = std::move(it.payload_json);
  out.result_json = std::move(it.result_json);
  out.exception_type = store::ExceptionTypeName(it.exception_type);
  out.error_code = std::move(it.error_code);
  out.error_message = std::move(it.error_message);
  out.traceback = std::move(it.traceback);
  out.attempt = it.attempt;
  out.max_attempts = it.max_attempts;
  out.priority = it.priority;
  out.parent_id = std::move(it.parent_id);
  out.idempotency_key = std::move(it.idempotency_key);
  out.meta_json = std::move(it.meta_json);
  out.created_ms = it.created_ms;
  out.started_ms = it.started_ms;
  out.finished_ms = it.finished_ms;
  out.not_before_ms = it.not_before_ms;
  out.updated_ms = it.updated_ms;
  out.lease_owner = std::move(it.lease_owner);
  out.lease_expires_ms = it.lease_expires_ms;
  out.lease_token = it.lease_token;
  out.cancel_requested = it.cancel_requested;
  for (auto& f : it.files) {
    out.files.push_back(f.name);
    out.file_details.push_back({std::move(f.name), f.size, std::move(f.sha256)});
  }
  out.timeline = ToEvents(std::move(timeline));
  return out;
}

store::NewItem ToNewItem(const EnqueueRequest& request) {
  store::NewItem item;
  item.queue = request.queue;
  item.payload_json = request.payload_json.empty() ? "{}" : request.payload_json;
  item.priority = request.priority;
  item.not_before_ms = request.run_at_ms;
  item.max_attempts = request.max_attempts;
  item.idempotency_key = request.idempotency_key;
  for (const auto& [name, content] : request.files) item.files.push_back({name, content});
  return item;
}

// A job handed to host code: the store-backed job behind the public Job.
class HostJob : public Job {
 public:
  explicit HostJob(exec::StoreJob& job) : job_(job) {}
  const std::string& id() const override { return job_.item().id; }
  const std::string& type() const override { return job_.item().queue; }
  const std::string& payload_json() const override { return job_.item().payload_json; }
  int attempt() const override { return job_.item().attempt; }
  bool IsCancelled() override {
    auto c = job_.IsCancelled();
    return c.ok() && *c;
  }
  Status Progress(std::string_view message) override { return job_.Progress(std::string(message)); }

 private:
  exec::StoreJob& job_;
};

// The serve settings file's shape, from the public options.
config::ServeFlags ToServeFlags(const RuntimeOptions& r, const std::string& robot,
                                const ServeOptions& s) {
  config::ServeFlags f;
  f.robot = robot;
  f.listen = s.listen;
  f.store = r.store;
  f.types = r.types;
  f.jobs = r.job_modules;
  f.concurrency = r.concurrency;
  f.grace = s.grace;
  f.isolation = r.isolation;
  f.durability = r.durability;
  f.workers = r.workers;
  f.job_timeout = r.job_timeout;
  f.kill_grace = r.kill_grace;
  f.lease = r.lease_seconds;
  f.reserve_ahead = r.reserve_ahead_seconds;
  f.memory_limit = static_cast<int>(r.memory_limit_mb);
  f.max_jobs_per_worker = r.max_jobs_per_worker;
  f.max_output = static_cast<int>(r.max_output_bytes);
  f.job_types = r.job_type_limits;
  f.max_payload = static_cast<int>(r.max_payload_bytes);
  f.token_file = s.token_file;
  f.no_auth = s.no_auth;
  f.rate_limit = s.rate_limit;
  f.public_metrics = s.public_metrics;
  f.access_log = s.access_log;
  f.tasks = r.consumer_tasks;
  f.task_timeout = r.consumer_task_timeout;
  f.webhook_secret = s.webhook_secret;
  f.webhook_max_attempts = s.webhook_max_attempts;
  f.webhook_timeout = s.webhook_timeout;
  f.webhook_allow = s.webhook_allow;
  f.log_format = r.log_format;
  f.log_level = r.log_level;
  f.config = s.config_file;
  // Schedules have no flag or option: only the file has them (`robotni serve` checked it
  // before; a file that no longer reads leaves serve with the decorators' schedules).
  if (!s.config_file.empty()) {
    config::ServeFlags from_file;
    if (config::ApplyServeConfig(s.config_file, {}, &from_file).ok())
      f.schedules = std::move(from_file.schedules);
  }
  return f;
}

class RuntimeImpl : public Runtime {
 public:
  explicit RuntimeImpl(RuntimeOptions options)
      : options_(std::move(options)),
        stores_(options_.create_store_if_missing, options_.durability == "full",
                options_.max_payload_bytes) {}
  ~RuntimeImpl() override { (void)Close(); }

  Status Init();
  Status Close() override;
  StatusOr<TaskOutcome> Run(const RunOptions& options) override;
  void Interrupt() override;
  StatusOr<std::string> Enqueue(const EnqueueRequest& request) override;
  StatusOr<ItemInfo> Get(const std::string& id) override;
  StatusOr<ItemInfo> Wait(const std::string& id, double timeout_seconds) override;
  Status Cancel(const std::string& id) override;
  StatusOr<std::vector<std::string>> Import(const std::vector<ImportRequest>& items) override;
  StatusOr<std::vector<std::string>> EnqueueBatch(
      const std::vector<EnqueueRequest>& requests) override;
  std::string StoreUrl() override { return store_url_; }
  Status OpenStore() override { return Store().status(); }
  StatusOr<std::vector<ItemInfo>> List(const ListRequest& request) override;
  StatusOr<std::vector<QueueStats>> Stats(const std::string& queue) override;
  StatusOr<std::vector<TimelineEvent>> Timeline(const std::string& id) override;
  StatusOr<std::string> GetFile(const std::string& id, const std::string& name) override;
  Status Retry(const std::string& id) override;
  StatusOr<int64_t> Flush(const std::string& queue) override;
  StatusOr<int64_t> Prune(int64_t finished_before_ms) override;
  Status RegisterJobType(const std::string& type, JobHandler handler,
                         const JobTypeOptions& options) override;
  std::vector<std::string> JobTypes() override;
  StatusOr<std::string> StartServing(const ServeOptions& options) override;
  Status StopServing() override;
  Status Serve(const ServeOptions& options,
               std::function<void(const std::string& address)> on_listening) override;
  StatusOr<std::string> ServeOnHostLoop(const ServeOptions& options) override;
  int BackendFd() override;
  int BackendTimeout() override;
  bool RunLoopOnce() override;

 private:
  StatusOr<store::WorkItemStore*> Store() { return stores_.Get(store_url_); }
  // Starts CPython on first need (no-op once started): a runtime that only manages work
  // items never starts it.
  Status EnsureInterpreterHost();
  void WakeDispatcher();
  // Whether `queue` names a job type this runtime runs now: Enqueue makes a job of it (the
  // job API shows it), else a work item.
  bool ServesJobType(const std::string& queue);
  StatusOr<exec::Dispatcher*> EnsureDispatcher();
  void RetireDispatcher(bool restart);
  StatusOr<std::unique_ptr<service::HttpService>> MakeService(const ServeOptions& options);

  RuntimeOptions options_;
  // The job modules the dispatcher imports: options_.job_modules, else robot.yaml's `jobs:`.
  std::vector<std::string> job_modules_;
  config::RobotYaml robot_;
  bool has_robot_ = false;
  exec::Environment env_;  // host + robot.yaml
  std::string store_flag_, store_url_, owner_;
  python::Interpreter::Kind kind_ = python::Interpreter::Kind::kSubinterpreter;
  bool counted_ = false;  // among g_runtimes; guarded by g_runtimes_mu
  service::StoreSet stores_;

  std::mutex mu_;  // guards the lazily made parts below
  bool closed_ = false;
  bool closing_ = false;  // Close has begun: no new dispatcher
  std::unique_ptr<python::InterpreterPool> pool_;
  std::unique_ptr<exec::Dispatcher> dispatcher_;
  std::vector<exec::JobTypeInfo> host_types_;  // registered by the host; survive a new dispatcher

  std::mutex run_mu_;  // one robot run at a time
  std::unique_ptr<service::RobotRun> run_;
  std::mutex interrupt_mu_;               // taken inside run_mu_, never the other way
  service::RobotRun* running_ = nullptr;  // interrupt_mu_; run_ while Run runs

  std::mutex serve_mu_;
  std::unique_ptr<service::HttpService> http_;
  std::thread serve_thread_;
};

Status RuntimeImpl::Init() {
  if (options_.log) {
    LogSink sink = options_.log;
    log::SetSink(
        [sink](log::Level level, std::string_view line) { sink(log::LevelName(level), line); });
  }
  log::Format format;
  log::Level level;
  if (!log::ParseFormat(options_.log_format, &format))
    return Status::InvalidArgument("log_format: expected text or json, got '" +
                                   options_.log_format + "'");
  if (!log::ParseLevel(options_.log_level, &level))
    return Status::InvalidArgument("log_level: expected debug, info, warn or error, got '" +
                                   options_.log_level + "'");
  log::SetFormat(format);
  log::SetLevel(level);
  if (options_.concurrency <= 0) return Status::InvalidArgument("concurrency: must be at least 1");
  if (options_.durability != "fast" && options_.durability != "full")
    return Status::InvalidArgument("durability: expected fast or full, got '" +
                                   options_.durability + "'");

  if (!options_.robot.empty()) {
    auto robot = config::LoadRobotYaml(options_.robot);
    if (!robot.ok()) return Status::NotFound(robot.status().message());
    ROBOTNI_RETURN_IF_ERROR(config::ValidateRobotYaml(*robot));
    for (const auto& w : robot->warnings) log::Warn(w);
    robot_ = std::move(robot).value();
    has_robot_ = true;
  } else {
    std::error_code ec;
    robot_.root = fs::current_path(ec);
    robot_.path = robot_.root / "robot.yaml";
    robot_.artifacts_dir = "output";
  }
  // --jobs (or the host's list) replaces robot.yaml's; robot.yaml's are imported when the
  // runtime first runs jobs (serving, a registered type), never for a robot run alone.
  job_modules_ = options_.job_modules.empty() ? robot_.job_modules : options_.job_modules;
  if (!options_.isolation.empty())
    robot_.isolation = options_.isolation;
  else if (robot_.isolation_line == 0 && !options_.default_isolation.empty())
    robot_.isolation = options_.default_isolation;
  if (robot_.isolation != "subinterpreter" && robot_.isolation != "main" &&
      robot_.isolation != "process")
    return Status::InvalidArgument("isolation: expected process, subinterpreter or main, got '" +
                                   robot_.isolation + "'");
  if (options_.workers < 0)
    return Status::InvalidArgument("workers: must be 0 (one per core) or more");
  kind_ = robot_.isolation == "main" ? python::Interpreter::Kind::kMain
                                     : python::Interpreter::Kind::kSubinterpreter;
  {
    std::lock_guard<std::mutex> l(g_runtimes_mu);
    ++g_runtimes;
    counted_ = true;
  }
  exec::EnvBuilder env(exec::EnvBuilder::ProcessEnvironment());
  env.ApplyRobot(robot_);
  env_ = env.Build();
  store_flag_ = options_.store;
  if (!store_flag_.empty() && store_flag_.find("://") == std::string::npos)
    store_flag_ = fs::absolute(store_flag_).string();
  store_url_ = exec::DefaultStoreUrl(robot_, env, store_flag_);
  owner_ = options_.owner.empty() ? service::NewOwner() : options_.owner;
  if (!options_.job_modules.empty() || !options_.consumer_tasks.empty()) {
    auto d = EnsureDispatcher();
    if (!d.ok()) return d.status();
  }
  return Status::OK();
}

Status RuntimeImpl::EnsureInterpreterHost() {
  std::lock_guard<std::mutex> l(g_runtimes_mu);
  return python::InterpreterHost::Start();  // idempotent
}

bool RuntimeImpl::ServesJobType(const std::string& queue) {
  std::lock_guard<std::mutex> l(mu_);
  return dispatcher_ && dispatcher_->FindType(queue) != nullptr;
}

void RuntimeImpl::WakeDispatcher() {
  std::lock_guard<std::mutex> l(mu_);
  if (dispatcher_) dispatcher_->Wake();
}

StatusOr<exec::Dispatcher*> RuntimeImpl::EnsureDispatcher() {
  std::lock_guard<std::mutex> l(mu_);
  if (closed_) return Status::Cancelled("the runtime is closed");
  if (dispatcher_) return dispatcher_.get();
  ROBOTNI_RETURN_IF_ERROR(EnsureInterpreterHost());
  auto st = Store();
  if (!st.ok()) return st.status();
  int tasks = static_cast<int>(options_.consumer_tasks.size());
  pool_ = std::make_unique<python::InterpreterPool>(
      python::InterpreterPool::Options{options_.concurrency, options_.concurrency + 1 + tasks});
  exec::DispatcherOptions d;
  d.python.robot_key = robot_.root.string();
  d.python.robot_root = robot_.root.string();
  d.python.job_modules = job_modules_;
  for (const auto& p : robot_.AbsolutePythonPath()) d.python.sys_path.push_back(p.string());
  if (d.python.sys_path.empty()) d.python.sys_path.push_back(robot_.root.string());
  for (const auto& [k, v] : env_) d.python.environ_keys_values.push_back(k + "=" + v);
  d.type_filters = options_.types;
  d.concurrency = options_.concurrency;
  d.owner = owner_;
  d.lease_ms = std::llround(options_.lease_seconds * 1000);
  d.reserve_ahead_ms = std::llround(options_.reserve_ahead_seconds * 1000);
  d.python.kind = kind_;
  if (robot_.isolation == "process")
    d.workers =
        options_.workers > 0 ? options_.workers : std::max(1u, std::thread::hardware_concurrency());
  d.worker_executable = options_.worker_executable;
  d.policy.default_timeout = options_.job_timeout;
  d.policy.kill_grace = options_.kill_grace;
  d.policy.memory_limit_mb = options_.memory_limit_mb;
  d.policy.max_jobs_per_worker = options_.max_jobs_per_worker;
  d.policy.max_output_bytes = options_.max_output_bytes;
  d.policy.per_type = options_.job_type_limits;
  auto dispatcher = std::make_unique<exec::Dispatcher>(*st, pool_.get(), std::move(d));
  if (!job_modules_.empty()) ROBOTNI_RETURN_IF_ERROR(dispatcher->LoadJobTypes());
  for (const auto& t : host_types_) ROBOTNI_RETURN_IF_ERROR(dispatcher->RegisterNativeType(t));
  dispatcher->Start();
  dispatcher_ = std::move(dispatcher);
  return dispatcher_.get();
}

Status RuntimeImpl::Close() {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (closed_ || closing_) return Status::OK();
    closing_ = true;
  }
  Status s = StopServing();
  {
    std::lock_guard<std::mutex> l(serve_mu_);
    http_.reset();  // a service driven by the host's loop that did not stop: closed here
  }
  std::unique_ptr<exec::Dispatcher> dispatcher;
  std::unique_ptr<python::InterpreterPool> pool;
  {
    std::lock_guard<std::mutex> l(mu_);
    closed_ = true;
    dispatcher = std::move(dispatcher_);
    pool = std::move(pool_);
  }
  dispatcher.reset();  // unfinished jobs go back to the queue
  {
    std::lock_guard<std::mutex> l(run_mu_);
    stores_.CloseInBackground();  // overlaps ending the interpreters
    run_.reset();
  }
  pool.reset();
  {
    std::lock_guard<std::mutex> l(g_runtimes_mu);
    if (counted_ && --g_runtimes == 0) python::InterpreterHost::Stop();  // if started
    counted_ = false;
  }
  if (options_.log) log::SetSink({});  // the host's sink may not outlive this runtime
  return s;
}

void RuntimeImpl::Interrupt() {
  std::lock_guard<std::mutex> l(interrupt_mu_);
  if (running_) running_->Interrupt();
}

StatusOr<TaskOutcome> RuntimeImpl::Run(const RunOptions& options) {
  if (!has_robot_) return Status::InvalidArgument("this runtime was opened without a robot.yaml");
  std::lock_guard<std::mutex> l(run_mu_);
  {
    std::lock_guard<std::mutex> c(mu_);
    if (closed_) return Status::Cancelled("the runtime is closed");
  }
  ROBOTNI_RETURN_IF_ERROR(EnsureInterpreterHost());
  if (!run_) run_ = std::make_unique<service::RobotRun>(robot_, &stores_, store_flag_, owner_);
  {
    std::lock_guard<std::mutex> i(interrupt_mu_);
    running_ = run_.get();
  }
  TaskOutcome out = run_->Run(options);
  std::lock_guard<std::mutex> i(interrupt_mu_);
  running_ = nullptr;
  return out;
}

StatusOr<std::string> RuntimeImpl::Enqueue(const EnqueueRequest& request) {
  if (request.queue.empty())
    return Status::InvalidArgument("enqueue: a queue or job type is needed");
  auto st = Store();
  if (!st.ok()) return st.status();
  store::NewItem item = ToNewItem(request);
  if (ServesJobType(request.queue)) item.kind = store::Kind::kJob;
  auto id = (*st)->Create(item);
  if (id.ok()) WakeDispatcher();
  return id;
}

StatusOr<std::vector<std::string>> RuntimeImpl::EnqueueBatch(
    const std::vector<EnqueueRequest>& requests) {
  std::vector<store::NewItem> items;
  items.reserve(requests.size());
  for (size_t i = 0; i < requests.size(); ++i) {
    if (requests[i].queue.empty())
      return Status::InvalidArgument("enqueue: items[" + std::to_string(i) +
                                     "]: a queue or job type is needed");
    items.push_back(ToNewItem(requests[i]));
    if (ServesJobType(requests[i].queue)) items.back().kind = store::Kind::kJob;
  }
  if (items.empty()) return std::vector<std::string>{};
  auto st = Store();
  if (!st.ok()) return st.status();
  auto ids = (*st)->CreateBatch(items);
  if (ids.ok()) WakeDispatcher();
  return ids;
}

StatusOr<std::vector<std::string>> RuntimeImpl::Import(const std::vector<ImportRequest>& items) {
  std::vector<store::ImportedItem> rows;
  rows.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    const ImportRequest& r = items[i];
    const std::string where = "import: items[" + std::to_string(i) + "]: ";
    if (r.item.queue.empty()) return Status::InvalidArgument(where + "a queue is needed");
    auto state = ParseItemState(r.state);
    if (!state.ok()) return Status::InvalidArgument(where + state.status().message());
    store::ImportedItem row;
    row.item = ToNewItem(r.item);
    row.item.meta_json = r.meta_json;
    row.parent_index = r.parent_index;
    row.state = store::ParseState(*state).value_or(store::State::kPending);
    if (row.state == store::State::kFailed) {
      row.exception_type = r.exception_type == "BUSINESS" ? store::ExceptionType::kBusiness
                                                          : store::ExceptionType::kApplication;
      if (!r.exception_type.empty() && r.exception_type != "BUSINESS" &&
          r.exception_type != "APPLICATION")
        return Status::InvalidArgument(where + "exception_type '" + r.exception_type +
                                       "' is not BUSINESS or APPLICATION");
    }
    row.error_code = r.error_code;
    row.error_message = r.error_message;
    row.attempt = r.attempt;
    row.created_ms = r.created_ms;
    row.started_ms = r.started_ms;
    row.finished_ms = r.finished_ms;
    row.note = r.note;
    rows.push_back(std::move(row));
  }
  if (rows.empty()) return std::vector<std::string>{};
  auto st = Store();
  if (!st.ok()) return st.status();
  auto ids = (*st)->Import(rows);
  if (ids.ok()) WakeDispatcher();
  return ids;
}

StatusOr<std::vector<ItemInfo>> RuntimeImpl::List(const ListRequest& request) {
  store::ListFilter filter;
  filter.queue = request.queue;
  if (!request.state.empty()) {
    auto state = ParseItemState(request.state);
    if (!state.ok()) return state.status();
    filter.state = store::ParseState(*state);
  }
  if (request.limit < 0 || request.offset < 0)
    return Status::InvalidArgument("list: limit and offset must not be negative");
  filter.limit = request.limit;
  filter.offset = request.offset;
  filter.newest_first = request.newest_first;
  auto st = Store();
  if (!st.ok()) return st.status();
  auto items = (*st)->List(filter);
  if (!items.ok()) return items.status();
  std::vector<ItemInfo> out;
  out.reserve(items->size());
  for (auto& it : *items) out.push_back(ToInfo(std::move(it)));
  return out;
}

StatusOr<std::vector<QueueStats>> RuntimeImpl::Stats(const std::string& queue) {
  auto st = Store();
  if (!st.ok()) return st.status();
  auto stats = (*st)->Stats(queue);
  if (!stats.ok()) return stats.status();
  std::vector<QueueStats> out;
  out.reserve(stats->size());
  for (const auto& q : *stats)
    out.push_back(
        {q.queue, q.pending + q.held, q.scheduled, q.reserved, q.done, q.failed, q.cancelled});
  return out;
}

StatusOr<std::vector<TimelineEvent>> RuntimeImpl::Timeline(const std::string& id) {
  auto st = Store();
  if (!st.ok()) return st.status();
  auto timeline = (*st)->Timeline(id);
  if (!timeline.ok()) return timeline.status();
  return ToEvents(std::move(timeline).value());
}

StatusOr<std::string> RuntimeImpl::GetFile(const std::string& id, const std::string& name) {
  auto st = Store();
  if (!st.ok()) return st.status();
  return (*st)->GetFile(id, name);
}

Status RuntimeImpl::Retry(const std::string& id) {
  auto st = Store();
  if (!st.ok()) return st.status();
  Status s = (*st)->Retry(id);
  if (s.ok()) WakeDispatcher();
  return s;
}

StatusOr<int64_t> RuntimeImpl::Flush(const std::string& queue) {
  if (queue.empty()) return Status::InvalidArgument("flush: a queue is needed");
  auto st = Store();
  if (!st.ok()) return st.status();
  return (*st)->Flush(queue);
}

StatusOr<int64_t> RuntimeImpl::Prune(int64_t finished_before_ms) {
  auto st = Store();
  if (!st.ok()) return st.status();
  return (*st)->Prune(finished_before_ms);
}

StatusOr<ItemInfo> RuntimeImpl::Get(const std::string& id) {
  auto st = Store();
  if (!st.ok()) return st.status();
  auto item = (*st)->Get(id);
  if (!item.ok()) return item.status();
  auto timeline = (*st)->Timeline(id);
  return ToInfo(std::move(item).value(),
                timeline.ok() ? std::move(timeline).value() : std::vector<store::TimelineEntry>{});
}

StatusOr<ItemInfo> RuntimeImpl::Wait(const std::string& id, double timeout_seconds) {
  auto st = Store();
  if (!st.ok()) return st.status();
  // Polls the store: the item may be finished by another process sharing it. Short sleeps
  // first (a warm job takes well under a millisecond), then up to 20 ms.
  auto deadline = std::chrono::steady_clock::now() +
                  std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                      std::chrono::duration<double>(std::max(0.0, timeout_seconds)));
  auto pause = std::chrono::microseconds(200);
  for (;;) {
    auto item = (*st)->Get(id);
    if (!item.ok()) return item.status();
    bool done = item->state == store::State::kDone || item->state == store::State::kFailed ||
                item->state == store::State::kCancelled;
    if (done || std::chrono::steady_clock::now() >= deadline) return Get(id);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(20000));
  }
}

Status RuntimeImpl::Cancel(const std::string& id) {
  auto st = Store();
  if (!st.ok()) return st.status();
  return (*st)->Cancel(id);
}

Status RuntimeImpl::RegisterJobType(const std::string& type, JobHandler handler,
                                    const JobTypeOptions& options) {
  if (!handler) return Status::InvalidArgument("job type '" + type + "': no handler");
  exec::JobTypeInfo info;
  info.name = type;
  info.concurrency = options.concurrency;
  info.max_attempts = options.max_attempts;
  info.doc = options.doc;
  info.module = "(host)";
  info.schema = nlohmann::json::object({{"type", "object"}});
  if (!options.schema_json.empty()) {
    auto schema = nlohmann::json::parse(options.schema_json, nullptr, false);
    if (schema.is_discarded() || !schema.is_object())
      return Status::InvalidArgument("job type '" + type + "': schema is not a JSON object");
    info.schema = std::move(schema);
  }
  info.native = [handler = std::move(handler)](exec::StoreJob& job) {
    HostJob host_job(job);
    std::string result;
    Status s = handler(host_job, &result);
    if (s.ok()) {
      if (result.empty()) result = "null";
      std::string why = JsonDepthProblem(result);
      if (why.empty()) return job.SetResult(std::move(result));
      s = Status::InvalidArgument("the handler's result " + why);
    }
    job.SetFailure(s.IsInvalidArgument() ? store::ExceptionType::kBusiness
                                         : store::ExceptionType::kApplication,
                   Status::CodeName(s.code()), s.message(), "");
  };
  auto d = EnsureDispatcher();
  if (!d.ok()) return d.status();
  ROBOTNI_RETURN_IF_ERROR((*d)->RegisterNativeType(info));
  std::lock_guard<std::mutex> l(mu_);
  host_types_.push_back(std::move(info));
  return Status::OK();
}

std::vector<std::string> RuntimeImpl::JobTypes() {
  std::lock_guard<std::mutex> l(mu_);
  std::vector<std::string> out;
  if (dispatcher_)
    for (const auto& t : dispatcher_->types()) out.push_back(t.name);
  return out;
}

StatusOr<std::unique_ptr<service::HttpService>> RuntimeImpl::MakeService(
    const ServeOptions& options) {
  auto d = EnsureDispatcher();
  if (!d.ok()) return d.status();
  std::vector<std::string> known;
  if (auto unmatched = (*d)->UnmatchedTypeFilters(&known); !unmatched.empty()) {
    std::string list;
    for (const auto& n : known) list += (list.empty() ? "" : ", ") + n;
    return Status::InvalidArgument("types: '" + unmatched.front() +
                                   "' matches no job type; the job types are: " +
                                   (list.empty() ? "none (no job modules loaded)" : list));
  }
  auto st = Store();
  if (!st.ok()) return st.status();
  config::ServeFlags settings =
      ToServeFlags(options_, has_robot_ ? robot_.path.string() : "", options);
  if (!options.config_file.empty()) {
    // The file's `http:` limits have no flag nor ServeOptions field: read them from it here.
    config::ServeFlags file;
    ROBOTNI_RETURN_IF_ERROR(config::ApplyServeConfig(options.config_file, {}, &file));
    settings.header_timeout = file.header_timeout;
    settings.request_timeout = file.request_timeout;
    settings.max_connections_per_client = file.max_connections_per_client;
    settings.max_request_bytes = file.max_request_bytes;
    settings.max_unsent_bytes = file.max_unsent_bytes;
    settings.auth_failures_per_minute = file.auth_failures_per_minute;
  }
  ROBOTNI_RETURN_IF_ERROR(config::ValidateServeFlags(settings));
  service::HttpServiceParts parts;
  parts.store = *st;
  parts.store_url = store_url_;
  parts.dispatcher = *d;
  parts.pool = pool_.get();
  parts.robot = &robot_;
  parts.env = env_;
  parts.owner = owner_;
  parts.kind = kind_;
  parts.tokens = options.tokens;
  parts.handle_signals = options.handle_signals;
  std::set<std::string> given(options.command_line_keys.begin(), options.command_line_keys.end());
  return service::HttpService::Create(std::move(parts), settings, given);
}

StatusOr<std::string> RuntimeImpl::StartServing(const ServeOptions& options) {
  std::lock_guard<std::mutex> l(serve_mu_);
  if (http_) return Status::Busy("the runtime is already serving on " + http_->address());
  auto made = MakeService(options);
  if (!made.ok()) return made.status();
  http_ = std::move(made).value();
  service::HttpService* service = http_.get();
  serve_thread_ = std::thread([service] { service->Run(); });
  return http_->address();
}

Status RuntimeImpl::StopServing() {
  std::lock_guard<std::mutex> l(serve_mu_);
  if (http_ && !serve_thread_.joinable()) {  // the host's loop drives it: it sees the end
    http_->RequestStop();
    return Status::OK();
  }
  if (!serve_thread_.joinable()) return Status::OK();
  http_->RequestStop();
  serve_thread_.join();
  http_.reset();
  RetireDispatcher(/*restart=*/true);
  return Status::OK();
}

void RuntimeImpl::RetireDispatcher(bool restart) {
  // Stopping the service drained the dispatcher for good. After StopServing (unless the
  // runtime is closing), a new one runs the job types (the host's registered again), so
  // jobs keep running; after Serve returned (a signal drained the service) they stay stopped.
  bool serves_types;
  {
    std::unique_ptr<exec::Dispatcher> drained;
    std::lock_guard<std::mutex> l(mu_);
    drained = std::move(dispatcher_);
    serves_types = restart && !closing_ && (!job_modules_.empty() || !host_types_.empty());
  }
  if (serves_types) {
    auto d = EnsureDispatcher();
    if (!d.ok()) log::Error("cannot restart the job runners: " + d.status().message());
  }
}

Status RuntimeImpl::Serve(const ServeOptions& options,
                          std::function<void(const std::string& address)> on_listening) {
  std::unique_ptr<service::HttpService> service;
  {
    std::lock_guard<std::mutex> l(serve_mu_);
    if (http_) return Status::Busy("the runtime is already serving on " + http_->address());
    auto made = MakeService(options);
    if (!made.ok()) return made.status();
    service = std::move(made).value();
  }
  if (on_listening) on_listening(service->address());
  service->Run();
  service.reset();
  RetireDispatcher(/*restart=*/false);
  return Status::OK();
}

StatusOr<std::string> RuntimeImpl::ServeOnHostLoop(const ServeOptions& options) {
  std::lock_guard<std::mutex> l(serve_mu_);
  if (http_) return Status::Busy("the runtime is already serving on " + http_->address());
  auto made = MakeService(options);
  if (!made.ok()) return made.status();
  http_ = std::move(made).value();
  return http_->address();
}

int RuntimeImpl::BackendFd() {
  return http_ && !serve_thread_.joinable() ? http_->BackendFd() : -1;
}

int RuntimeImpl::BackendTimeout() {
  return http_ && !serve_thread_.joinable() ? http_->BackendTimeout() : -1;
}

bool RuntimeImpl::RunLoopOnce() {
  if (!http_ || serve_thread_.joinable()) return false;
  if (http_->RunOnce()) return true;
  http_.reset();  // stopped: closed on the host's loop thread, which drove it
  RetireDispatcher(/*restart=*/true);
  return false;
}

}  // namespace

Runtime::~Runtime() = default;

StatusOr<std::unique_ptr<Runtime>> Runtime::Open(const RuntimeOptions& options) {
  auto rt = std::make_unique<RuntimeImpl>(options);
  if (Status s = rt->Init(); !s.ok()) return s;
  return std::unique_ptr<Runtime>(std::move(rt));
}

StatusOr<TaskOutcome> Runtime::RunTask(const std::string& name,
                                       const std::map<std::string, std::string>& env) {
  RunOptions o;
  o.tasks = {name};
  o.env = env;
  return Run(o);
}

StatusOr<std::string> ParseItemState(std::string_view name) {
  auto state = store::ParseState(name);
  if (!state)
    return Status::InvalidArgument("unknown state '" + std::string(name) +
                                   "' (expected PENDING, RESERVED, DONE, FAILED or CANCELLED)");
  return std::string(store::StateName(*state));
}

Status ValidateItemFileName(const std::string& name) { return store::ValidateFileName(name); }

std::string DefaultStoreUrl(const std::string& robot) {
  std::error_code ec;
  config::RobotYaml r;
  r.root = robot.empty() ? fs::current_path(ec)
                         : fs::absolute(robot, ec).lexically_normal().parent_path();
  exec::EnvBuilder env(exec::EnvBuilder::ProcessEnvironment());
  return exec::DefaultStoreUrl(r, env, "");
}

std::string ItemInfo::ToJson() const {
  auto parse = [](const std::string& s) {
    if (s.empty()) return nlohmann::json(nullptr);
    nlohmann::json j;  // invalid or too deep: kept as text, never copied deep
    return ParseJsonWithin(s, &j) ? j : nlohmann::json(s);
  };
  nlohmann::json details = nlohmann::json::array();
  for (const auto& f : file_details)
    details.push_back({{"name", f.name}, {"size", f.size}, {"sha256", f.sha256}});
  nlohmann::json j = {{"id", id},
                      {"queue", queue},
                      {"state", state},
                      {"payload", parse(payload_json)},
                      {"result", parse(result_json)},
                      {"meta", parse(meta_json)},
                      {"attempt", attempt},
                      {"max_attempts", max_attempts},
                      {"priority", priority},
                      {"created_ms", created_ms},
                      {"started_ms", started_ms},
                      {"finished_ms", finished_ms},
                      {"not_before_ms", not_before_ms},
                      {"updated_ms", updated_ms},
                      {"lease_expires_ms", lease_expires_ms},
                      {"lease_token", lease_token},
                      {"cancel_requested", cancel_requested},
                      {"files", files},
                      {"file_details", std::move(details)}};
  if (!parent_id.empty()) j["parent_id"] = parent_id;
  if (!idempotency_key.empty()) j["idempotency_key"] = idempotency_key;
  if (!lease_owner.empty()) j["lease_owner"] = lease_owner;
  if (!exception_type.empty() || !error_message.empty())
    j["error"] = {{"type", exception_type},
                  {"code", error_code},
                  {"message", error_message},
                  {"traceback", traceback}};
  else
    j["error"] = nullptr;
  nlohmann::json tl = nlohmann::json::array();
  for (const auto& e : timeline)
    tl.push_back(
        {{"at_ms", e.at_ms}, {"event", e.event}, {"attempt", e.attempt}, {"message", e.message}});
  j["timeline"] = std::move(tl);
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string Runtime::VersionString() {
  python::VersionReport v = python::VersionInfo();
  return "robotni " + v.robotni + "; Python " + v.python + "; SQLite " + v.sqlite + "; packages " +
         (v.packages.ok() ? v.packages->dir.string() : "not found");
}

}  // namespace robotni
