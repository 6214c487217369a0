#ifndef ROBOTNI_TESTS_INTEGRATION_CLI_RUN_TEST_UTIL_H_
#define ROBOTNI_TESTS_INTEGRATION_CLI_RUN_TEST_UTIL_H_

// Helpers for end-to-end tests that run the real `robotni` binary: spawn it with
// pipes on stdout/stderr and a timeout, copy fixture robots to temp dirs, read the
// SQLite store with the C API.

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

extern char** environ;

namespace robotni::testing {

namespace fs = std::filesystem;

inline const char* RobotniBinary() { return ROBOTNI_BINARY; }
inline fs::path SourceDir() { return ROBOTNI_SOURCE_DIR; }
inline fs::path FixtureDir(const std::string& name) {
  return SourceDir() / "tests" / "fixtures" / "robots" / name;
}

inline std::string ReadFile(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void WriteFile(const fs::path& p, const std::string& text) {
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << text;
}

// A temp dir removed (after restoring write permission) at scope end.
class TempDir {
 public:
  TempDir() {
    const char* base = getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/robotni-run-test-XXXXXX";
    std::vector<char> buf(tmpl.begin(), tmpl.end());
    buf.push_back('\0');
    if (!mkdtemp(buf.data())) throw std::runtime_error("mkdtemp failed");
    path_ = fs::canonical(buf.data());
  }
  ~TempDir() {
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(path_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory(ec)) chmod(it->path().c_str(), 0755);
    }
    chmod(path_.c_str(), 0755);
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const fs::path& path() const { return path_; }
  fs::path operator/(const std::string& rel) const { return path_ / rel; }

 private:
  fs::path path_;
};

// Copies tests/fixtures/robots/<name> into `dest` (created), returns dest.
inline fs::path CopyFixture(const std::string& name, const fs::path& dest) {
  fs::create_directories(dest);
  fs::copy(FixtureDir(name), dest,
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  return dest;
}

// Copies the repository's example robot into `root` (created): robot.yaml, conda.yaml, the
// task and job modules under workers/ (robot.yaml names workers/jobs/jobs.py) and devdata.
inline fs::path CopyExampleRobot(const fs::path& root) {
  fs::create_directories(root / "workers");
  for (const char* f : {"robot.yaml", "conda.yaml"}) fs::copy(SourceDir() / f, root / f);
  for (const char* d : {"orders", "jobs"})
    fs::copy(SourceDir() / "workers" / d, root / "workers" / d, fs::copy_options::recursive);
  fs::create_directories(root / "devdata");
  for (const char* f :
       {"env-for-producer.json", "env-for-consumer.json", "env-for-reporter.json", "orders.csv"})
    fs::copy(SourceDir() / "devdata" / f, root / "devdata" / f);
  fs::copy(SourceDir() / "devdata" / "work-items-in", root / "devdata" / "work-items-in",
           fs::copy_options::recursive);
  for (const char* d : {"orders", "jobs"}) fs::remove_all(root / "workers" / d / "__pycache__");
  return root;
}

struct RunOptions {
  fs::path cwd;                            // default: the test's cwd
  std::map<std::string, std::string> env;  // set on top of the test's environment
  std::vector<std::string> unset_env;      // removed from the environment
  double timeout_seconds = 60;
};

struct RunResult {
  int exit_code = -1;  // -1 when killed by a signal
  int term_signal = 0;
  bool timed_out = false;
  std::string out, err;
  std::string all() const { return out + err; }
};

inline std::ostream& operator<<(std::ostream& os, const RunResult& r) {
  return os << "exit=" << r.exit_code << " signal=" << r.term_signal << " timed_out=" << r.timed_out
            << "\n--- stdout ---\n"
            << r.out << "\n--- stderr ---\n"
            << r.err;
}

// A running robotni process with its stdout/stderr on pipes.
class Process {
 public:
  Process(const std::vector<std::string>& args, const RunOptions& opts) {
    int out_pipe[2], err_pipe[2];
    if (pipe2(out_pipe, O_CLOEXEC) != 0 || pipe2(err_pipe, O_CLOEXEC) != 0)
      throw std::runtime_error("pipe failed");
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, out_pipe[1], 1);
    posix_spawn_file_actions_adddup2(&fa, err_pipe[1], 2);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    if (!opts.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, opts.cwd.c_str());

    std::vector<std::string> argv_s{RobotniBinary()};
    argv_s.insert(argv_s.end(), args.begin(), args.end());
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);

    std::map<std::string, std::string> env;
    for (char** e = environ; e && *e; ++e) {
      std::string s = *e;
      auto eq = s.find('=');
      if (eq != std::string::npos) env[s.substr(0, eq)] = s.substr(eq + 1);
    }
    // Variables of the developer's shell that would change where items go.
    for (const char* k : {"RC_WORKITEM_DB_PATH", "RC_WORKITEM_QUEUE_NAME",
                          "RC_WORKITEM_OUTPUT_QUEUE_NAME", "RC_WORKITEM_ADAPTER",
                          "RC_WORKITEM_INPUT_PATH", "RC_WORKITEM_OUTPUT_PATH", "VIRTUAL_ENV"})
      env.erase(k);
    for (const auto& k : opts.unset_env) env.erase(k);
    for (const auto& [k, v] : opts.env) env[k] = v;
    std::vector<std::string> env_s;
    for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
    std::vector<char*> envp;
    for (auto& e : env_s) envp.push_back(e.data());
    envp.push_back(nullptr);

    int rc = posix_spawn(&pid_, RobotniBinary(), &fa, nullptr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&fa);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) {
      close(out_pipe[0]);
      close(err_pipe[0]);
      throw std::runtime_error(std::string("posix_spawn failed: ") + strerror(rc));
    }
    out_fd_ = out_pipe[0];
    err_fd_ = err_pipe[0];
    deadline_ = std::chrono::steady_clock::now() +
                std::chrono::milliseconds(static_cast<int64_t>(opts.timeout_seconds * 1000));
  }
  ~Process() {
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
    if (out_fd_ >= 0) close(out_fd_);
    if (err_fd_ >= 0) close(err_fd_);
  }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  const std::string& out() const { return result_.out; }
  const std::string& err() const { return result_.err; }

