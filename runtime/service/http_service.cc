#include "service/http_service.h"

#include <unistd.h>

#include <cmath>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "api/api_util.h"
#include "api/auth.h"
#include "api/dashboard_api.h"
#include "api/health_api.h"
#include "api/job_types_api.h"
#include "api/job_webhooks.h"
#include "api/jobs_api.h"
#include "api/metrics.h"
#include "api/openapi.h"
#include "api/queues_api.h"
#include "api/schedules_api.h"
#include "api/status_api.h"
#include "api/throughput.h"
#include "api/work_items_api.h"
#include "core/log.h"
#include "exec/work_queue.h"
#include "http/server.h"
#include "loop/signal_watcher.h"
#include "loop/uv_handle.h"
#include "service/serve_reload.h"
#include "service/serve_schedules.h"
#include "service/serve_tasks.h"

namespace robotni::service {

namespace fs = std::filesystem;

namespace {

bool SplitHostPort(const std::string& s, std::string* host, int* port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos) return false;
  *host = s.substr(0, colon);
  if (host->size() >= 2 && host->front() == '[' && host->back() == ']')
    *host = host->substr(1, host->size() - 2);
  char* end = nullptr;
  long p = strtol(s.c_str() + colon + 1, &end, 10);
  if (*end != '\0' || p < 0 || p > 65535) return false;
  *port = static_cast<int>(p);
  return !host->empty();
}

// `self_port`: serve's own port, which webhooks never reach.
http::WebhookOptions WebhookSettings(const config::ServeFlags& flags, int self_port) {
  http::WebhookOptions o;
  // ValidateServeFlags checked the entries.
  if (auto policy = http::AddressPolicy::Make(flags.webhook_allow); policy.ok())
    o.policy = std::move(policy).value();
  o.policy.set_self_port(self_port);
  o.secret = flags.webhook_secret;
  o.max_attempts = flags.webhook_max_attempts;
  o.timeout_ms = static_cast<uint64_t>(flags.webhook_timeout * 1000);
  return o;
}

void ApplyLogSettings(const config::ServeFlags& flags) {
  log::Format format;
  log::Level level;
  if (log::ParseFormat(flags.log_format, &format)) log::SetFormat(format);
  if (log::ParseLevel(flags.log_level, &level)) log::SetLevel(level);
}

std::vector<std::string> TypeNames(const exec::Dispatcher& d) {
  std::vector<std::string> out;
  for (const auto& t : d.types()) out.push_back(t.name);
  return out;
}

// Tokens given as values and from the token file and ROBOTNI_TOKENS; with none, the token in
// <data dir>/api-token (created on first use).
StatusOr<std::unique_ptr<api::Auth>> MakeAuth(const config::ServeFlags& flags,
                                              const std::vector<std::string>& tokens,
                                              const std::string& store_url,
                                              const fs::path& robot_root) {
  api::AuthOptions aopts;
  aopts.enabled = !flags.no_auth;
  aopts.rate_limit = flags.rate_limit;
  aopts.metrics_open = flags.public_metrics;
  aopts.failures_per_minute = flags.auth_failures_per_minute;
  for (const std::string& p : api::DashboardOpenPaths()) aopts.open_paths.insert(p);
  auto auth = std::make_unique<api::Auth>(aopts);
  if (flags.no_auth) {
    log::Warn("--no-auth: the API accepts requests without a token", {{"event", "no_auth"}});
    return auth;
  }
  std::string given;
  for (const auto& t : tokens) given += t + "\n";
  if (!given.empty()) {
    if (Status s = auth->AddTokens(given, "\n"); !s.ok())
      return Status::InvalidArgument("tokens: " + s.message());
  }
  if (!flags.token_file.empty()) {
    auto text = api::ReadTokenFile(flags.token_file);
    if (!text.ok()) return Status::InvalidArgument("--token-file: " + text.status().message());
    if (Status s = auth->AddTokens(*text, "\n"); !s.ok())
      return Status::InvalidArgument("--token-file " + flags.token_file + ": " + s.message());
  }
  if (const char* env_tokens = getenv("ROBOTNI_TOKENS"); env_tokens && *env_tokens) {
    if (Status s = auth->AddTokens(env_tokens, " \t\r\n;"); !s.ok())
      return Status::InvalidArgument("ROBOTNI_TOKENS: " + s.message());
  }
  if (auth->token_count() > 0) return auth;
  // No token configured: one read+write token kept next to the store.
  std::string path = (ServeDataDir(store_url, robot_root) / "api-token").string();
  std::string token;
  auto text = api::ReadTokenFile(path);
  if (text.ok()) {
    token = text->substr(0, text->find('\n'));
  } else if (!text.status().IsNotFound()) {
    return Status::InvalidArgument("the API token file " + text.status().message());
  }
  while (!token.empty() && isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) {
    // An empty (safe) file is replaced: the new one is created afresh, never written through.
    if (text.ok()) unlink(path.c_str());
    auto made = api::GenerateToken();
    if (!made.ok()) return made.status();
    token = std::move(made).value();
    if (Status s = api::WriteTokenFile(path, token); !s.ok())
      return Status::IOError("cannot store the API token: " + s.message());
  }
  (void)auth->AddToken(token, api::kScopeAll);
  log::Info(
      "API token in " + path + "; use: curl -H \"Authorization: Bearer $(cat " + path + ")\" ...",
      {{"event", "api_token"}, {"path", path}});
  return auth;
}

// One line per finished job: info, a final failure at warn. `--log-level warn` keeps only
// the failures (a busy server finishes thousands a second).
void LogJobFinished(const store::Item& item, const store::Completion& c, const Status& s) {
  bool final_failure = !c.ok && (c.exception_type == store::ExceptionType::kBusiness ||
                                 item.attempt >= item.max_attempts);
  log::Level level = final_failure ? log::Level::kWarn : log::Level::kInfo;
  if (!log::Enabled(level)) return;
  std::string outcome = !s.ok() ? "refused" : c.ok ? "done" : final_failure ? "failed" : "retried";
  int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                    std::chrono::system_clock::now().time_since_epoch())
                    .count();
  double seconds = item.started_ms > 0 ? std::max<int64_t>(0, now - item.started_ms) / 1000.0 : 0;
  char took[32];
  snprintf(took, sizeof(took), "%.3f", seconds);
  std::string msg = "job " + item.id + " (" + item.queue + ") " + outcome + " in " + took + " s";
  if (!c.ok) msg += ": " + (c.error_code.empty() ? "" : c.error_code + ": ") + c.error_message;
  nlohmann::json fields;  // only JSON lines show them: a line per job, so not made for nothing
  if (log::GetFormat() == log::Format::kJson) {
    fields = {{"event", "job_finished"}, {"job_id", item.id},  {"type", item.queue},
              {"attempt", item.attempt}, {"outcome", outcome}, {"duration_seconds", seconds}};
    if (!c.ok) {
      fields["error_code"] = c.error_code;
      fields["error"] = c.error_message;
    }
    if (!s.ok()) fields["commit_error"] = s.message();
  }
  log::Write(level, msg, fields);
}

