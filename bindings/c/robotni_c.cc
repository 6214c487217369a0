// The C API (robotni/robotni.h) over the C++ Runtime: opaque handles, codes plus an errptr,
// JSON for structures. Every entry point is noexcept and catches what the C++ side or
// nlohmann could throw, so no exception reaches a C caller.
#include "robotni/robotni.h"

#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>

#include <nlohmann/json.hpp>

#include "robotni/runtime.h"

struct robotni_runtime_t {
  std::unique_ptr<robotni::Runtime> rep;
};

struct robotni_job_t {
  robotni::Job* rep;
};

namespace {

using robotni::Status;
using json = nlohmann::json;

thread_local std::string t_last_error;

char* CopyString(const std::string& s) {
  char* out = static_cast<char*>(std::malloc(s.size() + 1));
  if (!out) std::abort();  // out of memory is fatal, as in the runtime
  std::memcpy(out, s.data(), s.size());
  out[s.size()] = '\0';
  return out;
}

robotni_code CodeOf(const Status& s) {
  using C = Status::Code;
  switch (s.code()) {
    case C::kOk:
      return ROBOTNI_OK;
    case C::kNotFound:
      return ROBOTNI_NOT_FOUND;
    case C::kInvalidArgument:
      return ROBOTNI_INVALID_ARGUMENT;
    case C::kBusy:
      return ROBOTNI_BUSY;
    case C::kIOError:
      return ROBOTNI_IO_ERROR;
    case C::kPythonError:
      return ROBOTNI_PYTHON_ERROR;
    case C::kCancelled:
      return ROBOTNI_CANCELLED;
    case C::kTimeout:
      return ROBOTNI_TIMEOUT;
    case C::kConflict:
      return ROBOTNI_CONFLICT;
    case C::kUnsupported:
      return ROBOTNI_UNSUPPORTED;
  }
  return ROBOTNI_INTERNAL;
}

robotni_code Fail(robotni_code code, const std::string& message, char** errptr) {
  t_last_error = message;
  if (errptr) {
    std::free(*errptr);
    *errptr = CopyString(message);
  }
  return code;
}

robotni_code Fail(const Status& s, char** errptr) { return Fail(CodeOf(s), s.message(), errptr); }

// Parses an optional JSON object argument ("" or NULL = {}).
bool ParseObject(const char* text, const char* what, json* out, char** errptr, robotni_code* rc) {
  if (!text || !*text) {
    *out = json::object();
    return true;
  }
  *out = json::parse(text, nullptr, false);
  if (out->is_discarded() || !out->is_object()) {
    *rc = Fail(ROBOTNI_INVALID_ARGUMENT, std::string(what) + ": expected a JSON object", errptr);
    return false;
  }
  return true;
}

std::vector<std::string> Strings(const json& j, const char* key) {
  std::vector<std::string> out;
  if (j.contains(key) && j[key].is_array())
    for (const auto& v : j[key])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

#define ROBOTNI_C_GUARD(errptr)                                                        \
  catch (const std::exception& e) {                                                    \
    return Fail(ROBOTNI_INTERNAL, std::string("internal error: ") + e.what(), errptr); \
  }                                                                                    \
  catch (...) {                                                                        \
    return Fail(ROBOTNI_INTERNAL, "internal error", errptr);                           \
  }

// The state of a C job type, freed with its destructor when the runtime lets go of it.
struct CJobType {
  robotni_job_fn fn;
  void* state;
  void (*destructor)(void*);
  ~CJobType() {
    if (destructor) destructor(state);
  }
};

}  // namespace

extern "C" {

const char* robotni_version(void) { return ROBOTNI_VERSION; }

const char* robotni_last_error(void) { return t_last_error.c_str(); }

void robotni_free(void* ptr) { std::free(ptr); }

robotni_code robotni_runtime_open(const char* options_json, robotni_runtime_t** runtime,
                                  char** errptr) try {
  if (!runtime) return Fail(ROBOTNI_INVALID_ARGUMENT, "runtime: NULL", errptr);
  *runtime = nullptr;
  json o;
  robotni_code rc;
  if (!ParseObject(options_json, "options", &o, errptr, &rc)) return rc;
  robotni::RuntimeOptions ro;
  ro.store = o.value("store", "");
  ro.robot = o.value("robot", "");
  ro.isolation = o.value("isolation", "");
  ro.concurrency = o.value("concurrency", 2);
  ro.job_modules = Strings(o, "job_modules");
  ro.types = Strings(o, "types");
  ro.owner = o.value("owner", "");
  ro.log_level = o.value("log_level", "info");
  auto opened = robotni::Runtime::Open(ro);
  if (!opened.ok()) return Fail(opened.status(), errptr);
  *runtime = new robotni_runtime_t{std::move(opened).value()};
  return ROBOTNI_OK;
} catch (const json::exception& e) {
  return Fail(ROBOTNI_INVALID_ARGUMENT, std::string("options: ") + e.what(), errptr);
}
ROBOTNI_C_GUARD(errptr)

void robotni_runtime_close(robotni_runtime_t* runtime) {
  try {
    delete runtime;
  } catch (...) {
  }
}

robotni_code robotni_run_task(robotni_runtime_t* runtime, const char* task, const char* env_json,
                              int* exit_code, char** output, char** errptr) try {
  if (!runtime || !task) return Fail(ROBOTNI_INVALID_ARGUMENT, "runtime or task: NULL", errptr);
  json env;
  robotni_code rc;
  if (!ParseObject(env_json, "env", &env, errptr, &rc)) return rc;
  std::map<std::string, std::string> vars;
  for (const auto& [k, v] : env.items()) vars[k] = v.is_string() ? v.get<std::string>() : v.dump();
  auto outcome = runtime->rep->RunTask(task, vars);
  if (!outcome.ok()) return Fail(outcome.status(), errptr);
  if (exit_code) *exit_code = outcome->exit_code;
  if (output) *output = CopyString(outcome->stdout_text + outcome->stderr_text);
  if (!outcome->ok()) t_last_error = outcome->message;
  return ROBOTNI_OK;
}
ROBOTNI_C_GUARD(errptr)

robotni_code robotni_enqueue(robotni_runtime_t* runtime, const char* queue,
                             const char* payload_json, const char* options_json, char** id,
                             char** errptr) try {
  if (!runtime || !queue) return Fail(ROBOTNI_INVALID_ARGUMENT, "runtime or queue: NULL", errptr);
  json o;
  robotni_code rc;
  if (!ParseObject(options_json, "options", &o, errptr, &rc)) return rc;
  robotni::EnqueueRequest r;
  r.queue = queue;
  r.payload_json = payload_json && *payload_json ? payload_json : "{}";
  r.priority = o.value("priority", 0);
  r.run_at_ms = o.value("run_at_ms", int64_t{0});
  r.max_attempts = o.value("max_attempts", 3);
  r.idempotency_key = o.value("idempotency_key", "");
  if (o.contains("files") && o["files"].is_object())
    for (const auto& [name, content] : o["files"].items())
      r.files[name] = content.is_string() ? content.get<std::string>() : content.dump();
  auto made = runtime->rep->Enqueue(r);
  if (!made.ok()) return Fail(made.status(), errptr);
  if (id) *id = CopyString(*made);
  return ROBOTNI_OK;
} catch (const json::exception& e) {
  return Fail(ROBOTNI_INVALID_ARGUMENT, std::string("options: ") + e.what(), errptr);
}
ROBOTNI_C_GUARD(errptr)

robotni_code robotni_item_get(robotni_runtime_t* runtime, const char* id, char** item_json,
                              char** errptr) try {
  if (!runtime || !id) return Fail(ROBOTNI_INVALID_ARGUMENT, "runtime or id: NULL", errptr);
  auto item = runtime->rep->Get(id);
  if (!item.ok()) return Fail(item.status(), errptr);
  if (item_json) *item_json = CopyString(item->ToJson());
  return ROBOTNI_OK;
}
ROBOTNI_C_GUARD(errptr)

robotni_code robotni_wait(robotni_runtime_t* runtime, const char* id, double timeout_seconds,
                          char** item_json, char** errptr) try {
  if (!runtime || !id) return Fail(ROBOTNI_INVALID_ARGUMENT, "runtime or id: NULL", errptr);
  auto item = runtime->rep->Wait(id, timeout_seconds);
  if (!item.ok()) return Fail(item.status(), errptr);
  if (item_json) *item_json = CopyString(item->ToJson());
  if (!item->finished())
    return Fail(ROBOTNI_TIMEOUT, "item " + std::string(id) + " is still " + item->state, errptr);
  return ROBOTNI_OK;
}
ROBOTNI_C_GUARD(errptr)

robotni_code robotni_cancel(robotni_runtime_t* runtime, const char* id, char** errptr) try {
  if (!runtime || !id) return Fail(ROBOTNI_INVALID_ARGUMENT, "runtime or id: NULL", errptr);
  Status s = runtime->rep->Cancel(id);
  return s.ok() ? ROBOTNI_OK : Fail(s, errptr);
}
ROBOTNI_C_GUARD(errptr)

robotni_code robotni_register_job_type(robotni_runtime_t* runtime, const char* type,
                                       robotni_job_fn fn, void* state, void (*destructor)(void*),
                                       const char* options_json, char** errptr) try {
  if (!runtime || !type || !fn)
    return Fail(ROBOTNI_INVALID_ARGUMENT, "runtime, type or fn: NULL", errptr);
  json o;
  robotni_code rc;
  if (!ParseObject(options_json, "options", &o, errptr, &rc)) return rc;
  robotni::JobTypeOptions to;
  to.concurrency = o.value("concurrency", 0);
  to.max_attempts = o.value("max_attempts", 0);
  if (o.contains("schema")) to.schema_json = o["schema"].dump();
  // Shared by the handler's copies; the destructor runs when the last copy goes (the
  // runtime's close), or at once if registering fails.
  std::shared_ptr<CJobType> ctype(new CJobType{fn, state, destructor});
  robotni::JobHandler handler = [ctype](robotni::Job& job, std::string* result) -> Status {
    robotni_job_t handle{&job};
    char* out = nullptr;
    char* error = nullptr;
    robotni_code code = ctype->fn(ctype->state, &handle, job.payload_json().c_str(), &out, &error);
    std::string message = error ? error : "";
    if (out) *result = out;
    std::free(out);
    std::free(error);
    if (code == ROBOTNI_OK) return Status::OK();
    if (message.empty()) message = "the job's C handler returned code " + std::to_string(code);
    if (code == ROBOTNI_INVALID_ARGUMENT) return Status::InvalidArgument(message);
    return Status::IOError(message);
  };
  Status s = runtime->rep->RegisterJobType(type, std::move(handler), to);
  return s.ok() ? ROBOTNI_OK : Fail(s, errptr);
} catch (const json::exception& e) {
  return Fail(ROBOTNI_INVALID_ARGUMENT, std::string("options: ") + e.what(), errptr);
}
ROBOTNI_C_GUARD(errptr)

const char* robotni_job_id(robotni_job_t* job) { return job ? job->rep->id().c_str() : ""; }

int robotni_job_attempt(robotni_job_t* job) { return job ? job->rep->attempt() : 0; }

int robotni_job_is_cancelled(robotni_job_t* job) {
  try {
    return job && job->rep->IsCancelled() ? 1 : 0;
  } catch (...) {
    return 0;
  }
}

robotni_code robotni_job_progress(robotni_job_t* job, const char* message) try {
  if (!job || !message) return Fail(ROBOTNI_INVALID_ARGUMENT, "job or message: NULL", nullptr);
  Status s = job->rep->Progress(message);
  return s.ok() ? ROBOTNI_OK : Fail(s, nullptr);
}
ROBOTNI_C_GUARD(nullptr)

robotni_code robotni_serve_start(robotni_runtime_t* runtime, const char* options_json,
                                 char** address, char** errptr) try {
  if (!runtime) return Fail(ROBOTNI_INVALID_ARGUMENT, "runtime: NULL", errptr);
  json o;
  robotni_code rc;
  if (!ParseObject(options_json, "options", &o, errptr, &rc)) return rc;
  robotni::ServeOptions so;
  so.listen = o.value("listen", "127.0.0.1:0");
  so.tokens = Strings(o, "tokens");
  so.token_file = o.value("token_file", "");
  so.no_auth = o.value("no_auth", false);
  so.rate_limit = o.value("rate_limit", 0.0);
  so.public_metrics = o.value("public_metrics", false);
  so.grace = o.value("grace", 30.0);
  so.webhook_secret = o.value("webhook_secret", "");
  auto bound = runtime->rep->StartServing(so);
  if (!bound.ok()) return Fail(bound.status(), errptr);
  if (address) *address = CopyString(*bound);
  return ROBOTNI_OK;
} catch (const json::exception& e) {
  return Fail(ROBOTNI_INVALID_ARGUMENT, std::string("options: ") + e.what(), errptr);
}
ROBOTNI_C_GUARD(errptr)

robotni_code robotni_serve_stop(robotni_runtime_t* runtime, char** errptr) try {
  if (!runtime) return Fail(ROBOTNI_INVALID_ARGUMENT, "runtime: NULL", errptr);
  Status s = runtime->rep->StopServing();
  return s.ok() ? ROBOTNI_OK : Fail(s, errptr);
}
ROBOTNI_C_GUARD(errptr)

}  // extern "C"
