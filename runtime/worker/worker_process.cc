#include "worker/worker_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <thread>

#include "core/base64.h"
#include "exec/run_capture.h"
#include "python/python_dir.h"

extern char** environ;

namespace robotni::worker {

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;
namespace fs = std::filesystem;

json ConfigJson(const exec::PythonJobsConfig& c) {
  return {
      {"robot_key", c.robot_key},
      {"robot_root", c.robot_root},
      {"job_modules", c.job_modules},
      {"sys_path", c.sys_path},
      {"environ", c.environ_keys_values},
      {"kind", c.kind == python::Interpreter::Kind::kSubinterpreter ? "subinterpreter" : "main"}};
}

bool IsExecutable(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec) && access(p.c_str(), X_OK) == 0;
}

std::string Seconds(double s) {
  char buf[32];
  snprintf(buf, sizeof buf, "%g", s);
  return buf;
}

}  // namespace

std::string DescribeExit(int status) {
  if (WIFSIGNALED(status)) {
    int sig = WTERMSIG(status);
    const char* abbrev = sigabbrev_np(sig);
    return "signal " + std::to_string(sig) + (abbrev ? std::string(" (SIG") + abbrev + ")" : "");
  }
  if (WIFEXITED(status)) return "exit code " + std::to_string(WEXITSTATUS(status));
  return "status " + std::to_string(status);
}

std::string DefaultWorkerExecutable() {
  if (const char* env = getenv("ROBOTNI_WORKER_EXECUTABLE"); env && *env) return env;
  fs::path binary = python::RuntimeBinaryPath();
  if (binary.empty()) return "";
  if (binary.filename() == "robotni" && IsExecutable(binary)) return binary.string();
  fs::path dir = binary.parent_path();
  // <prefix>/lib/librobotni.so.0, <prefix>/lib/<multiarch>/librobotni.so.0,
  // <prefix>/lib/python3/dist-packages/robotni/_native.so, or a build tree.
  fs::path up = dir.parent_path();
  for (const fs::path& c :
       {up / "bin" / "robotni", up.parent_path() / "bin" / "robotni",
        up.parent_path().parent_path().parent_path() / "bin" / "robotni", dir / "robotni"}) {
    if (IsExecutable(c)) return c.lexically_normal().string();
  }
  return "";
}

WorkerSpec TaskWorkerSpec(const std::string& root) {
  WorkerSpec spec;
  spec.executable = DefaultWorkerExecutable();
  spec.config.robot_key = spec.config.robot_root = root;
  spec.config.kind = python::Interpreter::Kind::kMain;
  return spec;
}