// --access-log: one info line per answered request, e.g.
// `127.0.0.1 "GET /api/worker/jobs/1" 200 412 B 3 ms`.
void LogAccess(const http::AccessRecord& r) {
  if (!log::Enabled(log::Level::kInfo)) return;
  std::string msg = std::string(r.client) + " \"" + std::string(r.method) + " " +
                    std::string(r.target) + "\" " + std::to_string(r.status) + " " +
                    std::to_string(r.bytes) + " B " + std::to_string(r.duration_ms) + " ms";
  log::Info(msg, {{"event", "http_request"},
                  {"method", r.method},
                  {"path", r.target},
                  {"status", r.status},
                  {"bytes", r.bytes},
                  {"duration_ms", r.duration_ms},
                  {"client", r.client}});
}

// The command line's settings for a SIGHUP reload (which applies the file over them again):
// the defaults, with the keys given on the command line as they are running (they won over
// the file).
config::ServeFlags CommandLineBase(const config::ServeFlags& running,
                                   const std::set<std::string>& given) {
  config::ServeFlags base;
  auto keep = [&](const char* key, auto member) {
    if (given.count(key)) base.*member = running.*member;
  };
  using F = config::ServeFlags;
  keep("robot", &F::robot);
  keep("listen", &F::listen);
  keep("store", &F::store);
  keep("types", &F::types);
  keep("jobs", &F::jobs);
  keep("concurrency", &F::concurrency);
  keep("grace", &F::grace);
  keep("isolation", &F::isolation);
  keep("durability", &F::durability);
  keep("workers", &F::workers);
  keep("job_timeout", &F::job_timeout);
  keep("kill_grace", &F::kill_grace);
  keep("lease", &F::lease);
  keep("reserve_ahead", &F::reserve_ahead);
  keep("memory_limit", &F::memory_limit);
  keep("max_jobs_per_worker", &F::max_jobs_per_worker);
  keep("max_output", &F::max_output);
  keep("max_payload", &F::max_payload);
  keep("token_file", &F::token_file);
  keep("no_auth", &F::no_auth);
  keep("rate_limit", &F::rate_limit);
  keep("access_log", &F::access_log);
  keep("public_metrics", &F::public_metrics);
  keep("tasks", &F::tasks);
  keep("task_timeout", &F::task_timeout);
  keep("log_format", &F::log_format);
  keep("log_level", &F::log_level);
  keep("webhook_allow", &F::webhook_allow);
  base.config = running.config;
  return base;
}

}  // namespace

