// interpreter_bench: the cost of running one trivial Python task three ways, all
// measured in this one process run so the ratios compare like with like.
//
//   warm   - ONE sub-interpreter (python::Interpreter) created up front; the task runs
//            N times on it through Interpreter::Run, output captured by a TaskContext.
//   spawn  - N `/usr/bin/python3.11 -c CODE` subprocesses (posix_spawn, stdout and
//            stderr on pipes read to EOF, waitpid). Also with `-I -S` (no site), which
//            is closer to how robotni configures its interpreters (site_import = 0).
//   fresh  - N x (Interpreter::Create + Run + destroy): a new sub-interpreter per task.
//
// Each row prints median / mean / p90 per run in microseconds; then ratios against
// the warm interpreter. A benchmark, not a test: nothing here asserts on timings.
//
//   cmake --preset bench && cmake --build build-bench -j2 --target interpreter_bench
//   ./build-bench/interpreter_bench [--runs 1000] [--fresh-runs 1000] [--skip-fresh]
//                                   [--skip-spawn]

#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <functional>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "python/interpreter.h"
#include "python/task_context.h"

extern char** environ;

namespace {

using robotni::python::Interpreter;
using robotni::python::InterpreterHost;
using robotni::python::PythonCommand;
using robotni::python::TaskContext;
using robotni::python::TaskResult;
using robotni::python::TaskSpec;
using Clock = std::chrono::steady_clock;

// The task: build a small dict, print one line.
constexpr const char* kCode =
    "d = {'id': 42, 'name': 'order', 'lines': [1, 2, 3], 'ok': True}\n"
    "print(d['name'], d['id'], len(d['lines']))\n";
constexpr std::string_view kExpected = "order 42 3\n";

// Captures a task's stdout / stderr in memory.
class Capture : public TaskContext {
 public:
  void Write(int stream, std::string_view text) override {
    (stream == 2 ? err : out).append(text);
  }
  void Clear() {
    out.clear();
    err.clear();
  }
  std::string out, err;
};

struct Stats {
  double median_us = 0, mean_us = 0, p90_us = 0, min_us = 0, total_s = 0;
  size_t n = 0;
};

Stats Summarise(std::vector<double> us) {
  Stats s;
  if (us.empty()) return s;
  s.n = us.size();
  s.total_s = std::accumulate(us.begin(), us.end(), 0.0) / 1e6;
  s.mean_us = s.total_s * 1e6 / static_cast<double>(s.n);
  std::sort(us.begin(), us.end());
  s.min_us = us.front();
  s.median_us = us.size() % 2 ? us[us.size() / 2]
                              : (us[us.size() / 2 - 1] + us[us.size() / 2]) / 2;
  s.p90_us = us[std::min(us.size() - 1, static_cast<size_t>(0.9 * static_cast<double>(us.size())))];
  return s;
}

double MicrosSince(Clock::time_point t0) {
  return std::chrono::duration<double, std::micro>(Clock::now() - t0).count();
}

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "interpreter_bench: %s\n", what.c_str());
  std::exit(1);
}

TaskSpec MakeSpec() {
  TaskSpec spec;
  spec.command.mode = PythonCommand::Mode::kCode;
  spec.command.target = kCode;
  spec.command.argv = {"-c"};
  spec.path_prepend = {std::filesystem::current_path().string()};
  // The run's os.environ, as `robotni run` passes it (the whole process environment).
  for (char** e = environ; e && *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) spec.environ.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
  }
  return spec;
}

void CheckResult(const TaskResult& r, const Capture& cap, const char* where) {
  if (r.outcome != TaskResult::Outcome::kExit || r.exit_code != 0 || cap.out != kExpected)
    Die(std::string(where) + ": task failed (exit " + std::to_string(r.exit_code) + ", detail '" +
        r.detail + "', stdout '" + cap.out + "', stderr '" + cap.err + "')");
}

