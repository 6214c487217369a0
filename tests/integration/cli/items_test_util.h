#ifndef ROBOTNI_TESTS_INTEGRATION_CLI_ITEMS_TEST_UTIL_H_
#define ROBOTNI_TESTS_INTEGRATION_CLI_ITEMS_TEST_UTIL_H_

// Runs the robotni binary (ROBOTNI_BINARY) with posix_spawn and captures stdout,
// stderr and the exit code. Input and output go through temp files, so there is
// no pipe to deadlock on.

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

extern char** environ;

namespace robotni::testing {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

struct CliOptions {
  std::string stdin_data;
  std::string cwd;  // "" = the test's cwd
  // Environment changes: a value of nullopt removes the variable.
  std::map<std::string, std::optional<std::string>> env;
};

inline std::string ReadWholeFile(const std::filesystem::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::ostringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

inline void WriteWholeFile(const std::filesystem::path& p, const std::string& data) {
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << data;
}

// A fresh directory under TMPDIR, removed at destruction.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "robotni-items-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline CliResult RunRobotni(const std::vector<std::string>& args, const CliOptions& opts = {}) {
  TempDir io;
  auto in_path = io.path() / "stdin", out_path = io.path() / "stdout",
       err_path = io.path() / "stderr";
  WriteWholeFile(in_path, opts.stdin_data);

  std::vector<std::string> argv_s = {ROBOTNI_BINARY};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  env.erase("RC_WORKITEM_DB_PATH");  // tests choose the store explicitly
  for (const auto& [k, v] : opts.env) {
    if (v)
      env[k] = *v;
    else
      env.erase(k);
  }
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& s : env_s) envp.push_back(s.data());
  envp.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&fa, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&fa, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (!opts.cwd.empty()) posix_spawn_file_actions_addchdir_np(&fa, opts.cwd.c_str());
  CliResult r;
  pid_t pid;
  int rc = posix_spawn(&pid, argv[0], &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) {
    r.err = "posix_spawn failed: " + std::to_string(rc);
    return r;
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.out = ReadWholeFile(out_path);
  r.err = ReadWholeFile(err_path);
  return r;
}

}  // namespace robotni::testing

#endif  // ROBOTNI_TESTS_INTEGRATION_CLI_ITEMS_TEST_UTIL_H_
