#include "config/serve_settings.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <map>

#include "config/limits_yaml.h"
#include "config/yaml_util.h"
#include "core/log.h"
#include "http/address_policy.h"

namespace robotni::config {

namespace {

namespace fs = std::filesystem;
using config::internal::ErrorAt;
using config::internal::KindName;
using config::internal::LineOf;

// Parsing context of one key: where it is, for errors.
struct At {
  const std::string& file;
  int line;
  std::string key;
  Status Error(const std::string& msg) const { return ErrorAt(file, line, key, msg); }
};

// A plain (unquoted) scalar: numbers and booleans written in quotes are strings, not numbers.
bool Plain(const YAML::Node& n) { return n.IsScalar() && n.Tag() != "!"; }

Status ReadText(const YAML::Node& n, const At& at, std::string* out) {
  if (!n.IsScalar()) return at.Error(std::string("expected a string, found ") + KindName(n));
  *out = n.Scalar();
  return Status::OK();
}

Status ReadNumber(const YAML::Node& n, const At& at, const char* what, double* out) {
  if (!Plain(n)) return at.Error(std::string("expected ") + what + ", found " + KindName(n));
  const std::string& s = n.Scalar();
  char* end = nullptr;
  double v = strtod(s.c_str(), &end);
  if (s.empty() || *end != '\0' || !std::isfinite(v))
    return at.Error(std::string("expected ") + what + ", found '" + s + "'");
  *out = v;
  return Status::OK();
}

Status ReadInt(const YAML::Node& n, const At& at, const char* what, int min, int* out,
               double max = 1e6) {
  double v = 0;
  ROBOTNI_RETURN_IF_ERROR(ReadNumber(n, at, what, &v));
  if (v != std::floor(v) || v < min || v > max)
    return at.Error(std::string("expected ") + what + ", found '" + n.Scalar() + "'");
  *out = static_cast<int>(v);
  return Status::OK();
}

Status ReadBool(const YAML::Node& n, const At& at, bool* out) {
  bool v = false;
  if (!Plain(n) || !YAML::convert<bool>::decode(n, v))
    return at.Error(std::string("expected true or false, found ") +
                    (n.IsScalar() ? "'" + n.Scalar() + "'" : KindName(n)));
  *out = v;
  return Status::OK();
}

// A list of strings, or one string with comma-separated entries (as the flag takes them).
Status ReadList(const YAML::Node& n, const At& at, std::vector<std::string>* out) {
  std::vector<std::string> v;
  if (n.IsScalar()) {
    std::string s = n.Scalar();
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      if (comma == std::string::npos) comma = s.size();
      if (comma > start) v.push_back(s.substr(start, comma - start));
      start = comma + 1;
    }
  } else if (n.IsSequence()) {
    for (size_t i = 0; i < n.size(); ++i) {
      if (!n[i].IsScalar())
        return ErrorAt(at.file, LineOf(n[i], at.line), at.key + "[" + std::to_string(i) + "]",
                       std::string("expected a string, found ") + KindName(n[i]));
      v.push_back(n[i].Scalar());
    }
  } else if (!n.IsNull()) {
    return at.Error(std::string("expected a list of strings, found ") + KindName(n));
  }
  *out = std::move(v);
  return Status::OK();
}

Status ReadChoice(const YAML::Node& n, const At& at, std::initializer_list<const char*> choices,
                  std::string* out) {
  std::string v;
  ROBOTNI_RETURN_IF_ERROR(ReadText(n, at, &v));
  std::string names;
  for (const char* c : choices) {
    if (v == c) {
      *out = v;
      return Status::OK();
    }
    names += std::string(names.empty() ? "" : " or ") + c;
  }
  return at.Error("expected " + names + ", found '" + v + "'");
}

// A path relative to the config file's directory (URLs stay as they are).
std::string Resolve(const fs::path& base, const std::string& p) {
  if (p.empty() || p.find("://") != std::string::npos || fs::path(p).is_absolute()) return p;
  return (base / p).lexically_normal().string();
}

using Reader = std::function<Status(const YAML::Node&, const At&, ServeFlags*)>;

// One entry per top-level key but `webhooks`; `b` is the config file's directory.
std::map<std::string, Reader> TopLevelKeys(const fs::path& b) {
  std::map<std::string, Reader> keys;
  keys["robot"] = [b](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(ReadText(n, at, &f->robot));
    f->robot = Resolve(b, f->robot);
    return Status::OK();
  };
  keys["listen"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadText(n, at, &f->listen);
  };
  keys["store"] = [b](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(ReadText(n, at, &f->store));
    f->store = Resolve(b, f->store);
    return Status::OK();
  };
  keys["types"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadList(n, at, &f->types);
  };
  keys["jobs"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadList(n, at, &f->jobs);
  };
  keys["concurrency"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadInt(n, at, "a positive integer", 1, &f->concurrency);
  };
  keys["grace"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(ReadNumber(n, at, "seconds (a number >= 0)", &f->grace));
    return f->grace < 0 ? at.Error("expected seconds (a number >= 0), found '" + n.Scalar() + "'")
                        : Status::OK();
  };
  keys["isolation"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadChoice(n, at, {"process", "subinterpreter", "main"}, &f->isolation);
  };
  keys["durability"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadChoice(n, at, {"fast", "full"}, &f->durability);
  };
  keys["workers"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadInt(n, at, "an integer >= 0 (0: one per core)", 0, &f->workers);
  };
  keys["job_timeout"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(ReadNumber(n, at, "seconds (a number >= 0)", &f->job_timeout));
    return f->job_timeout < 0
               ? at.Error("expected seconds (a number >= 0), found '" + n.Scalar() + "'")
               : Status::OK();
  };
  keys["lease"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(ReadNumber(n, at, "seconds (a number >= 1)", &f->lease));
    return f->lease < 1 ? at.Error("expected seconds (a number >= 1), found '" + n.Scalar() + "'")
                        : Status::OK();
  };
  keys["reserve_ahead"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(ReadNumber(n, at, "seconds (a number from 0 to 1)", &f->reserve_ahead));
    return f->reserve_ahead < 0 || f->reserve_ahead > 1
               ? at.Error("expected seconds (a number from 0 to 1), found '" + n.Scalar() + "'")
               : Status::OK();
  };
  keys["kill_grace"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(ReadNumber(n, at, "seconds (a number >= 0)", &f->kill_grace));
    return f->kill_grace < 0
               ? at.Error("expected seconds (a number >= 0), found '" + n.Scalar() + "'")
               : Status::OK();
  };
  keys["memory_limit"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadInt(n, at, "MiB (an integer >= 0)", 0, &f->memory_limit);
  };
  keys["max_jobs_per_worker"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadInt(n, at, "an integer >= 0", 0, &f->max_jobs_per_worker);
  };
  keys["max_output"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadInt(n, at, "bytes (an integer >= 0)", 0, &f->max_output, INT32_MAX);
  };
  keys["max_payload"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadInt(n, at, "bytes (an integer >= 1024)", 1024, &f->max_payload, INT32_MAX);
  };
  keys["token_file"] = [b](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(ReadText(n, at, &f->token_file));
    f->token_file = Resolve(b, f->token_file);
    return Status::OK();
  };
  keys["no_auth"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadBool(n, at, &f->no_auth);
  };
  keys["rate_limit"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(
        ReadNumber(n, at, "requests per second (a number >= 0)", &f->rate_limit));
    return f->rate_limit < 0 ? at.Error("expected requests per second (a number >= 0), found '" +
                                        n.Scalar() + "'")
                             : Status::OK();
  };
  keys["public_metrics"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadBool(n, at, &f->public_metrics);
  };
  keys["access_log"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadBool(n, at, &f->access_log);
  };
  keys["tasks"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadList(n, at, &f->tasks);
  };
  keys["task_timeout"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    ROBOTNI_RETURN_IF_ERROR(ReadNumber(n, at, "seconds (a number >= 0)", &f->task_timeout));
    return f->task_timeout < 0
               ? at.Error("expected seconds (a number >= 0), found '" + n.Scalar() + "'")
               : Status::OK();
  };
  keys["log_format"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadChoice(n, at, {"text", "json"}, &f->log_format);
  };
  keys["log_level"] = [](const YAML::Node& n, const At& at, ServeFlags* f) {
    return ReadChoice(n, at, {"debug", "info", "warn", "error"}, &f->log_level);
  };
  return keys;
}

Status ReadWebhooks(const YAML::Node& n, const At& at, const std::set<std::string>& cli_given,
                    ServeFlags* f) {
  if (n.IsNull()) return Status::OK();
  if (!n.IsMap()) return at.Error(std::string("expected a map, found ") + KindName(n));
  for (const auto& [key, val] : config::internal::MapEntries(n)) {
    std::string name = key.IsScalar() ? key.Scalar() : "";
    At sub{at.file, LineOf(key, at.line), "webhooks." + name};
    if (name == "secret") {
      std::string secret;
      ROBOTNI_RETURN_IF_ERROR(ReadText(val, sub, &secret));
      if (!cli_given.count("webhook_secret")) f->webhook_secret = secret;
    } else if (name == "max_attempts") {
      ROBOTNI_RETURN_IF_ERROR(ReadInt(val, sub, "a positive integer", 1, &f->webhook_max_attempts));
    } else if (name == "timeout_seconds") {
      ROBOTNI_RETURN_IF_ERROR(ReadNumber(val, sub, "seconds (a number > 0)", &f->webhook_timeout));
      if (f->webhook_timeout <= 0)
        return sub.Error("expected seconds (a number > 0), found '" + val.Scalar() + "'");
    } else if (name == "allow") {
      std::vector<std::string> allow;
      ROBOTNI_RETURN_IF_ERROR(ReadList(val, sub, &allow));
      auto policy = http::AddressPolicy::Make(allow);
      if (!policy.ok()) return sub.Error(policy.status().message());
      if (!cli_given.count("webhook_allow")) f->webhook_allow = std::move(allow);
    } else {
      return sub.Error("unknown key (webhooks has secret, max_attempts, timeout_seconds, allow)");
    }
  }
  return Status::OK();
}

Status ReadHttp(const YAML::Node& n, const At& at, ServeFlags* f) {
  if (n.IsNull()) return Status::OK();
  if (!n.IsMap()) return at.Error(std::string("expected a map, found ") + KindName(n));
  for (const auto& entry : config::internal::MapEntries(n)) {
    // Named, not a structured binding: clang 14 (the fuzz build) cannot capture those.
    const YAML::Node& key = entry.first;
    const YAML::Node& val = entry.second;
    std::string name = key.IsScalar() ? key.Scalar() : "";
    At sub{at.file, LineOf(key, at.line), "http." + name};
    auto seconds = [&](double* out) -> Status {
      ROBOTNI_RETURN_IF_ERROR(ReadNumber(val, sub, "seconds (a number > 0)", out));
      if (*out <= 0 || *out > 86'400)
        return sub.Error("expected seconds (a number > 0, at most 86400), found '" + val.Scalar() +
                         "'");
      return Status::OK();
    };
    if (name == "header_timeout_seconds") {
      ROBOTNI_RETURN_IF_ERROR(seconds(&f->header_timeout));
    } else if (name == "request_timeout_seconds") {
      ROBOTNI_RETURN_IF_ERROR(seconds(&f->request_timeout));
    } else if (name == "max_connections_per_client") {
      ROBOTNI_RETURN_IF_ERROR(
          ReadInt(val, sub, "a positive integer", 1, &f->max_connections_per_client));
    } else if (name == "max_request_bytes") {
      double v = 0;
      ROBOTNI_RETURN_IF_ERROR(ReadNumber(val, sub, "bytes (an integer >= 1048576)", &v));
      if (v != std::floor(v) || v < (1 << 20) || v > 1e12)
        return sub.Error("expected bytes (an integer >= 1048576), found '" + val.Scalar() + "'");
      f->max_request_bytes = v > 2e9 ? 2'000'000'000 : static_cast<int>(v);
    } else if (name == "max_unsent_bytes") {
      ROBOTNI_RETURN_IF_ERROR(
          ReadInt(val, sub, "bytes (an integer >= 65536)", 65536, &f->max_unsent_bytes));
    } else if (name == "auth_failures_per_minute") {
      ROBOTNI_RETURN_IF_ERROR(
          ReadNumber(val, sub, "a number >= 0 (0: no limit)", &f->auth_failures_per_minute));
      if (f->auth_failures_per_minute < 0)
        return sub.Error("expected a number >= 0 (0: no limit), found '" + val.Scalar() + "'");
    } else {
      return sub.Error(
          "unknown key (http has header_timeout_seconds, request_timeout_seconds, "
          "max_connections_per_client, max_request_bytes, max_unsent_bytes, "
          "auth_failures_per_minute)");
    }
  }
  return Status::OK();
}

// `job_types: {name: {limits}}`.
Status ReadJobTypes(const YAML::Node& n, const At& at, ServeFlags* f) {
  std::map<std::string, Limits> types;
  if (!n.IsNull() && !n.IsMap())
    return at.Error(std::string("expected a map of job type name to limits, found ") + KindName(n));
  for (const auto& [key, val] : config::internal::MapEntries(n)) {
    int line = LineOf(key, at.line);
    if (!key.IsScalar() || key.Scalar().empty())
      return ErrorAt(at.file, line, at.key, "a job type name must be a non-empty string");
    Limits limits;
    ROBOTNI_RETURN_IF_ERROR(ReadLimits(val, at.file, line, at.key + "." + key.Scalar(),
                                       "max_jobs_per_worker", &limits));
    types[key.Scalar()] = limits;
  }
  f->job_types = std::move(types);
  return Status::OK();
}

}  // namespace

Status ApplyServeConfig(const std::string& path, const std::set<std::string>& cli_given,
                        ServeFlags* flags) {
  auto text = config::internal::ReadWholeFile(path);
  if (!text.ok()) return text.status();
  StatusOr<YAML::Node> doc = config::internal::ParseYamlDocument(*text, path, "YAML");
  if (!doc.ok()) return doc.status();
  if (!doc->IsDefined() || doc->IsNull()) return Status::OK();  // an empty file sets nothing
  if (!doc->IsMap())
    return ErrorAt(path, LineOf(*doc, 1), "config",
                   std::string("expected a map of settings, found ") + KindName(*doc));
  fs::path base = config::internal::AbsoluteNormal(path).parent_path();
  const auto keys = TopLevelKeys(base);
  ServeFlags out = *flags;
  std::set<std::string> seen;
  try {
    for (const auto& [key, val] : config::internal::MapEntries(*doc)) {
      int line = LineOf(key, 1);
      if (!key.IsScalar())
        return ErrorAt(path, line, "config",
                       std::string("a key must be a string, found ") + KindName(key));
      const std::string& name = key.Scalar();
      At at{path, line, name};
      if (!seen.insert(name).second) return at.Error("duplicate key");
      if (name == "webhooks") {
        ROBOTNI_RETURN_IF_ERROR(ReadWebhooks(val, at, cli_given, &out));
        continue;
      }
      if (name == "http") {
        ROBOTNI_RETURN_IF_ERROR(ReadHttp(val, at, &out));
        continue;
      }
      if (name == "job_types") {
        ROBOTNI_RETURN_IF_ERROR(ReadJobTypes(val, at, &out));
        continue;
      }
      if (name == "schedules") {
        ROBOTNI_RETURN_IF_ERROR(ReadSchedules(val, path, line, &out.schedules));
        continue;
      }
      auto it = keys.find(name);
      if (it == keys.end()) {
        std::string known;
        for (const auto& [k, r] : keys) known += k + ", ";
        return at.Error("unknown key (known: " + known + "job_types, schedules, webhooks, http)");
      }
      // A flag given on the command line wins: the key is still checked.
      ServeFlags scratch = out;
      ROBOTNI_RETURN_IF_ERROR(it->second(val, at, &scratch));
      if (!cli_given.count(name)) out = std::move(scratch);
    }
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(path + ": " + e.what());
  }
  *flags = std::move(out);
  return Status::OK();
}

void ApplyServeEnvironment(const std::set<std::string>& cli_given, ServeFlags* flags) {
  const char* secret = getenv("ROBOTNI_WEBHOOK_SECRET");
  if (secret && *secret && !cli_given.count("webhook_secret")) flags->webhook_secret = secret;
}

Status ValidateServeFlags(const ServeFlags& f) {
  log::Level level;
  log::Format format;
  if (!log::ParseFormat(f.log_format, &format))
    return Status::InvalidArgument("log_format: expected text or json, got '" + f.log_format + "'");
  if (!log::ParseLevel(f.log_level, &level))
    return Status::InvalidArgument("log_level: expected debug, info, warn or error, got '" +
                                   f.log_level + "'");
  if (!f.isolation.empty() && f.isolation != "main" && f.isolation != "subinterpreter" &&
      f.isolation != "process")
    return Status::InvalidArgument("isolation: expected process, subinterpreter or main, got '" +
                                   f.isolation + "'");
  if (f.durability != "fast" && f.durability != "full")
    return Status::InvalidArgument("durability: expected fast or full, got '" + f.durability + "'");
  if (f.workers < 0) return Status::InvalidArgument("workers: must be 0 (one per core) or more");
  if (f.job_timeout < 0 || f.kill_grace < 0)
    return Status::InvalidArgument("job_timeout and kill_grace: must not be negative");
  if (!(f.lease >= 1)) return Status::InvalidArgument("lease: must be at least 1 second");
  if (!(f.reserve_ahead >= 0 && f.reserve_ahead <= 1))
    return Status::InvalidArgument("reserve_ahead: must be from 0 to 1 second");
  if (f.memory_limit < 0 || f.max_jobs_per_worker < 0 || f.max_output < 0)
    return Status::InvalidArgument(
        "memory_limit, max_jobs_per_worker and max_output: must not be negative");
  if (f.max_payload < 1024) return Status::InvalidArgument("max_payload: must be at least 1024");
  if (f.concurrency < 1) return Status::InvalidArgument("concurrency: must be at least 1");
  if (f.grace < 0) return Status::InvalidArgument("grace: must not be negative");
  if (f.rate_limit < 0) return Status::InvalidArgument("rate_limit: must not be negative");
  if (f.header_timeout <= 0 || f.request_timeout <= 0)
    return Status::InvalidArgument(
        "http.header_timeout_seconds and http.request_timeout_seconds: must be positive");
  if (f.max_connections_per_client < 1)
    return Status::InvalidArgument("http.max_connections_per_client: must be at least 1");
  if (f.auth_failures_per_minute < 0)
    return Status::InvalidArgument("http.auth_failures_per_minute: must not be negative");
  if (f.webhook_max_attempts < 1)
    return Status::InvalidArgument("webhooks.max_attempts: must be at least 1");
  if (f.webhook_timeout <= 0)
    return Status::InvalidArgument("webhooks.timeout_seconds: must be positive");
  if (auto policy = http::AddressPolicy::Make(f.webhook_allow); !policy.ok())
    return Status::InvalidArgument("webhooks.allow: " + policy.status().message());
  return Status::OK();
}

std::vector<std::string> RestartOnlyChanges(const ServeFlags& a, const ServeFlags& b) {
  std::vector<std::string> out;
  if (a.listen != b.listen) out.push_back("listen");
  if (a.store != b.store) out.push_back("store");
  if (a.robot != b.robot) out.push_back("robot");
  if (a.jobs != b.jobs) out.push_back("jobs");
  if (a.types != b.types) out.push_back("types");
  if (a.concurrency != b.concurrency) out.push_back("concurrency");
  if (a.isolation != b.isolation) out.push_back("isolation");
  if (a.durability != b.durability) out.push_back("durability");
  if (a.workers != b.workers) out.push_back("workers");
  if (a.job_timeout != b.job_timeout) out.push_back("job_timeout");
  if (a.kill_grace != b.kill_grace) out.push_back("kill_grace");
  if (a.lease != b.lease) out.push_back("lease");
  if (a.reserve_ahead != b.reserve_ahead) out.push_back("reserve_ahead");
  if (a.memory_limit != b.memory_limit) out.push_back("memory_limit");
  if (a.max_jobs_per_worker != b.max_jobs_per_worker) out.push_back("max_jobs_per_worker");
  if (a.max_output != b.max_output) out.push_back("max_output");
  if (a.job_types != b.job_types) out.push_back("job_types");
  if (a.schedules != b.schedules) out.push_back("schedules");
  if (a.max_payload != b.max_payload) out.push_back("max_payload");
  if (a.no_auth != b.no_auth) out.push_back("no_auth");
  if (a.tasks != b.tasks) out.push_back("tasks");
  if (a.task_timeout != b.task_timeout) out.push_back("task_timeout");
  if (a.header_timeout != b.header_timeout) out.push_back("http.header_timeout_seconds");
  if (a.request_timeout != b.request_timeout) out.push_back("http.request_timeout_seconds");
  if (a.max_connections_per_client != b.max_connections_per_client)
    out.push_back("http.max_connections_per_client");
  if (a.max_request_bytes != b.max_request_bytes) out.push_back("http.max_request_bytes");
  if (a.max_unsent_bytes != b.max_unsent_bytes) out.push_back("http.max_unsent_bytes");
  return out;
}

void KeepRestartOnly(const ServeFlags& running, ServeFlags* next) {
  next->listen = running.listen;
  next->store = running.store;
  next->robot = running.robot;
  next->jobs = running.jobs;
  next->types = running.types;
  next->concurrency = running.concurrency;
  next->isolation = running.isolation;
  next->durability = running.durability;
  next->workers = running.workers;
  next->job_timeout = running.job_timeout;
  next->kill_grace = running.kill_grace;
  next->lease = running.lease;
  next->reserve_ahead = running.reserve_ahead;
  next->memory_limit = running.memory_limit;
  next->max_jobs_per_worker = running.max_jobs_per_worker;
  next->max_output = running.max_output;
  next->job_types = running.job_types;
  next->schedules = running.schedules;
  next->max_payload = running.max_payload;
  next->no_auth = running.no_auth;
  next->tasks = running.tasks;
  next->task_timeout = running.task_timeout;
  next->header_timeout = running.header_timeout;
  next->request_timeout = running.request_timeout;
  next->max_connections_per_client = running.max_connections_per_client;
  next->max_request_bytes = running.max_request_bytes;
  next->max_unsent_bytes = running.max_unsent_bytes;
}

std::set<std::string> GivenKeys(const std::function<bool(const std::string& flag)>& is_given) {
  std::set<std::string> out;
  // clang-format off
  for (const char* key : {"robot",
                          "listen",
                          "store",
                          "types",
                          "jobs",
                          "concurrency",
                          "grace",
                          "isolation",
                          "durability",
                          "workers",
                          "job_timeout",
                          "kill_grace",
                          "lease",
                          "reserve_ahead",
                          "memory_limit",
                          "max_jobs_per_worker",
                          "max_output",
                          "max_payload",
                          "token_file",
                          "no_auth",
                          "rate_limit",
                          "public_metrics",
                          "access_log",
                          "tasks",
                          "task_timeout",
                          "log_format",
                          "log_level",
                          "webhook_allow"}) {
    // clang-format on
    std::string flag = std::string("--") + key;
    std::replace(flag.begin(), flag.end(), '_', '-');
    if (is_given(flag)) out.insert(key);
  }
  return out;
}

}  // namespace robotni::config