// ---- warm: one sub-interpreter, N runs ------------------------------------------
Stats BenchWarm(int runs, int warmup, const TaskSpec& spec) {
  auto created = Interpreter::Create(Interpreter::Kind::kSubinterpreter);
  if (!created.ok()) Die("Interpreter::Create: " + created.status().message());
  auto interp = std::move(created).value();
  Capture cap;
  for (int i = 0; i < warmup; ++i) {
    cap.Clear();
    CheckResult(interp->Run(spec, &cap), cap, "warm (warm-up)");
  }
  std::vector<double> us;
  us.reserve(runs);
  for (int i = 0; i < runs; ++i) {
    cap.Clear();
    auto t0 = Clock::now();
    TaskResult r = interp->Run(spec, &cap);
    us.push_back(MicrosSince(t0));
    benchmark::DoNotOptimize(r);
    CheckResult(r, cap, "warm");
  }
  return Summarise(std::move(us));
}

// ---- spawn: one python3.11 per run -------------------------------------------
// posix_spawn with stdout/stderr on pipes; both are drained with poll() until EOF
// (so a chatty child never blocks), then waitpid.
std::pair<int, std::string> SpawnCapture(const std::vector<std::string>& args) {
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0) Die("pipe2 failed");
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, err[1], 2);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  close(err[1]);
  if (rc != 0) Die(std::string("posix_spawn: ") + std::strerror(rc));
  std::string captured, captured_err;
  pollfd fds[2] = {{out[0], POLLIN, 0}, {err[0], POLLIN, 0}};
  int open_fds = 2;
  char buf[4096];
  while (open_fds > 0) {
    if (poll(fds, 2, -1) < 0) continue;
    for (int k = 0; k < 2; ++k) {
      if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t n = read(fds[k].fd, buf, sizeof(buf));
      if (n > 0) {
        (k == 0 ? captured : captured_err).append(buf, static_cast<size_t>(n));
      } else {
        close(fds[k].fd);
        fds[k].fd = -1;
        --open_fds;
      }
    }
  }
  int status = 0;
  waitpid(pid, &status, 0);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  if (code != 0) Die("child failed: " + captured_err);
  return {code, captured};
}

Stats BenchSpawn(int runs, int warmup, const std::vector<std::string>& args) {
  for (int i = 0; i < warmup; ++i) SpawnCapture(args);
  std::vector<double> us;
  us.reserve(runs);
  for (int i = 0; i < runs; ++i) {
    auto t0 = Clock::now();
    auto [code, out] = SpawnCapture(args);
    us.push_back(MicrosSince(t0));
    if (out != kExpected) Die("spawn: unexpected stdout '" + out + "'");
  }
  return Summarise(std::move(us));
}

// ---- fresh: Create + Run + destroy per run -------------------------------------
struct FreshStats {
  Stats total, create, run, destroy;
};

FreshStats BenchFresh(int runs, int warmup) {
  TaskSpec spec = MakeSpec();
  std::vector<double> total, create, run, destroy;
  for (int i = 0; i < warmup + runs; ++i) {
    Capture cap;
    auto t0 = Clock::now();
    auto created = Interpreter::Create(Interpreter::Kind::kSubinterpreter);
    if (!created.ok()) Die("Interpreter::Create: " + created.status().message());
    auto interp = std::move(created).value();
    double c = MicrosSince(t0);
    auto t1 = Clock::now();
    TaskResult r = interp->Run(spec, &cap);
    double rr = MicrosSince(t1);
    CheckResult(r, cap, "fresh");
    auto t2 = Clock::now();
    interp.reset();
    double d = MicrosSince(t2);
    if (i < warmup) continue;
    total.push_back(MicrosSince(t0));
    create.push_back(c);
    run.push_back(rr);
    destroy.push_back(d);
  }
  return {Summarise(total), Summarise(create), Summarise(run), Summarise(destroy)};
}

void PrintRow(const char* name, const Stats& s) {
  std::printf("%-44s %7zu %12.1f %12.1f %12.1f %10.2f\n", name, s.n, s.median_us, s.mean_us,
              s.p90_us, s.total_s);
}

