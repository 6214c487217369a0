// `robotni serve`: the worker service. One libuv loop owns the listening socket and
// signals; job types registered with @robotni.job run on warm interpreters through the
// dispatcher; the job API answers over HTTP.
#include <uv.h>

#include <unistd.h>
#include <algorithm>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "cli/robot_loader.h"
#include "cli/serve_reload.h"
#include "cli/serve_tasks.h"
#include "config/serve_settings.h"
#include "core/log.h"
#include "exec/dispatcher.h"
#include "exec/task_env.h"
#include "exec/work_item_queues.h"
#include "exec/work_queue.h"
#include "http/auth.h"
#include "http/dashboard_api.h"
#include "http/job_webhooks.h"
#include "http/metrics.h"
#include "http/server.h"
#include "http/worker_api.h"
#include "python/interpreter.h"
#include "python/interpreter_pool.h"

namespace robotni::cli {

namespace {

namespace fs = std::filesystem;

// ServeFlags (the settings) and the --config file: config/serve_settings.h.

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

struct SignalState {
  http::HttpServer* server;
  exec::Dispatcher* dispatcher;
  exec::WorkQueue* blocking;
  double grace;
  uv_signal_t term, intr;
  bool draining = false;
  ServeReloader* reloader = nullptr;
  ServeTasks* tasks = nullptr;
  http::JobWebhooks* webhooks = nullptr;
};

void OnSignal(uv_signal_t* handle, int signum) {
  auto* st = static_cast<SignalState*>(handle->data);
  if (st->draining) return;
  st->draining = true;
  const char* name = signum == SIGTERM ? "SIGTERM" : "SIGINT";
  char grace[32];
  snprintf(grace, sizeof(grace), "%.0f", st->grace);
  log::Info(std::string(name) + ": draining (grace " + grace + " s)",
            {{"event", "draining"}, {"signal", name}, {"grace_seconds", st->grace}});
  if (st->reloader) st->reloader->Stop();
  uv_close(reinterpret_cast<uv_handle_t*>(&st->term), nullptr);
  uv_close(reinterpret_cast<uv_handle_t*>(&st->intr), nullptr);
  // Stop taking work; running jobs get the grace period; the rest go back to PENDING.
  // The drain waits, so it runs off the loop, which keeps answering meanwhile.
  if (st->tasks) st->tasks->BeginDrain();
  auto poster = st->server->poster();
  st->blocking->Submit([st, poster] {
    int given_back =
        st->dispatcher->Drain(std::chrono::milliseconds(static_cast<int64_t>(st->grace * 1000)));
    if (given_back > 0)
      log::Info(std::to_string(given_back) + " running job(s) went back to the queue",
                {{"event", "jobs_given_back"}, {"count", given_back}});
    if (st->tasks)
      st->tasks->Drain(std::chrono::milliseconds(static_cast<int64_t>(st->grace * 1000)));
    // Pending webhooks get one attempt's timeout (then recorded abandoned); then the server stops.
    poster->Post([st] { st->webhooks->Shutdown([st] { st->server->Stop(); }); });
  });
}

http::WebhookOptions WebhookSettings(const config::ServeFlags& flags) {
  http::WebhookOptions o;
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

// One line per finished job: done and retried at debug (a busy server finishes thousands a
// second), a final failure at warn.
void LogJobFinished(const store::Item& item, const store::Completion& c, const Status& s) {
  bool final_failure = !c.ok && (c.exception_type == store::ExceptionType::kBusiness ||
                                 item.attempt >= item.max_attempts);
  log::Level level = final_failure ? log::Level::kWarn : log::Level::kDebug;
  if (!log::Enabled(level)) return;
  std::string outcome = !s.ok() ? "refused" : c.ok ? "done" : final_failure ? "failed" : "retried";
  nlohmann::json fields = {{"event", "job_finished"},
                           {"job_id", item.id},
                           {"type", item.queue},
                           {"attempt", item.attempt},
                           {"outcome", outcome}};
  std::string msg = "job " + item.id + " (" + item.queue + ") " + outcome;
  if (!c.ok) {
    fields["error_code"] = c.error_code;
    fields["error"] = c.error_message;
    msg += ": " + (c.error_code.empty() ? "" : c.error_code + ": ") + c.error_message;
  }
  if (!s.ok()) fields["commit_error"] = s.message();
  log::Write(level, msg, fields);
}

// Tokens from --token-file and ROBOTNI_TOKENS; with neither, the token in <data dir>/api-token
// (created on first use). nullptr after printing the error.
std::unique_ptr<http::Auth> MakeAuth(const config::ServeFlags& flags, const std::string& store_url,
                                     const fs::path& robot_root) {
  http::AuthOptions aopts;
  aopts.enabled = !flags.no_auth;
  aopts.rate_limit = flags.rate_limit;
  aopts.metrics_open = flags.public_metrics;
  for (const std::string& p : http::DashboardOpenPaths()) aopts.open_paths.insert(p);
  auto auth = std::make_unique<http::Auth>(aopts);
  if (flags.no_auth) {
    log::Warn("--no-auth: the API accepts requests without a token", {{"event", "no_auth"}});
    return auth;
  }
  if (!flags.token_file.empty()) {
    std::error_code ec;
    if (!fs::is_regular_file(flags.token_file, ec)) {
      PrintError("--token-file: cannot read '" + flags.token_file + "'");
      return nullptr;
    }
    std::ifstream f(flags.token_file, std::ios::binary);
    std::stringstream text;
    text << f.rdbuf();
    if (Status s = auth->AddTokens(text.str(), "\n"); !s.ok()) {
      PrintError("--token-file " + flags.token_file + ": " + s.message());
      return nullptr;
    }
  }
  if (const char* env_tokens = getenv("ROBOTNI_TOKENS"); env_tokens && *env_tokens) {
    if (Status s = auth->AddTokens(env_tokens, " \t\r\n;"); !s.ok()) {
      PrintError("ROBOTNI_TOKENS: " + s.message());
      return nullptr;
    }
  }
  if (auth->token_count() > 0) return auth;
  // No token configured: one read+write token kept next to the store.
  fs::path dir = robot_root;
  std::string url = store_url;
  if (url.rfind("sqlite://", 0) == 0) url = url.substr(9);
  if (url.find("://") == std::string::npos && !url.empty()) dir = fs::absolute(url).parent_path();
  std::string path = (dir / "api-token").string();
  std::string token;
  {
    std::ifstream f(path);
    std::getline(f, token);
  }
  while (!token.empty() && isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.empty()) {
    auto made = http::GenerateToken();
    if (!made.ok()) {
      PrintError(made.status().message());
      return nullptr;
    }
    token = std::move(made).value();
    if (Status s = http::WriteTokenFile(path, token); !s.ok()) {
      PrintError("cannot store the API token: " + s.message());
      return nullptr;
    }
  }
  (void)auth->AddToken(token, http::kScopeAll);
  log::Info(
      "API token in " + path + "; use: curl -H \"Authorization: Bearer $(cat " + path + ")\" ...",
      {{"event", "api_token"}, {"path", path}});
  return auth;
}

// `cli_base` and `cli_given`: the command line's settings and keys, for SIGHUP reloads.
int Serve(const config::ServeFlags& flags, const config::ServeFlags& cli_base,
          const std::set<std::string>& cli_given) {
  int code = 0;
  auto robot = LoadRobotOrExit(flags.robot, &code);
  if (!robot) return code;
  std::string host;
  int port = 0;
  if (!SplitHostPort(flags.listen, &host, &port)) {
    PrintError("--listen: expected HOST:PORT, got '" + flags.listen + "'");
    return kExitRobotInvalid;
  }
  if (flags.no_auth && !http::IsLoopbackHost(host)) {
    PrintError("--no-auth is for local development: refused on the non-loopback address '" + host +
               "' (listen on 127.0.0.1 or configure tokens)");
    return kExitRobotInvalid;
  }
  exec::EnvBuilder env(exec::EnvBuilder::ProcessEnvironment());
  env.ApplyRobot(*robot);
  std::string store_flag = flags.store;
  if (!store_flag.empty() && store_flag.find("://") == std::string::npos)
    store_flag = fs::absolute(store_flag).string();
  store::StoreOptions sopts;
  sopts.url = exec::DefaultStoreUrl(*robot, env, store_flag);
  auto opened = store::WorkItemStore::Open(sopts);
  if (!opened.ok()) {
    PrintError(opened.status().message());
    return kExitRobotLoad;
  }
  std::unique_ptr<store::WorkItemStore> store = std::move(opened).value();

  python::InterpreterPool pool(python::InterpreterPool::Options{
      flags.concurrency, flags.concurrency + 1 + static_cast<int>(flags.tasks.size())});
  exec::DispatcherOptions dopts;
  dopts.robot_key = robot->root.string();
  dopts.robot_root = robot->root.string();
  dopts.job_modules = flags.jobs;
  for (const auto& p : robot->AbsolutePythonPath()) dopts.sys_path.push_back(p.string());
  if (dopts.sys_path.empty()) dopts.sys_path.push_back(robot->root.string());
  dopts.environ_keys_values = env.BuildStrings();
  dopts.type_filters = flags.types;
  dopts.concurrency = flags.concurrency;
  char hostname[256] = {0};
  gethostname(hostname, sizeof(hostname) - 1);
  dopts.owner = std::string("robotni:") + hostname + ":" + std::to_string(getpid()) + ":serve";
  std::string isolation = flags.isolation.empty() ? robot->isolation : flags.isolation;
  dopts.kind = isolation == "main" ? python::Interpreter::Kind::kMain
                                   : python::Interpreter::Kind::kSubinterpreter;
  http::MetricsContext metrics;
  std::unique_ptr<http::JobWebhooks> webhooks;  // made on the loop below, before the runners start
  dopts.on_progress = [&webhooks](const store::Item& item, const std::string& message) {
    webhooks->OnProgress(item, message);
  };
  dopts.on_finished = [&metrics, &webhooks](const store::Item& item, const store::Completion& c,
                                            const Status& s) {
    LogJobFinished(item, c, s);
    webhooks->OnFinished(item, c, s);
    if (item.started_ms <= 0) return;
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    metrics.job_durations.Observe(std::max<int64_t>(0, now - item.started_ms) / 1000.0);
  };
  exec::Dispatcher dispatcher(store.get(), &pool, dopts);
  if (Status s = dispatcher.LoadJobTypes(); !s.ok()) {
    PrintError(s.message());
    return kExitRobotLoad;
  }
  ServeTasksOptions topts{flags.tasks, flags.task_timeout, flags.grace,
                          sopts.url,   dopts.owner,        dopts.kind};
  auto tasks = ServeTasks::Create(*robot, env, store.get(), &pool, topts, &code);
  if (!tasks) return code;

  uv_loop_t loop;
  uv_loop_init(&loop);
  exec::WorkQueue blocking(2);
  http::WorkerApiContext api;
  api.store = store.get();
  api.dispatcher = &dispatcher;
  api.blocking = &blocking;
  api.task_consumers = [t = tasks.get()] { return t->StatusJson(); };
  api.wake_tasks = [t = tasks.get()] { t->Wake(); };
  metrics.store = store.get();
  metrics.dispatcher = &dispatcher;
  metrics.blocking = &blocking;
  http::Router router;
  if (Status s = http::RegisterWorkerApi(&router, &api); !s.ok()) {
    PrintError(s.message());
    return 1;
  }
  // API modules register here, one call each.
  if (Status s = http::RegisterOpenApi(&router); !s.ok()) return PrintError(s.message()), 1;
  if (Status s = http::RegisterWorkItemsApi(&router, &api); !s.ok())
    return PrintError(s.message()), 1;
  if (Status s = http::RegisterDashboard(&router, &api); !s.ok()) return PrintError(s.message()), 1;
  if (Status s = http::RegisterMetricsApi(&router, &metrics); !s.ok()) {
    PrintError(s.message());
    return 1;
  }
  // Swapped by a SIGHUP reload; both happen on the loop thread.
  std::shared_ptr<http::Auth> auth = MakeAuth(flags, sopts.url, robot->root);
  if (!auth) return kExitRobotInvalid;
  router.SetFilter([&auth](const http::Request& req, const http::Responder& respond) {
    return auth->Filter(req, respond);
  });
  http::ServerOptions hopts;
  hopts.host = host;
  hopts.port = port;
  http::HttpServer server(&loop, std::move(router), hopts);
  if (Status s = server.Listen(); !s.ok()) {
    PrintError(s.message());
    return 1;
  }
  api.poster = server.poster();
  webhooks = std::make_unique<http::JobWebhooks>(&loop, store.get(), WebhookSettings(flags));
  metrics.poster = server.poster();
  metrics.http = &server.counters();
  dispatcher.Start();
  tasks->Start();
  api.ready = true;
  std::string types;
  for (const auto& t : dispatcher.types()) types += (types.empty() ? "" : ", ") + t.name;
  std::string url = "http://" + host + ":" + std::to_string(server.port());
  // Tests and scripts read the port from "serving on http://HOST:PORT" (both log formats).
  log::Info("serving on " + url + " (job types: " + (types.empty() ? "none" : types) +
                "; concurrency " + std::to_string(flags.concurrency) + ")",
            {{"event", "serving"},
             {"url", url},
             {"port", server.port()},
             {"types", TypeNames(dispatcher)},
             {"concurrency", flags.concurrency}});

  SignalState sig{&server, &dispatcher, &blocking, flags.grace};
  uv_signal_init(&loop, &sig.term);
  uv_signal_init(&loop, &sig.intr);
  sig.term.data = sig.intr.data = &sig;
  sig.tasks = tasks.get();
  sig.webhooks = webhooks.get();
  uv_signal_start(&sig.term, OnSignal, SIGTERM);
  uv_signal_start(&sig.intr, OnSignal, SIGINT);
  ServeReloader::Hooks hooks;
  hooks.make_auth = [&](const config::ServeFlags& next) {
    return MakeAuth(next, sopts.url, robot->root);
  };
  hooks.apply = [&](const config::ServeFlags& next, std::shared_ptr<http::Auth> reloaded) {
    if (reloaded) auth = std::move(reloaded);
    sig.grace = next.grace;
    ApplyLogSettings(next);
    webhooks->Reconfigure(WebhookSettings(next));
  };
  ServeReloader reloader(flags, cli_base, cli_given, *robot, &dispatcher, &blocking, hooks);
  reloader.Start(&loop, server.poster());
  sig.reloader = &reloader;
  signal(SIGPIPE, SIG_IGN);
  uv_run(&loop, UV_RUN_DEFAULT);
  int rc = uv_loop_close(&loop);
  if (rc != 0)
    log::Warn(std::string("loop closed with open handles (") + uv_err_name(rc) + ")",
              {{"event", "open_handles"}});
  log::Info("stopped", {{"event", "stopped"}});
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, CommandBody* body) {
  auto flags = std::make_shared<config::ServeFlags>();
  auto* cmd = app.add_subcommand("serve", "Run the worker service: HTTP job API over the queue");
  cmd->add_option("-r,--robot", flags->robot, "Path to robot.yaml")->capture_default_str();
  cmd->add_option("--listen", flags->listen, "HOST:PORT to listen on")->capture_default_str();
  cmd->add_option("--store", flags->store, "Work-item store URL (default as for run)");
  cmd->add_option("--types", flags->types, "Job types to serve (names or prefixes like notify.%)")
      ->delimiter(',');
  cmd->add_option("--jobs", flags->jobs,
                  "Python files (relative to the robot) or modules that register job types")
      ->delimiter(',');
  cmd->add_option("--concurrency", flags->concurrency, "Jobs run at the same time")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  cmd->add_option("--grace", flags->grace, "Seconds running jobs get to finish on SIGTERM")
      ->capture_default_str();
  cmd->add_option("--isolation", flags->isolation, "subinterpreter (default) or main");
  cmd->add_option("--token-file", flags->token_file,
                  "API tokens, one a line: read:TOKEN, write:TOKEN, read,write:TOKEN or TOKEN");
  cmd->add_flag("--no-auth", flags->no_auth, "No API tokens (local development; loopback only)");
  cmd->add_option("--rate-limit", flags->rate_limit,
                  "Requests per second per token (burst twice that); 0 = no limit")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  cmd->add_flag("--public-metrics", flags->public_metrics, "Serve /metrics without a token");
  cmd->add_option("--tasks", flags->tasks, "robot.yaml tasks that consume their input queues")
      ->delimiter(',');
  cmd->add_option("--task-timeout", flags->task_timeout, "Seconds a task run may take (0: none)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--config", flags->config,
                  "YAML file with these settings (keys as the flags: listen, token_file, ...; "
                  "webhooks: {secret, max_attempts, timeout_seconds}); flags win; SIGHUP "
                  "re-reads it");
  cmd->add_option("--log-format", flags->log_format, "text or json (one object a line)")
      ->capture_default_str();
  cmd->add_option("--log-level", flags->log_level, "debug, info, warn or error")
      ->capture_default_str();
  cmd->callback([=] {
    *body = [flags, cmd] {
      std::set<std::string> given = config::GivenKeys([cmd](const std::string& flag) {
        const CLI::Option* o = cmd->get_option_no_throw(flag);
        return o && o->count() > 0;
      });
      // The command line's log settings apply at once, so config errors are logged in them.
      if (config::ValidateServeFlags(*flags).ok()) ApplyLogSettings(*flags);
      // serve --tasks changes to the robot's directory; a SIGHUP reload reads these again.
      for (std::string* path : {&flags->config, &flags->robot, &flags->token_file}) {
        if (!path->empty()) *path = fs::absolute(*path).lexically_normal().string();
      }
      config::ServeFlags settings = *flags;
      if (!settings.config.empty()) {
        if (Status s = config::ApplyServeConfig(settings.config, given, &settings); !s.ok()) {
          PrintError("--config: " + s.message());
          return static_cast<int>(kExitRobotInvalid);
        }
      }
      config::ApplyServeEnvironment(given, &settings);
      if (Status s = config::ValidateServeFlags(settings); !s.ok()) {
        PrintError(s.message());
        return static_cast<int>(kExitRobotInvalid);
      }
      ApplyLogSettings(settings);
      int rc = Serve(settings, *flags, given);
      python::InterpreterHost::Stop();
      return rc;
    };
  });
}

}  // namespace robotni::cli