  // Reads what is available for up to `wait_ms`. Returns false when both pipes are closed.
  bool Pump(int wait_ms) {
    if (out_fd_ < 0 && err_fd_ < 0) return false;
    pollfd fds[2] = {{out_fd_, POLLIN, 0}, {err_fd_, POLLIN, 0}};
    int n = poll(fds, 2, wait_ms);
    if (n <= 0) return true;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      char buf[65536];
      ssize_t r = read(fds[i].fd, buf, sizeof(buf));
      if (r > 0) {
        (i == 0 ? result_.out : result_.err).append(buf, r);
      } else if (r == 0 || (r < 0 && errno != EINTR && errno != EAGAIN)) {
        close(fds[i].fd);
        (i == 0 ? out_fd_ : err_fd_) = -1;
      }
    }
    return out_fd_ >= 0 || err_fd_ >= 0;
  }

  // Pumps until `needle` appears in stdout+stderr or the timeout; true when found.
  bool WaitForOutput(const std::string& needle, double seconds) {
    auto until = std::chrono::steady_clock::now() +
                 std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
    while (std::chrono::steady_clock::now() < until) {
      if (result_.out.find(needle) != std::string::npos ||
          result_.err.find(needle) != std::string::npos)
        return true;
      if (!Pump(50)) break;
    }
    return result_.out.find(needle) != std::string::npos ||
           result_.err.find(needle) != std::string::npos;
  }

  // True while the process has not exited (does not reap it).
  bool Running() {
    if (reaped_) return false;
    siginfo_t info{};
    if (waitid(P_PID, pid_, &info, WEXITED | WNOHANG | WNOWAIT) != 0) return false;
    return info.si_pid == 0;
  }

  void Kill(int sig) {
    if (!reaped_) kill(pid_, sig);
  }

  // Drains the pipes and reaps the process (SIGKILL at the deadline).
  RunResult Wait() {
    while (true) {
      bool open = Pump(50);
      if (std::chrono::steady_clock::now() > deadline_ && !reaped_) {
        result_.timed_out = true;
        kill(pid_, SIGKILL);
      }
      if (!open) break;
    }
    if (!reaped_) {
      int status = 0;
      while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
      }
      reaped_ = true;
      if (WIFEXITED(status)) result_.exit_code = WEXITSTATUS(status);
      if (WIFSIGNALED(status)) result_.term_signal = WTERMSIG(status);
    }
    return result_;
  }

 private:
  pid_t pid_ = -1;
  int out_fd_ = -1, err_fd_ = -1;
  bool reaped_ = false;
  std::chrono::steady_clock::time_point deadline_;
  RunResult result_;

 public:
  // What the process printed so far (it may still be running).
  const RunResult& output() const { return result_; }
};

