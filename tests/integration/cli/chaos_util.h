#ifndef ROBOTNI_TESTS_INTEGRATION_CLI_CHAOS_UTIL_H_
#define ROBOTNI_TESTS_INTEGRATION_CLI_CHAOS_UTIL_H_

// What the chaos tests share: the wall clock in ms, a process's children (the workers to
// kill), and a percentile of the measured kill-to-recovery times.

#include <dirent.h>
#include <sys/types.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace robotni::testing {

inline int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// The children of every thread of `pid` (/proc/PID/task/*/children).
inline std::vector<pid_t> ChildrenOf(pid_t pid) {
  std::vector<pid_t> out;
  std::string task_dir = "/proc/" + std::to_string(pid) + "/task";
  DIR* d = opendir(task_dir.c_str());
  if (!d) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    std::ifstream f(task_dir + "/" + e->d_name + "/children");
    pid_t c;
    while (f >> c) out.push_back(c);
  }
  closedir(d);
  return out;
}

inline double Percentile(std::vector<int64_t> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return static_cast<double>(v[std::min(v.size() - 1, static_cast<size_t>(p * v.size()))]);
}

}  // namespace robotni::testing

#endif  // ROBOTNI_TESTS_INTEGRATION_CLI_CHAOS_UTIL_H_
