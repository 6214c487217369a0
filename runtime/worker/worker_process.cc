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
#include <thread>

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
      {"kind", c.kind == python::Interpreter::Kind::kSubinterpreter ? "subinterpreter" : "main"},
      {"max_output_bytes", c.max_output_bytes}};
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
  Status s = WriteFrame(
      w->fd_,
      {{"t", "init"}, {"config", ConfigJson(spec.config)}, {"generation", spec.generation}});
  json hello;
  if (s.ok()) s = ReadFrame(w->fd_, &w->reader_, &hello, start_timeout);
  if (!s.ok()) {
    if (s.code() == Status::Code::kTimeout) w->Kill("did not start in time");
    w->Reap(/*block=*/true);
    return Status::IOError(
        "the worker process (pid " + std::to_string(pid) + ") failed to start: " +
        (s.code() == Status::Code::kTimeout
             ? std::string("no answer in ") + std::to_string(start_timeout.count() / 1000) + " s"
             : DescribeExit(w->exit_status_)));
  }
  if (hello.value("t", "") != "hello")
    return Status::IOError("the worker process sent " + hello.value("t", "?") + " before hello");
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

WorkerRun WorkerProcess::Run(const store::Item& item, const RunLimits& limits,
                             python::JobBackend* job) {
  WorkerRun out;
  ++jobs_run_;
  json run = {{"t", "run"},
              {"item",
               {{"id", item.id},
                {"type", item.queue},
                {"payload", item.payload_json},
                {"attempt", item.attempt},
                {"max_attempts", item.max_attempts}}},
              {"timeout", limits.timeout}};
  auto start = Clock::now();
  bool hard_deadline = limits.timeout > 0;
  auto deadline = start + std::chrono::milliseconds(
                              static_cast<int64_t>((limits.timeout + limits.kill_grace) * 1000));
  int64_t memory_limit = limits.memory_limit_mb * 1024 * 1024;
  std::string code = "WORKER_DIED";
  auto last_memory_check = start;
  bool open = WriteFrame(fd_, run).ok();
  while (open) {
    pollfd p{fd_, POLLIN, 0};
    int r = poll(&p, 1, 100);
    if (r < 0 && errno != EINTR) break;
    if (r > 0) {
      char chunk[65536];
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the worker is gone
      reader_.Feed(chunk, static_cast<size_t>(n));
      for (;;) {
        json m;
        bool got = false;
        if (!reader_.Next(&m, &got).ok()) {
          Kill("it sent a malformed message");
          open = false;
          break;
        }
        if (!got) break;
        const std::string t = m.value("t", "");
        if (t == "progress") {
          (void)job->Progress(m.value("message", ""));
        } else if (t == "heartbeat") {
          (void)job->Heartbeat(m.value("seconds", 60.0));
        } else if (t == "is_cancelled") {
          auto c = job->IsCancelled();
          (void)WriteFrame(fd_, {{"t", "cancelled"}, {"value", c.ok() && *c}});
        } else if (t == "done") {
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
          return out;
        }
      }
    }
    if (!open) break;
    if (hard_deadline && Clock::now() >= deadline) {
      code = "TIMEOUT";
      Kill("timeout after " + Seconds(limits.timeout) + " s, killed");
      break;
    }
    auto now = Clock::now();
    if (memory_limit > 0 && now - last_memory_check >= std::chrono::milliseconds(100) &&
        (last_memory_check = now, ResidentBytes() > memory_limit)) {
      code = "MEMORY_LIMIT";
      Kill("memory limit " + std::to_string(limits.memory_limit_mb) + " MiB exceeded");
      break;
    }
  }
  // The worker died, or is being killed: wait for it (a worker that closed its end but
  // lingers is killed after a second) and name the death.
  auto reap_deadline = Clock::now() + std::chrono::seconds(1);
  while (!exited_ && Clock::now() < reap_deadline) {
    Reap(/*block=*/false);
    if (!exited_) std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  if (!exited_) Kill("it stopped answering");
  Reap(/*block=*/true);
  out.died = true;
  std::lock_guard<std::mutex> l(kill_mu_);
  out.error_code = kill_cause_.empty() ? "WORKER_DIED" : code;
  out.cause =
      kill_cause_.empty() ? "the worker process died: " + DescribeExit(exit_status_) : kill_cause_;
  if (code == "WORKER_DIED" && !kill_cause_.empty())
    out.cause = "the worker process was killed: " + kill_cause_;
  return out;
}

}  // namespace robotni::worker