struct HttpService::State {
  HttpServiceParts parts;
  config::ServeFlags settings;
  std::set<std::string> cli_given;
  uv_loop_t loop;
  bool loop_open = false;
  exec::WorkQueue blocking{2};
  api::WorkerApiContext api;
  api::MetricsContext metrics;
  api::Throughput throughput;  // finished attempts per minute, for the dashboard's chart
  std::shared_ptr<api::Auth> auth;
  std::unique_ptr<ServeTasks> tasks;
  std::shared_ptr<ServeSchedules> schedules;
  std::unique_ptr<http::HttpServer> server;
  std::unique_ptr<api::JobWebhooks> webhooks;
  std::unique_ptr<ServeReloader> reloader;
  loop::SignalWatcher signals;  // SIGTERM / SIGINT (handle_signals)
  bool draining = false;
  loop::UvHandle<uv_timer_t> drain_progress;  // while draining: what still runs, every 3 s
  std::atomic<bool>* stopped = nullptr;

  ~State() {
    // Handles left (a service that was never run): close them so the loop can close.
    if (loop_open) {
      if (schedules) schedules->Stop();
      signals.Stop();
      reloader.reset();
      webhooks.reset();
      server.reset();
      uv_walk(
          &loop,
          [](uv_handle_t* h, void*) {
            if (!uv_is_closing(h)) uv_close(h, nullptr);
          },
          nullptr);
      uv_run(&loop, UV_RUN_DEFAULT);
      int rc = uv_loop_close(&loop);
      if (rc != 0)
        log::Warn(std::string("loop closed with open handles (") + uv_err_name(rc) + ")",
                  {{"event", "open_handles"}});
    }
  }

  static constexpr int kDrainProgressSeconds = 3;
  double drain_seconds = 0;  // since the drain began, in progress-line steps

  // Loop thread: while draining, which jobs still run (none: nothing is logged).
  static void LogDrainProgress(const std::vector<exec::Dispatcher::RunningJob>& running,
                               double grace_left) {
    if (running.empty()) return;
    auto now = std::chrono::steady_clock::now();
    std::string list;
    nlohmann::json jobs = nlohmann::json::array();
    for (const auto& j : running) {
      double secs = std::chrono::duration<double>(now - j.started).count();
      char took[32];
      snprintf(took, sizeof(took), "%.0f", secs);
      if (jobs.size() < 10)
        list += (list.empty() ? "" : ", ") + j.id + " (" + j.type + ", " + took + " s)";
      jobs.push_back({{"job_id", j.id}, {"type", j.type}, {"running_seconds", secs}});
    }
    if (running.size() > 10) list += ", ...";
    char left[32];
    snprintf(left, sizeof(left), "%.0f", std::max(0.0, grace_left));
    log::Info("draining: " + std::to_string(running.size()) + " job(s) still running: " + list +
                  "; " + left + " s of grace left",
              {{"event", "drain_progress"},
               {"running", running.size()},
               {"jobs", jobs},
               {"grace_left_seconds", std::max(0.0, grace_left)}});
  }

