#ifndef ROBOTNI_RUNTIME_CONFIG_SERVE_SETTINGS_H_
#define ROBOTNI_RUNTIME_CONFIG_SERVE_SETTINGS_H_

// The settings of `robotni serve` and its configuration file (--config FILE, YAML).
//
// Every command-line flag has a key of the same name with '_' for '-' (listen, store, types,
// jobs, concurrency, grace, isolation, durability, lease, reserve_ahead, token_file, no_auth,
// rate_limit, public_metrics, access_log, tasks, task_timeout, log_format, log_level, robot) plus a
// `webhooks:` map {secret, max_attempts, timeout_seconds, allow} (--webhook-allow is
// webhooks.allow) and an `http:` map {header_timeout_seconds, request_timeout_seconds,
// max_connections_per_client, max_request_bytes, max_unsent_bytes, auth_failures_per_minute} and a
// `job_types:` map of per-type limits. Precedence: command line > environment
// (ROBOTNI_WEBHOOK_SECRET) > file > defaults. Relative paths in the file (robot, store, token_file)
// are relative to the file's directory; `jobs` stay relative to the robot, as on the command line.
// Thread-safety: plain functions over values.

#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "config/schedules_yaml.h"
#include "robotni/limits.h"
#include "robotni/status.h"

namespace robotni::config {

struct ServeFlags {
  std::string robot = "robot.yaml";
  std::string listen = "127.0.0.1:8000";
  std::string store;
  std::vector<std::string> types;
  std::vector<std::string> jobs;
  int concurrency = 2;
  double grace = 30;
  std::string isolation;
  std::string durability = "fast";  // fast | full (RuntimeOptions::durability)
  // Worker processes (isolation: process) and the job limits (RuntimeOptions has the rules).
  int workers = 0;
  double job_timeout = 300;
  double kill_grace = 5;
  int memory_limit = 0;  // MiB
  int max_jobs_per_worker = 0;
  int max_output = 1 << 20;  // bytes
  // A claim's lease (seconds): how soon another node takes over the jobs of a node that
  // vanished without a trace (on the same host, a dead process's jobs are freed at once).
  double lease = 60;
  // Expected work (seconds) a runner claims at once (exec/dispatcher.h); 0 = one job a claim.
  double reserve_ahead = 0.01;
  // The file's `job_types:` map, {type: {timeout, kill_grace, memory_limit,
  // max_jobs_per_worker, max_output}} (config/limits_yaml.h): wins over the type's decorator.
  std::map<std::string, Limits> job_types;
  // The file's `schedules:` list (config/schedules_yaml.h): periodic jobs, besides those of
  // `@job(..., schedule=)`; one of the same name wins over the decorator's.
  std::vector<ScheduleEntry> schedules;
  // Bytes of a payload, params, result or output JSON the store accepts (docs/serve.md,
  // "Input limits"); past it a submission is refused and a job's outcome fails the job.
  int max_payload = 1 << 20;
  std::string token_file;
  bool no_auth = false;
  double rate_limit = 0;
  bool public_metrics = false;
  // One info line per answered HTTP request in serve's log (--access-log, key access_log).
  bool access_log = false;
  std::vector<std::string> tasks;  // robot.yaml tasks consuming their queues (serve_tasks.h)
  double task_timeout = 0;
  // Webhooks (on_complete_url / on_progress_url): HMAC secret, delivery attempts, per-try timeout.
  std::string webhook_secret;
  int webhook_max_attempts = 5;
  double webhook_timeout = 10;
  // The HTTP server under hostile clients (`http:` in the file; ServerOptions and AuthOptions
  // have the rules).
  double header_timeout = 10;             // seconds from a request's first byte to its headers
  double request_timeout = 60;            // seconds from a request's first byte to its end
  int max_connections_per_client = 1024;  // per client IP address (a proxy is one)
  int max_request_bytes = 64 << 20;       // request bytes held across all connections
  int max_unsent_bytes = 1 << 20;         // answers queued for one connection
  double auth_failures_per_minute = 10;   // wrong tokens per client address; 0 = no limit
  // Hosts, addresses and CIDR ranges webhooks may reach although they are loopback, private
  // or link-local (http/address_policy.h); for development. Flag --webhook-allow, key
  // webhooks.allow.
  std::vector<std::string> webhook_allow;
  std::string log_format = "text";  // text | json
  std::string log_level = "info";   // debug | info | warn | error
  std::string config;               // --config FILE ("" = none)
};

// Reads the YAML file at `path` into *flags. Keys whose command-line flag is in `cli_given`
// (spelled as the key, e.g. "listen", "token_file") are checked but keep the flag's value.
// InvalidArgument "FILE:LINE: KEY: message" for malformed YAML, an unknown key, a wrong type
// or a bad value; IOError when the file cannot be read. *flags is unchanged on error.
Status ApplyServeConfig(const std::string& path, const std::set<std::string>& cli_given,
                        ServeFlags* flags);

// The environment's part (ROBOTNI_WEBHOOK_SECRET), unless the flag was given.
void ApplyServeEnvironment(const std::set<std::string>& cli_given, ServeFlags* flags);

// Checks values that the command line and the file share (log_format, log_level, isolation,
// concurrency > 0, non-negative grace, rate_limit and webhook settings). InvalidArgument naming
// the setting.
Status ValidateServeFlags(const ServeFlags& flags);

// The settings that differ between `a` and `b` and need a restart to change (listen, store,
// robot, jobs, types, concurrency, isolation, durability, no_auth, tasks, task_timeout), by key
// name.
std::vector<std::string> RestartOnlyChanges(const ServeFlags& a, const ServeFlags& b);

// Copies those restart-only settings from `running` into *next.
void KeepRestartOnly(const ServeFlags& running, ServeFlags* next);

// The keys (as in the file) whose flags `is_given("--flag-name")` reports as given.
std::set<std::string> GivenKeys(const std::function<bool(const std::string& flag)>& is_given);

}  // namespace robotni::config

#endif  // ROBOTNI_RUNTIME_CONFIG_SERVE_SETTINGS_H_
