#include "exec/python_jobs.h"

#include <cstdio>
#include <optional>

#include "exec/job_type.h"
#include "exec/run_capture.h"

namespace robotni::exec {

namespace {

std::string PyRepr(const std::string& s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

python::TaskSpec CodeSpec(const std::string& code, const PythonJobsConfig& c) {
  python::TaskSpec spec;
  spec.command.mode = python::PythonCommand::Mode::kCode;
  spec.command.target = code;
  spec.command.argv = {"-c"};
  spec.path_prepend = c.sys_path;
  for (const auto& kv : c.environ_keys_values) {
    auto eq = kv.find('=');
    if (eq != std::string::npos) spec.environ.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return spec;
}

std::string LoaderCode(const PythonJobsConfig& c, uint64_t generation) {
  std::string list = "[";
  for (const auto& m : c.job_modules) list += PyRepr(m) + ",";
  list += "]";
  return "import robotni._jobs as _j\n_j.ensure_loaded(" + list + ", " + PyRepr(c.robot_root) +
         ", " + std::to_string(generation) + ")\n";
}

}  // namespace

namespace {

template <typename T>
nlohmann::json Optional(const std::optional<T>& v) {
  return v ? nlohmann::json(*v) : nlohmann::json();
}

template <typename T>
std::optional<T> OptionalFrom(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_number()) return std::nullopt;
  return it->get<T>();
}

}  // namespace

nlohmann::json JobTypesToJson(const std::vector<JobTypeInfo>& types) {
  nlohmann::json out = nlohmann::json::array();
  for (const auto& t : types) {
    nlohmann::json schedule;  // null: none
    if (!t.schedule_cron.empty())
      schedule = {{"cron", t.schedule_cron},
                  {"timezone", t.schedule_timezone},
                  {"params", t.schedule_params}};
    out.push_back({{"type", t.name},
                   {"schema", t.schema},
                   {"concurrency", t.concurrency},
                   {"max_attempts", t.max_attempts},
                   {"timeout", Optional(t.limits.timeout)},
                   {"kill_grace", Optional(t.limits.kill_grace)},
                   {"memory_limit", Optional(t.limits.memory_limit_mb)},
                   {"max_jobs_per_worker", Optional(t.limits.max_runs_per_worker)},
                   {"max_output", Optional(t.limits.max_output_bytes)},
                   {"module", t.module},
                   {"doc", t.doc},
                   {"schedule", schedule}});
  }
  return out;
}

std::vector<JobTypeInfo> JobTypesFromJson(const nlohmann::json& doc) {
  std::vector<JobTypeInfo> types;
  if (!doc.is_array()) return types;
  for (const auto& t : doc) {
    if (!t.is_object()) continue;
    JobTypeInfo info;
    info.name = t.value("type", "");
    info.schema = t.value("schema", nlohmann::json::object());
    info.concurrency = t.value("concurrency", 0);
    info.max_attempts = t.value("max_attempts", 0);
    info.limits.timeout = OptionalFrom<double>(t, "timeout");
    info.limits.kill_grace = OptionalFrom<double>(t, "kill_grace");
    info.limits.memory_limit_mb = OptionalFrom<int64_t>(t, "memory_limit");
    info.limits.max_runs_per_worker = OptionalFrom<int64_t>(t, "max_jobs_per_worker");
    info.limits.max_output_bytes = OptionalFrom<int64_t>(t, "max_output");
    info.module = t.value("module", "");
    info.doc = t.value("doc", "");
    if (auto sched = t.find("schedule"); sched != t.end() && sched->is_object()) {
      info.schedule_cron = sched->value("cron", "");
      info.schedule_timezone = sched->value("timezone", "UTC");
      info.schedule_params = sched->value("params", nlohmann::json::object());
    }
    types.push_back(std::move(info));
  }
  return types;
}

StatusOr<std::vector<JobTypeInfo>> LoadPythonJobTypes(python::InterpreterPool* pool,
                                                      const PythonJobsConfig& config,
                                                      uint64_t generation) {
  auto lease = pool->Acquire(config.robot_key, config.kind);
  if (!lease.ok()) return lease.status();
  RunCapture out(/*echo=*/false);
  out.set_keep_in_memory(true);
  auto r = (*lease)->Run(
      CodeSpec(LoaderCode(config, generation) + "print(_j.describe_all())", config), &out);
  if (r.exit_code != 0) return Status::PythonError("loading job modules failed:\n" + out.text(2));
  auto doc = nlohmann::json::parse(out.text(1), nullptr, false);
  if (doc.is_discarded() || !doc.is_array())
    return Status::PythonError("job modules printed to stdout while loading: " + out.text(1));
  return JobTypesFromJson(doc);
}

PythonJobRun RunPythonJob(python::InterpreterPool* pool, const PythonJobsConfig& config,
                          uint64_t generation, python::JobBackend* job, double timeout,
                          int64_t max_output_bytes,
                          std::function<void(int stream, std::string_view text)> on_output) {
  bool given = false;
  PythonJobRun out;
  RunPythonJobs(
      pool, config, generation,
      [&](PythonJobSpec* s) {
        if (given) return false;
        given = true;
        *s = {job, timeout, max_output_bytes, std::move(on_output)};
        return true;
      },
      [&](PythonJobRun run) { out = std::move(run); });
  return out;
}

void RunPythonJobs(python::InterpreterPool* pool, const PythonJobsConfig& config,
                   uint64_t generation, const std::function<bool(PythonJobSpec* job)>& next,
                   const std::function<void(PythonJobRun run)>& done) {
  const std::string not_reported = "the job's handler did not report an outcome";
  auto lease = pool->Acquire(config.robot_key, config.kind);
  if (!lease.ok()) {
    for (PythonJobSpec s; next(&s);) {
      PythonJobRun run;
      run.why = "no interpreter: " + lease.status().message();
      done(std::move(run));
    }
    return;
  }
  // One spec for every job (its environment is ~90 strings): only the timeout differs.
  python::TaskSpec spec = CodeSpec(LoaderCode(config, generation) + "_j.call_current()\n", config);
  PythonJobSpec current;
  std::optional<RunCapture> capture;
  (*lease)->RunEach(
      [&](const python::TaskSpec** task, python::TaskContext** context) {
        current = PythonJobSpec();
        if (!next(&current)) return false;
        capture.emplace(/*echo=*/false);
        capture->set_keep_in_memory(true);
        capture->set_max_kept_bytes(current.max_output_bytes);
        capture->set_job(current.job);
        if (current.on_output) capture->set_sink(std::move(current.on_output));
        spec.timeout_seconds = current.timeout;
        *task = &spec;
        *context = &*capture;
        return true;
      },
      [&](python::TaskResult r) {
        PythonJobRun run;
        run.why = not_reported;
        run.log = capture->text(1) + capture->text(2);
        if (r.outcome == python::TaskResult::Outcome::kTimeout) {
          run.timed_out = true;
          char seconds[32];
          snprintf(seconds, sizeof seconds, "%g", current.timeout);
          run.why = std::string("timed out after ") + seconds + " s";
        } else if (r.exit_code != 0) {
          run.why = "the job's interpreter failed: " + capture->text(2);
        }
        capture.reset();
        done(std::move(run));
      });
}

}  // namespace robotni::exec