int ArgInt(int argc, char** argv, const char* flag, int def) {
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return std::atoi(argv[i + 1]);
  return def;
}
bool ArgFlag(int argc, char** argv, const char* flag) {
  for (int i = 1; i < argc; ++i)
    if (std::strcmp(argv[i], flag) == 0) return true;
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  const int runs = ArgInt(argc, argv, "--runs", 1000);
  const int fresh_runs = ArgInt(argc, argv, "--fresh-runs", runs);
  const int warmup = ArgInt(argc, argv, "--warmup", 10);
  const bool skip_spawn = ArgFlag(argc, argv, "--skip-spawn");
  const bool skip_fresh = ArgFlag(argc, argv, "--skip-fresh");
  const std::string py = "/usr/bin/python3.11";

  auto t_start = Clock::now();
  if (auto s = InterpreterHost::Start(); !s.ok()) Die("InterpreterHost::Start: " + s.message());
  double host_start_us = MicrosSince(t_start);

  std::printf("interpreter_bench: trivial task = build a small dict, print one captured line\n");
  std::printf("python: %s (embedded libpython3.11); runs=%d fresh-runs=%d warm-up=%d per row\n",
              py.c_str(), runs, fresh_runs, warmup);
  std::printf("InterpreterHost::Start (Py_InitializeFromConfig, once): %.0f us\n\n", host_start_us);

  Stats warm = BenchWarm(runs, warmup, MakeSpec());
  // Breakdown: the same, with an empty os.environ (how much of a warm run is copying
  // the process environment into the interpreter's RobotEnviron).
  TaskSpec bare = MakeSpec();
  size_t env_vars = bare.environ.size();
  bare.environ.clear();
  Stats warm_bare = BenchWarm(runs, warmup, bare);
  Stats spawn, spawn_is;
  if (!skip_spawn) {
    spawn = BenchSpawn(runs, warmup, {py, "-c", kCode});
    spawn_is = BenchSpawn(runs, warmup, {py, "-I", "-S", "-c", kCode});
  }
  FreshStats fresh;
  if (!skip_fresh) fresh = BenchFresh(fresh_runs, std::min(warmup, 3));

  std::printf("%-44s %7s %12s %12s %12s %10s\n", "per run", "n", "median_us", "mean_us", "p90_us",
              "total_s");
  PrintRow("warm sub-interpreter: Interpreter::Run", warm);
  PrintRow("  same, empty os.environ (breakdown only)", warm_bare);
  if (!skip_spawn) {
    PrintRow("subprocess: python3.11 -c (posix_spawn)", spawn);
    PrintRow("subprocess: python3.11 -I -S -c", spawn_is);
  }
  if (!skip_fresh) {
    PrintRow("fresh sub-interpreter: Create+Run+destroy", fresh.total);
    PrintRow("  of which Interpreter::Create", fresh.create);
    PrintRow("  of which Interpreter::Run (first run)", fresh.run);
    PrintRow("  of which ~Interpreter (Py_EndInterpreter)", fresh.destroy);
  }

  std::printf("(warm rows pass %zu environment variables per run, as `robotni run` does)\n",
              env_vars);
  std::printf("\nratios (baseline per-run time / warm per-run time; higher = warm is faster)\n");
  auto ratio = [&](const char* name, const Stats& s) {
    std::printf("  %-42s median %8.1fx   mean %8.1fx\n", name, s.median_us / warm.median_us,
                s.mean_us / warm.mean_us);
  };
  if (!skip_spawn) {
    ratio("subprocess python3.11 -c / warm", spawn);
    ratio("subprocess python3.11 -I -S -c / warm", spawn_is);
  }
  if (!skip_fresh) {
    ratio("fresh sub-interpreter / warm", fresh.total);
    if (!skip_spawn)
      std::printf("  %-42s median %8.2fx   mean %8.2fx\n", "fresh sub-interpreter / subprocess -c",
                  fresh.total.median_us / spawn.median_us, fresh.total.mean_us / spawn.mean_us);
  }
  InterpreterHost::Stop();
  return 0;
}