// Reads a Process's output on a thread of its own while the test does something else (a
// load run): serve writes a line per finished job, and a stderr pipe nobody reads fills
// and stalls serve on the write. Nothing else may touch the Process until this is gone.
class OutputPump {
 public:
  explicit OutputPump(Process* p)
      : thread_([this, p] {
          while (!stop_.load() && p->Pump(50)) {
          }
        }) {}
  ~OutputPump() {
    stop_ = true;
    thread_.join();
  }
  OutputPump(const OutputPump&) = delete;
  OutputPump& operator=(const OutputPump&) = delete;

 private:
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

// The port `robotni serve --listen HOST:0` bound, from its "serving on" line; 0 if absent.
inline int ServingPort(const Process& p) {
  const std::string& err = p.output().err;
  auto at = err.find("serving on http://");
  if (at == std::string::npos) return 0;
  auto colon = err.find(':', at + std::string("serving on http://").size());
  return colon == std::string::npos ? 0 : std::atoi(err.c_str() + colon + 1);
}

// `robotni serve` of the example robot with its job types (workers/jobs/jobs.py) on a free
// loopback port, storing in `store`; `extra` flags follow.
inline std::vector<std::string> ServeExampleArgs(const std::string& store,
                                                 std::vector<std::string> extra = {}) {
  std::vector<std::string> args = {"serve",
                                   "-r",
                                   (SourceDir() / "robot.yaml").string(),
                                   "--jobs",
                                   "workers/jobs/jobs.py",
                                   "--listen",
                                   "127.0.0.1:0",
                                   "--store",
                                   store};
  args.insert(args.end(), extra.begin(), extra.end());
  return args;
}

inline RunResult RunRobotni(const std::vector<std::string>& args, const RunOptions& opts = {}) {
  Process p(args, opts);
  return p.Wait();
}

// "KEY=value" lines after a "PREFIX " marker, e.g. "ENV ROBOT_ROOT=/x".
inline std::map<std::string, std::string> ParseKeyValues(const std::string& text,
                                                         const std::string& prefix) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(prefix + " ", 0) != 0) continue;
    line = line.substr(prefix.size() + 1);
    auto eq = line.find('=');
    if (eq == std::string::npos) continue;
    out[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return out;
}

inline std::vector<std::string> Split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (c == sep) {
      out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  out.push_back(cur);
  return out;
}

// A read-only connection to a work-item store (SQLite C API).
class Db {
 public:
  explicit Db(const fs::path& path, bool read_write = false) {
    int flags = read_write ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path.c_str(), &db_, flags, nullptr) != SQLITE_OK) {
      std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
      sqlite3_close(db_);
      db_ = nullptr;
      throw std::runtime_error("cannot open " + path.string() + ": " + msg);
    }
    sqlite3_busy_timeout(db_, 10000);
  }
  ~Db() { sqlite3_close(db_); }
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  // First column of the first row as int64 (0 when no row).
  int64_t Int(const std::string& sql) {
    auto rows = Query(sql);
    if (rows.empty() || rows[0].empty()) return 0;
    return std::strtoll(rows[0][0].c_str(), nullptr, 10);
  }

  std::vector<std::vector<std::string>> Query(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    if (sqlite3_prepare_v2(db_, sql.c_str(), -1, &st, nullptr) != SQLITE_OK)
      throw std::runtime_error("SQL error in '" + sql + "': " + sqlite3_errmsg(db_));
    std::vector<std::vector<std::string>> rows;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
      std::vector<std::string> row;
      for (int i = 0; i < sqlite3_column_count(st); ++i) {
        const unsigned char* t = sqlite3_column_text(st, i);
        row.push_back(t ? reinterpret_cast<const char*>(t) : "");
      }
      rows.push_back(std::move(row));
    }
    std::string err = rc == SQLITE_DONE ? "" : sqlite3_errmsg(db_);
    sqlite3_finalize(st);
    if (!err.empty()) throw std::runtime_error("SQL error in '" + sql + "': " + err);
    return rows;
  }

  void Exec(const std::string& sql) {
    char* msg = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &msg) != SQLITE_OK) {
      std::string m = msg ? msg : "?";
      sqlite3_free(msg);
      throw std::runtime_error("SQL error in '" + sql + "': " + m);
    }
  }

 private:
  sqlite3* db_ = nullptr;
};

// The work-items.json text of `n` items with payload {"n": i}.
inline std::string NumberedItemsJson(int n) {
  std::string s = "[";
  for (int i = 0; i < n; ++i) {
    if (i) s += ",";
    s += "{\"payload\":{\"n\":" + std::to_string(i) + "}}";
  }
  return s + "]";
}

}  // namespace robotni::testing

#endif  // ROBOTNI_TESTS_INTEGRATION_CLI_RUN_TEST_UTIL_H_
