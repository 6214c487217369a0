// `robotni serve`: the worker service. Thin: flags (and --config) -> RuntimeOptions +
// ServeOptions -> Runtime::Serve on this thread, with signals -> exit code.
#include <signal.h>

#include <filesystem>
#include <set>

#include "cli/commands.h"
#include "cli/flag_checks.h"
#include "cli/python_prefix_flag.h"
#include "cli/robot_loader.h"
#include "cli/store_flag.h"
#include "config/serve_settings.h"
#include "core/log.h"
#include "loop/signal_watcher.h"
#include "robotni/runtime.h"

namespace robotni::cli {

namespace {

namespace fs = std::filesystem;
using config::ApplyServeConfig;
using config::ApplyServeEnvironment;
using config::GivenKeys;
using config::ServeFlags;
using config::ValidateServeFlags;

void ApplyLogSettings(const ServeFlags& flags) {
  log::Format format;
  log::Level level;
  if (log::ParseFormat(flags.log_format, &format)) log::SetFormat(format);
  if (log::ParseLevel(flags.log_level, &level)) log::SetLevel(level);
}

int Serve(const ServeFlags& flags, const std::set<std::string>& cli_given) {
  // A SIGTERM while the runtime starts drains once serve watches it, not kills.
  loop::HoldSignals({SIGTERM, SIGINT});
  RuntimeOptions ro;
  ro.robot = flags.robot;
  ro.store = flags.store;
  ro.isolation = flags.isolation;
  ro.durability = flags.durability;
  ro.default_isolation = "process";
  ro.workers = flags.workers;
  ro.job_timeout = flags.job_timeout;
  ro.kill_grace = flags.kill_grace;
  ro.lease_seconds = flags.lease;
  ro.reserve_ahead_seconds = flags.reserve_ahead;
  ro.memory_limit_mb = flags.memory_limit;
  ro.max_jobs_per_worker = flags.max_jobs_per_worker;
  ro.max_output_bytes = flags.max_output;
  ro.job_type_limits = flags.job_types;
  ro.max_payload_bytes = flags.max_payload;
  ro.concurrency = flags.concurrency;
  ro.job_modules = flags.jobs;
  ro.types = flags.types;
  ro.consumer_tasks = flags.tasks;
  ro.consumer_task_timeout = flags.task_timeout;
  ro.log_format = flags.log_format;
  ro.log_level = flags.log_level;
  ServeOptions so;
  so.listen = flags.listen;
  so.token_file = flags.token_file;
  so.no_auth = flags.no_auth;
  so.rate_limit = flags.rate_limit;
  so.public_metrics = flags.public_metrics;
  so.access_log = flags.access_log;
  so.grace = flags.grace;
  so.webhook_secret = flags.webhook_secret;
  so.webhook_max_attempts = flags.webhook_max_attempts;
  so.webhook_timeout = flags.webhook_timeout;
  so.webhook_allow = flags.webhook_allow;
  so.config_file = flags.config;
  so.command_line_keys.assign(cli_given.begin(), cli_given.end());
  so.handle_signals = true;
  auto rt = Runtime::Open(ro);
  if (!rt.ok()) return ExitCodeOfOpen(rt.status());
  Status s = (*rt)->Serve(so);
  if (!s.ok()) {
    PrintError(s.message());
    return s.IsNotFound() ? kExitTaskNotFound : s.IsInvalidArgument() ? kExitRobotInvalid : 1;
  }
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, CommandBody* body) {
  auto flags = std::make_shared<ServeFlags>();
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
      ->check(IntegerAtLeast(1))
      ->capture_default_str();
  cmd->add_option("--grace", flags->grace, "Seconds running jobs get to finish on SIGTERM")
      ->check(NumberAtLeast(0))
      ->capture_default_str();
  cmd->add_option("--isolation", flags->isolation,
                  "Where jobs run: process (worker processes; the default), subinterpreter "
                  "(in this process, fastest, for trusted code) or main");
  cmd->add_option("--durability", flags->durability,
                  "fast (a power loss may undo the last commits, never corrupts) or full (every "
                  "commit synced to disk)")
      ->check(CLI::IsMember({"fast", "full"}))
      ->capture_default_str();
  cmd->add_option("--workers", flags->workers,
                  "Worker processes (isolation process); 0 = one per core")
      ->check(IntegerAtLeast(0))
      ->capture_default_str();
  cmd->add_option("--job-timeout", flags->job_timeout,
                  "Seconds a job may run when its type sets no timeout (0: none)")
      ->check(NumberAtLeast(0))
      ->capture_default_str();
  cmd->add_option("--lease", flags->lease,
                  "Seconds a claim holds a job without a heartbeat: how soon another node takes "
                  "over the jobs of a node that vanished")
      ->check(NumberAtLeast(1))
      ->capture_default_str();
  cmd->add_option("--reserve-ahead", flags->reserve_ahead,
                  "Seconds of quick jobs' expected work a runner claims at once (0: one job "
                  "per claim)")
      ->check(CLI::Range(0.0, 1.0))
      ->capture_default_str();
  cmd->add_option("--kill-grace", flags->kill_grace,
                  "Seconds after a job's timeout before its worker process is killed")
      ->check(NumberAtLeast(0))
      ->capture_default_str();
  cmd->add_option("--memory-limit", flags->memory_limit,
                  "MiB of resident memory a worker process may use while running a job (0: none)")
      ->check(IntegerAtLeast(0));
  cmd->add_option("--max-jobs-per-worker", flags->max_jobs_per_worker,
                  "Jobs a worker process runs before it is replaced (0: never)")
      ->check(IntegerAtLeast(0));
  cmd->add_option("--max-output", flags->max_output,
                  "Bytes of each of a job's stdout and stderr kept in job.log; the rest is dropped")
      ->check(NumberRange(0, INT32_MAX, true))
      ->capture_default_str();
  cmd->add_option("--max-payload", flags->max_payload,
                  "Bytes of a job's params, result or a work item's payload or output JSON; "
                  "past it a submission is refused (400) and a job's outcome fails the job")
      ->check(NumberRange(1024, INT32_MAX, true))
      ->capture_default_str();
  cmd->add_option("--token-file", flags->token_file,
                  "API tokens, one a line: read:TOKEN, write:TOKEN, read,write:TOKEN or TOKEN");
  cmd->add_flag("--no-auth", flags->no_auth, "No API tokens (local development; loopback only)");
  cmd->add_option("--rate-limit", flags->rate_limit,
                  "Requests per second per token (burst twice that); 0 = no limit")
      ->check(NumberAtLeast(0))
      ->capture_default_str();
  cmd->add_flag("--public-metrics", flags->public_metrics, "Serve /metrics without a token");
  cmd->add_flag("--access-log", flags->access_log,
                "Log a line per HTTP request (method, path, status, bytes, duration) to serve's "
                "log on stderr, at info level");
  cmd->add_option("--tasks", flags->tasks, "robot.yaml tasks that consume their input queues")
      ->delimiter(',');
  cmd->add_option("--task-timeout", flags->task_timeout, "Seconds a task run may take (0: none)")
      ->check(NumberAtLeast(0));
  cmd->add_option("--webhook-allow", flags->webhook_allow,
                  "Hosts, IPs or CIDR ranges webhooks may reach although loopback, private or "
                  "link-local (development; refused by default)")
      ->delimiter(',');
  cmd->add_option("--config", flags->config,
                  "YAML file with these settings (keys as the flags: listen, token_file, ...; "
                  "webhooks: {secret, max_attempts, timeout_seconds, allow}); flags win; SIGHUP "
                  "re-reads it");
  cmd->add_option("--log-format", flags->log_format, "text or json (one object a line)")
      ->capture_default_str();
  cmd->add_option("--log-level", flags->log_level, "debug, info, warn or error")
      ->capture_default_str();
  AddPythonPrefixOption(cmd);
  cmd->callback([=] {
    *body = [flags, cmd] {
      std::set<std::string> given = GivenKeys([cmd](const std::string& flag) {
        const CLI::Option* o = cmd->get_option_no_throw(flag);
        return o && o->count() > 0;
      });
      // The command line's log settings apply at once, so config errors are logged in them.
      if (ValidateServeFlags(*flags).ok()) ApplyLogSettings(*flags);
      // serve --tasks changes to the robot's directory; a SIGHUP reload reads these again.
      for (std::string* path : {&flags->config, &flags->robot, &flags->token_file}) {
        if (!path->empty()) *path = fs::absolute(*path).lexically_normal().string();
      }
      ServeFlags settings = *flags;
      if (!settings.config.empty()) {
        if (Status s = ApplyServeConfig(settings.config, given, &settings); !s.ok()) {
          PrintError("--config: " + s.message());
          return static_cast<int>(kExitRobotInvalid);
        }
      }
      ApplyServeEnvironment(given, &settings);
      if (Status s = ValidateServeFlags(settings); !s.ok()) {
        PrintError(s.message());
        return static_cast<int>(kExitRobotInvalid);
      }
      if (Status s =
              CheckStoreDirectory(settings.store, given.count("store") ? "--store" : "store");
          !s.ok()) {
        PrintError(s.message());
        return static_cast<int>(kExitRobotInvalid);
      }
      ApplyLogSettings(settings);
      return Serve(settings, given);
    };
  });
}

}  // namespace robotni::cli