  // Loop thread: stop taking work; running jobs get the grace; the rest go back to PENDING.
  // The drain waits, so it runs off the loop, which keeps answering meanwhile.
  void BeginDrain(const char* why) {
    if (draining) return;
    draining = true;
    char grace[32];
    snprintf(grace, sizeof(grace), "%.0f", settings.grace);
    log::Info(std::string(why) + ": draining (grace " + grace + " s)",
              {{"event", "draining"}, {"signal", why}, {"grace_seconds", settings.grace}});
    if (reloader) reloader->Stop();
    signals.Stop();
    if (tasks) tasks->BeginDrain();
    if (schedules) schedules->Stop();  // no new jobs while draining
    LogDrainProgress(parts.dispatcher->Running(), settings.grace);
    drain_progress = loop::UvHandle<uv_timer_t>::Make();
    uv_timer_init(&loop, drain_progress.get());
    drain_progress.get()->data = this;
    uv_unref(drain_progress.handle());  // never what keeps the loop running
    uv_timer_start(
        drain_progress.get(),
        [](uv_timer_t* t) {
          auto* self = static_cast<State*>(t->data);
          if (self == nullptr) return;
          self->drain_seconds += kDrainProgressSeconds;
          self->LogDrainProgress(self->parts.dispatcher->Running(),
                                 self->settings.grace - self->drain_seconds);
        },
        kDrainProgressSeconds * 1000, kDrainProgressSeconds * 1000);
    auto poster = server->poster();
    blocking.Submit([this, poster] {
      auto grace = std::chrono::milliseconds(static_cast<int64_t>(settings.grace * 1000));
      int given_back = parts.dispatcher->Drain(grace);
      if (given_back > 0)
        log::Info(std::to_string(given_back) + " running job(s) went back to the queue",
                  {{"event", "jobs_given_back"}, {"count", given_back}});
      if (tasks) tasks->Drain(grace);
      // Pending webhooks get one attempt's timeout (then recorded abandoned); then the
      // server stops.
      poster->Post([this] {
        drain_progress.Reset();
        webhooks->Shutdown([this] { server->Stop(); });
      });
    });
  }
};

HttpService::HttpService(std::unique_ptr<State> state) : st_(std::move(state)) {
  st_->stopped = &stopped_;
}

HttpService::~HttpService() = default;

