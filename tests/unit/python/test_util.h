#ifndef ROBOTNI_TESTS_UNIT_PYTHON_TEST_UTIL_H_
#define ROBOTNI_TESTS_UNIT_PYTHON_TEST_UTIL_H_

#include <fstream>
#include <mutex>
#include <string>

#include "python/interpreter.h"

namespace robotni::python {

// Collects a task's stdout and stderr.
class RecordingContext : public TaskContext {
 public:
  void Write(int stream, std::string_view text) override {
    std::lock_guard<std::mutex> l(mu_);
    (stream == 2 ? err_ : out_).append(text);
  }
  std::string out() {
    std::lock_guard<std::mutex> l(mu_);
    return out_;
  }
  std::string err() {
    std::lock_guard<std::mutex> l(mu_);
    return err_;
  }

 private:
  std::mutex mu_;
  std::string out_, err_;
};

inline TaskSpec CodeTask(const std::string& code) {
  TaskSpec spec;
  spec.command.mode = PythonCommand::Mode::kCode;
  spec.command.target = code;
  spec.command.argv = {"-c"};
  return spec;
}

// Resident set size of this process in kB.
inline long RssKb() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

}  // namespace robotni::python

#endif  // ROBOTNI_TESTS_UNIT_PYTHON_TEST_UTIL_H_