StatusOr<std::unique_ptr<WorkerProcess>> WorkerProcess::Start(
    const WorkerSpec& spec, std::chrono::milliseconds start_timeout) {
  if (spec.executable.empty())
    return Status::NotFound(
        "cannot find the robotni executable to start worker processes; set "
        "ROBOTNI_WORKER_EXECUTABLE");
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
    return Status::IOError(std::string("socketpair: ") + strerror(errno));
  // dup2 onto fd 3 clears close-on-exec only when the numbers differ.
  if (sv[1] == 3) {
    int moved = fcntl(sv[1], F_DUPFD_CLOEXEC, 4);
    close(sv[1]);
    sv[1] = moved;
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, sv[1], 3);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  std::string exe = spec.executable;
  std::vector<char*> argv = {exe.data(), const_cast<char*>("worker"), const_cast<char*>("--fd"),
                             const_cast<char*>("3"), nullptr};
  pid_t pid = -1;
  int rc = posix_spawn(&pid, exe.c_str(), &actions, &attr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  posix_spawnattr_destroy(&attr);
  close(sv[1]);
  if (rc != 0) {
    close(sv[0]);
    return Status::IOError("cannot start worker process " + exe + ": " + strerror(rc));
  }
  std::unique_ptr<WorkerProcess> w(new WorkerProcess());
  w->pid_ = pid;
  w->fd_ = sv[0];
  w->generation_ = spec.generation;
  Status s = WriteFrame(w->fd_, {{"t", "init"},
                                 {"protocol", kWorkerProtocol},
                                 {"config", ConfigJson(spec.config)},
                                 {"generation", spec.generation}});
  json hello;
  if (s.ok()) s = ReadFrame(w->fd_, &w->reader_, &hello, start_timeout);
  if (!s.ok()) {
    bool timed_out = s.code() == Status::Code::kTimeout;
    if (timed_out) w->Kill("did not start in time");
    w->Reap(/*block=*/true);
    std::string why = "the worker process (pid " + std::to_string(pid) + ") failed to start: " +
                      (timed_out ? std::string("no answer in ") +
                                       std::to_string(start_timeout.count() / 1000) + " s"
                                 : DescribeExit(w->exit_status_));
    // SIGKILL from outside (an operator, the OOM killer): Cancelled, not the worker's fault.
    bool killed =
        !timed_out && WIFSIGNALED(w->exit_status_) && WTERMSIG(w->exit_status_) == SIGKILL;
    return killed ? Status::Cancelled(why) : Status::IOError(why);
  }
  if (hello.value("t", "") != "hello")
    return Status::IOError("the worker process sent " + hello.value("t", "?") + " before hello");
  const int protocol = hello.value("protocol", 1);
  if (protocol != kWorkerProtocol)
    return Status::Unsupported("the worker executable " + spec.executable +
                               " speaks worker protocol " + std::to_string(protocol) +
                               ", this robotni " + std::to_string(kWorkerProtocol) +
                               ": it is another version of robotni (ROBOTNI_WORKER_EXECUTABLE?)");
  if (hello.contains("error"))
    return Status::PythonError(hello["error"].is_string() ? hello["error"].get<std::string>()
                                                          : "the worker process failed to start");
  w->types_ = exec::JobTypesFromJson(hello.value("types", json::array()));
  return w;
}

WorkerProcess::~WorkerProcess() {
  if (fd_ >= 0) close(fd_);  // the worker leaves at once when its stream closes
  if (pid_ <= 0 || exited_) return;
  auto deadline = Clock::now() + std::chrono::seconds(1);
  while (!exited_ && Clock::now() < deadline) {
    Reap(/*block=*/false);
    if (!exited_) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  if (!exited_) {
    Kill("did not leave when told");
    Reap(/*block=*/true);
  }
}

void WorkerProcess::Kill(const std::string& cause) {
  std::lock_guard<std::mutex> l(kill_mu_);
  if (exited_ || pid_ <= 0) return;
  if (kill_cause_.empty()) kill_cause_ = cause;
  kill(pid_, SIGKILL);
}

void WorkerProcess::Reap(bool block) {
  std::lock_guard<std::mutex> l(kill_mu_);
  if (exited_ || pid_ <= 0) return;
  int status = 0;
  pid_t r;
  do {
    r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  } while (r < 0 && errno == EINTR);
  if (r == pid_ || (r < 0 && errno == ECHILD)) {
    exit_status_ = r == pid_ ? status : 0;
    exited_ = true;
  }
}

int64_t WorkerProcess::ResidentBytes() const {
  std::ifstream statm("/proc/" + std::to_string(pid_) + "/statm");
  int64_t size = 0, resident = 0;
  if (!(statm >> size >> resident)) return 0;
  return resident * sysconf(_SC_PAGESIZE);
}

void WorkerProcess::Interrupt() {
  std::lock_guard<std::mutex> l(kill_mu_);
  if (!exited_ && pid_ > 0) kill(pid_, SIGINT);
}

namespace {

json SpecJson(const python::TaskSpec& spec) {
  json environ = json::array();
  for (const auto& [k, v] : spec.environ) environ.push_back({k, v});
  const char* mode = spec.command.mode == python::PythonCommand::Mode::kModule ? "module"
                     : spec.command.mode == python::PythonCommand::Mode::kCode ? "code"
                                                                               : "script";
  return {{"mode", mode},
          {"target", spec.command.target},
          {"argv", spec.command.argv},
          {"path", spec.path_prepend},
          {"environ", environ},
          {"timeout", spec.timeout_seconds}};
}

// Reserves the next input with what the task reads of it first: {id, payload, files},
// or null when the queue is empty.
StatusOr<json> ReserveLoaded(python::WorkItemBackend* b) {
  auto r = b->ReserveInput();
  if (!r.ok()) return r.status();
  if (!r->has_value()) return json();
  const std::string& id = **r;
  auto payload = b->LoadPayload(id);
  if (!payload.ok()) return payload.status();
  auto files = b->ListFiles(id);
  if (!files.ok()) return files.status();
  return json{{"id", id}, {"payload", std::move(*payload)}, {"files", std::move(*files)}};
}

// Answers one work-item question of the task on the control process's binding. A
// release may ask for the next input with it ("next"): one round trip per item instead
// of two. `ahead` holds those the worker has not said it took (wi_took): when the run
// ends they go back unspent, since the task never saw them.
json AnswerWorkItems(python::WorkItemBackend* b, const json& m, std::set<std::string>* ahead) {
  auto reply = [](const Status& s, json value = nullptr) {
    return json{{"t", "wi_r"}, {"status", StatusToJson(s)}, {"value", std::move(value)}};
  };
  if (!b) return reply(Status::Unsupported("this task has no work-item store"));
  const std::string method = m.value("m", "");
  const std::string id = m.value("id", "");
  if (method == "reserve") {
    auto r = ReserveLoaded(b);
    return r.ok() ? reply(Status::OK(), std::move(*r)) : reply(r.status());
  }
  if (method == "release") {
    python::WorkItemBackend::Release rel;
    rel.done = m.value("done", true);
    rel.type = m.value("type", "") == "BUSINESS" ? store::ExceptionType::kBusiness
                                                 : store::ExceptionType::kApplication;
    if (m.contains("code") && m["code"].is_string()) rel.code = m["code"].get<std::string>();
    if (m.contains("message") && m["message"].is_string())
      rel.message = m["message"].get<std::string>();
    Status s = b->ReleaseInput(id, rel);
    json out = reply(s);
    if (s.ok() && m.value("next", false)) {
      // A failed reserve-ahead is not the release's error: the worker's next reserve
      // asks again and reports it.
      auto next = ReserveLoaded(b);
      if (next.ok() && next->is_object()) ahead->insert((*next)["id"].get<std::string>());
      out["next"] = next.ok() ? std::move(*next) : json();
    }
    return out;
  }
  if (method == "create_output") {
    auto r = b->CreateOutput(id, m.value("payload", "{}"));
    return r.ok() ? reply(Status::OK(), *r) : reply(r.status());
  }
  if (method == "load_payload") {
    auto r = b->LoadPayload(id);
    return r.ok() ? reply(Status::OK(), *r) : reply(r.status());
  }
  if (method == "save_payload") return reply(b->SavePayload(id, m.value("payload", "{}")));
  if (method == "list_files") {
    auto r = b->ListFiles(id);
    return r.ok() ? reply(Status::OK(), *r) : reply(r.status());
  }
  if (method == "get_file") {
    auto r = b->GetFile(id, m.value("name", ""));
    return r.ok() ? reply(Status::OK(), Base64Encode(*r)) : reply(r.status());
  }
  if (method == "add_file") {
    std::string bytes;
    if (!Base64Decode(m.value("b64", ""), &bytes))
      return reply(Status::InvalidArgument("worker protocol: bad file content"));
    return reply(b->AddFile(id, m.value("name", ""), std::move(bytes)));
  }
  if (method == "remove_file") return reply(b->RemoveFile(id, m.value("name", "")));
  if (method == "flush") return reply(b->Flush());
  return reply(Status::InvalidArgument("worker protocol: unknown work-item call " + method));
}

}  // namespace

WorkerProcess::TaskRun WorkerProcess::RunTask(const python::TaskSpec& spec, double kill_grace,
                                              python::TaskContext* context,
                                              int64_t memory_limit_mb) {
  TaskRun out;
  python::WorkItemBackend* items = context->work_items();
  std::set<std::string> ahead;  // reserved ahead for the worker, not taken yet
  json task = {{"t", "task"}, {"spec", SpecJson(spec)}, {"work_items", items != nullptr}};
  if (items) {
    task["input_queue"] = items->input_queue();
    task["output_queue"] = items->output_queue();
  }
  auto on_message = [&](const json& m) {
    const std::string t = m.value("t", "");
    if (t == "out") {
      context->Write(m.value("s", 1) == 2 ? 2 : 1, m.value("x", ""));
    } else if (t == "wi") {
      (void)WriteFrame(fd_, AnswerWorkItems(items, m, &ahead));
    } else if (t == "wi_took") {
      ahead.erase(m.value("id", ""));
    } else if (t == "task_done") {
      out.result.exit_code = m.value("exit_code", 1);
      out.result.outcome = static_cast<python::TaskResult::Outcome>(m.value("outcome", 0));
      out.result.detail = m.value("detail", "");
      return Watch::kEnd;
    }
    return Watch::kGoOn;
  };
  Limits limits{spec.timeout_seconds, kill_grace, memory_limit_mb};
  std::string code;
  bool ended = WriteFrame(fd_, task).ok() && Supervise(&limits, on_message, &code);
  for (const auto& id : ahead) (void)items->GiveBack(id);
  if (ended) return out;
  Death death = AwaitDeath();
  out.died = true;
  out.cause = death.kill_cause.empty()
                  ? "the worker process died: " + DescribeExit(death.exit_status)
                  : death.kill_cause;
  out.result.exit_code = 1;
  out.result.outcome = python::TaskResult::Outcome::kHostError;
  out.result.detail = out.cause;
  return out;
}

size_t WorkerProcess::RunBatch(const std::vector<BatchJob>& jobs,
                               const std::function<void(size_t k)>& on_start,
                               const std::function<void(size_t k, WorkerRun run)>& on_done) {
  if (jobs.empty()) return 0;
  json list = json::array();
  for (const BatchJob& j : jobs)
    list.push_back({{"item",
                     {{"id", j.item->id},
                      {"type", j.item->queue},
                      {"payload", j.item->payload_json},
                      {"attempt", j.item->attempt},
                      {"max_attempts", j.item->max_attempts}}},
                    {"timeout", j.limits.timeout},
                    {"max_output_bytes", j.limits.max_output_bytes}});
  size_t k = 0;  // the job running now
  Limits limits;
  std::optional<exec::RunCapture> streamed;  // its output so far, if the worker dies
  auto start = [&] {
    const RunLimits& l = jobs[k].limits;
    limits = {l.timeout, l.kill_grace, l.memory_limit_mb};
    streamed.emplace(/*echo=*/false);
    streamed->set_keep_in_memory(true);
    streamed->set_max_kept_bytes(l.max_output_bytes);
    ++jobs_run_;
    on_start(k);
  };
  auto on_message = [&](const json& m) {
    python::JobBackend* job = jobs[k].job;
    const std::string t = m.value("t", "");
    if (t == "out") {
      streamed->Write(m.value("s", 1) == 2 ? 2 : 1, m.value("x", ""));
    } else if (t == "progress") {
      (void)job->Progress(m.value("message", ""));
    } else if (t == "heartbeat") {
      (void)job->Heartbeat(m.value("seconds", 60.0));
    } else if (t == "is_cancelled") {
      auto c = job->IsCancelled();
      (void)WriteFrame(fd_, {{"t", "cancelled"}, {"value", c.ok() && *c}});
    } else if (t == "done") {
      WorkerRun out;
      const json& o = m["outcome"];
      if (o.is_object() && o.value("ok", false)) {
        job->SetResult(o.value("result", "null"));
      } else if (o.is_object()) {
        job->SetFailure(o.value("exception_type", "") == "BUSINESS"
                            ? store::ExceptionType::kBusiness
                            : store::ExceptionType::kApplication,
                        o.value("code", ""), o.value("message", ""), o.value("traceback", ""));
      }
      out.log = m.value("log", "");
      out.timed_out = m.value("timed_out", false);
      out.why = m.value("why", "");
      on_done(k, std::move(out));
      if (++k == jobs.size()) return Watch::kEnd;
      start();
      return Watch::kNext;
    }
    return Watch::kGoOn;
  };
  std::string code = "WORKER_DIED";
  start();
  if (WriteFrame(fd_, {{"t", "run"}, {"jobs", std::move(list)}}).ok() &&
      Supervise(&limits, on_message, &code))
    return jobs.size();
  Death death = AwaitDeath();
  WorkerRun out;
  out.died = true;
  out.log = streamed->text(1) + streamed->text(2);
  out.error_code = death.kill_cause.empty() ? "WORKER_DIED" : code;
  out.cause = death.kill_cause.empty()
                  ? "the worker process died: " + DescribeExit(death.exit_status)
                  : death.kill_cause;
  if (code == "WORKER_DIED" && !death.kill_cause.empty())
    out.cause = "the worker process was killed: " + death.kill_cause;
  on_done(k, std::move(out));
  return k + 1;
}

bool WorkerProcess::Supervise(const Limits* limits,
                              const std::function<Watch(const json&)>& on_message,
                              std::string* code) {
  auto start = Clock::now();
  auto deadline_of = [&] {
    return start + std::chrono::milliseconds(
                       static_cast<int64_t>((limits->timeout + limits->kill_grace) * 1000));
  };
  auto deadline = deadline_of();
  auto last_memory_check = start;
  for (;;) {
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r < 0 && errno != EINTR) return false;
    if (r > 0) {
      char chunk[65536];
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;  // the worker is gone
      reader_.Feed(chunk, static_cast<size_t>(n));
      for (;;) {
        json m;
        bool got = false;
        if (!reader_.Next(&m, &got).ok()) {
          Kill("it sent a malformed message");
          return false;
        }
        if (!got) break;
        Watch w = on_message(m);
        if (w == Watch::kEnd) return true;
        if (w == Watch::kNext) {
          start = Clock::now();
          deadline = deadline_of();
        }
      }
    }
    auto now = Clock::now();
    if (limits->timeout > 0 && now >= deadline) {
      *code = "TIMEOUT";
      Kill("timeout after " + Seconds(limits->timeout) + " s, killed");
      return false;
    }
    const int64_t memory_limit = limits->memory_limit_mb * 1024 * 1024;
    if (memory_limit > 0 && now - last_memory_check >= std::chrono::milliseconds(100) &&
        (last_memory_check = now, ResidentBytes() > memory_limit)) {
      *code = "MEMORY_LIMIT";
      Kill("memory limit " + std::to_string(limits->memory_limit_mb) + " MiB exceeded");
      return false;
    }
  }
}

WorkerProcess::Death WorkerProcess::AwaitDeath() {
  // The worker died, or is being killed: wait for it (a worker that closed its end but
  // lingers is killed after a second) and name the death.
  auto reap_deadline = Clock::now() + std::chrono::seconds(1);
  while (!exited_ && Clock::now() < reap_deadline) {
    Reap(/*block=*/false);
    if (!exited_) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!exited_) Kill("it stopped answering");
  Reap(/*block=*/true);
  std::lock_guard<std::mutex> l(kill_mu_);
  return {kill_cause_, exit_status_};
}

}  // namespace robotni::worker