StatusOr<std::unique_ptr<HttpService>> HttpService::Create(HttpServiceParts parts,
                                                           const config::ServeFlags& settings,
                                                           const std::set<std::string>& cli_given) {
  std::string host;
  int port = 0;
  if (!SplitHostPort(settings.listen, &host, &port))
    return Status::InvalidArgument("--listen: expected HOST:PORT, got '" + settings.listen + "'");
  // The one name --listen takes: loopback, without a resolver (which might say ::1 or worse).
  if (host == "localhost") host = "127.0.0.1";
  if (settings.no_auth && !api::IsLoopbackHost(host))
    return Status::InvalidArgument(
        "--no-auth is for local development: refused on the non-loopback address '" + host +
        "' (listen on 127.0.0.1 or configure tokens)");
  auto st = std::make_unique<State>();
  st->parts = std::move(parts);
  st->settings = settings;
  st->cli_given = cli_given;
  State* s = st.get();
  const config::RobotYaml& robot = *s->parts.robot;

  exec::EnvBuilder env(s->parts.env);
  ServeTasksOptions topts{settings.tasks,     settings.task_timeout, settings.grace,
                          s->parts.store_url, s->parts.owner,        s->parts.kind};
  topts.in_worker = s->parts.dispatcher->workers() > 0;
  topts.max_payload_bytes = settings.max_payload;
  topts.lease_ms = std::llround(settings.lease * 1000);
  auto tasks = ServeTasks::Create(robot, env, s->parts.store, s->parts.pool, topts);
  if (!tasks.ok()) return tasks.status();
  s->tasks = std::move(tasks).value();

  auto schedules =
      ServeSchedules::Create(s->parts.dispatcher->types(), settings.schedules, s->parts.store);
  if (!schedules.ok()) return schedules.status();
  s->schedules = std::move(schedules).value();

  auto auth = MakeAuth(settings, s->parts.tokens, s->parts.store_url, robot.root);
  if (!auth.ok()) return auth.status();
  s->auth = std::move(auth).value();

  if (int rc = uv_loop_init(&s->loop); rc != 0)
    return Status::IOError(std::string("cannot start the event loop: ") + uv_strerror(rc));
  s->loop_open = true;
  s->api.store = s->parts.store;
  s->api.dispatcher = s->parts.dispatcher;
  s->api.blocking = &s->blocking;
  s->api.task_consumers = [s] { return s->tasks->StatusJson(); };
  s->api.wake_tasks = [s] { s->tasks->Wake(); };
  s->api.throughput = &s->throughput;
  s->api.list_schedules = [sched = s->schedules] { return sched->List(); };
  s->api.set_schedule_paused = [sched = s->schedules](const std::string& name, bool paused) {
    return sched->SetPaused(name, paused);
  };
  s->metrics.store = s->parts.store;
  s->metrics.dispatcher = s->parts.dispatcher;
  s->metrics.blocking = &s->blocking;
  http::Router router;
  ROBOTNI_RETURN_IF_ERROR(api::RegisterHealthApi(&router, &s->api));
  ROBOTNI_RETURN_IF_ERROR(api::RegisterJobTypesApi(&router, &s->api));
  ROBOTNI_RETURN_IF_ERROR(api::RegisterJobsApi(&router, &s->api));
  ROBOTNI_RETURN_IF_ERROR(api::RegisterStatusApi(&router, &s->api));
  ROBOTNI_RETURN_IF_ERROR(api::RegisterOpenApi(&router));
  ROBOTNI_RETURN_IF_ERROR(api::RegisterWorkItemsApi(&router, &s->api));
  ROBOTNI_RETURN_IF_ERROR(api::RegisterQueuesApi(&router, &s->api));
  ROBOTNI_RETURN_IF_ERROR(api::RegisterSchedulesApi(&router, &s->api));
  ROBOTNI_RETURN_IF_ERROR(api::RegisterDashboard(&router, &s->api));
  ROBOTNI_RETURN_IF_ERROR(api::RegisterMetricsApi(&router, &s->metrics));
  // Swapped by a SIGHUP reload; both happen on the loop thread.
  router.SetFilter([s](const http::Request& req, const http::Responder& respond) {
    return s->auth->Filter(req, respond);
  });
  http::ServerOptions hopts;
  hopts.host = host;
  hopts.port = port;
  hopts.header_timeout_ms = static_cast<uint64_t>(settings.header_timeout * 1000);
  hopts.request_timeout_ms = static_cast<uint64_t>(settings.request_timeout * 1000);
  hopts.max_connections_per_client = static_cast<size_t>(settings.max_connections_per_client);
  hopts.max_request_bytes = static_cast<size_t>(settings.max_request_bytes);
  hopts.max_unsent_bytes = static_cast<size_t>(settings.max_unsent_bytes);
  // Read on the loop thread, where a reload changes it too.
  hopts.on_access = [s](const http::AccessRecord& r) {
    if (s->settings.access_log) LogAccess(r);
  };
  s->server = std::make_unique<http::HttpServer>(&s->loop, std::move(router), hopts);
  ROBOTNI_RETURN_IF_ERROR(s->server->Listen());
  s->api.poster = s->server->poster();
  s->webhooks = std::make_unique<api::JobWebhooks>(&s->loop, s->parts.store,
                                                   WebhookSettings(settings, s->server->port()));
  s->metrics.poster = s->server->poster();
  s->metrics.http = &s->server->counters();
  s->parts.dispatcher->SetObservers(
      [s](const store::Item& item, const std::string& message) {
        s->webhooks->OnProgress(item, message);
      },
      [s](const store::Item& item, const store::Completion& c, const Status& status) {
        LogJobFinished(item, c, status);
        if (status.ok()) {
          // As the dispatcher counts them: a final failure, or an attempt to be retried.
          bool final_failure = c.exception_type == store::ExceptionType::kBusiness ||
                               item.attempt >= item.max_attempts;
          s->throughput.Record(api::NowMs(), c.ok            ? api::Throughput::Outcome::kDone
                                             : final_failure ? api::Throughput::Outcome::kFailed
                                                             : api::Throughput::Outcome::kRetried);
        }
        s->webhooks->OnFinished(item, c, status);
        if (item.started_ms <= 0) return;
        auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
        s->metrics.job_durations.Observe(item.queue,
                                         std::max<int64_t>(0, now - item.started_ms) / 1000.0);
      });
  s->parts.dispatcher->Start();
  s->tasks->Start();
  s->schedules->Start(&s->loop, &s->blocking, s->server->poster());
  s->api.ready = true;

  std::unique_ptr<HttpService> service(new HttpService(std::move(st)));
  service->address_ = host + ":" + std::to_string(s->server->port());
  std::string types;
  for (const auto& t : s->parts.dispatcher->types()) types += (types.empty() ? "" : ", ") + t.name;
  std::string url = "http://" + service->address_;
  // Tests and scripts read the port from "serving on http://HOST:PORT" (both log formats).
  log::Info("serving on " + url + " (job types: " + (types.empty() ? "none" : types) +
                (s->parts.dispatcher->workers() > 0
                     ? "; " + std::to_string(s->parts.dispatcher->workers()) + " worker processes"
                     : "; concurrency " + std::to_string(settings.concurrency)) +
                ")",
            {{"event", "serving"},
             {"url", url},
             {"port", s->server->port()},
             {"types", TypeNames(*s->parts.dispatcher)},
             {"concurrency", settings.concurrency},
             {"workers", s->parts.dispatcher->workers()}});

  // The dashboard's sign-in link: the token rides in the fragment, which a browser never sends;
  // the page stores it and removes it from the address bar (docs/serve.md "Dashboard").
  if (s->auth->options().enabled && !s->auth->sign_in_token().empty())
    log::Info("dashboard: " + url + "/#token=" + s->auth->sign_in_token(),
              {{"event", "dashboard_link"}, {"url", url + "/"}});

  if (s->parts.handle_signals) {
    s->signals.Start(&s->loop, {SIGTERM, SIGINT},
                     [s](int signum) { s->BeginDrain(signum == SIGTERM ? "SIGTERM" : "SIGINT"); });
    // The command line's settings: defaults, with the given keys as they are running.
    config::ServeFlags cli_base = CommandLineBase(settings, cli_given);
    ServeReloader::Hooks hooks;
    hooks.make_auth = [s](const config::ServeFlags& next) -> std::unique_ptr<api::Auth> {
      auto a = MakeAuth(next, s->parts.tokens, s->parts.store_url, s->parts.robot->root);
      if (!a.ok()) {
        log::Error("reload: " + a.status().message(),
                   {{"event", "reload_failed"}, {"part", "tokens"}});
        return nullptr;
      }
      return std::move(a).value();
    };
    hooks.apply = [s](const config::ServeFlags& next, std::shared_ptr<api::Auth> reloaded) {
      if (reloaded) s->auth = std::move(reloaded);
      s->settings.grace = next.grace;
      s->settings.access_log = next.access_log;
      ApplyLogSettings(next);
      s->webhooks->Reconfigure(WebhookSettings(next, s->server->port()));
    };
    s->reloader = std::make_unique<ServeReloader>(settings, cli_base, cli_given, robot,
                                                  s->parts.dispatcher, &s->blocking, hooks);
    s->reloader->Start(&s->loop, s->server->poster());
    signal(SIGPIPE, SIG_IGN);
  }
  return service;
}

void HttpService::Run() {
  uv_run(&st_->loop, UV_RUN_DEFAULT);
  stopped_ = true;
  log::Info("stopped", {{"event", "stopped"}});
}

bool HttpService::RunOnce() {
  if (stopped_) return false;
  if (uv_run(&st_->loop, UV_RUN_NOWAIT) == 0) {
    stopped_ = true;
    log::Info("stopped", {{"event", "stopped"}});
  }
  return !stopped_;
}

int HttpService::BackendFd() { return uv_backend_fd(&st_->loop); }

int HttpService::BackendTimeout() { return uv_backend_timeout(&st_->loop); }

void HttpService::RequestStop() {
  State* s = st_.get();
  s->server->poster()->Post([s] { s->BeginDrain("stop"); });
}

}  // namespace robotni::service
