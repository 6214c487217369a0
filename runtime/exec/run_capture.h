#ifndef ROBOTNI_RUNTIME_EXEC_RUN_CAPTURE_H_
#define ROBOTNI_RUNTIME_EXEC_RUN_CAPTURE_H_

// A run's output: each write goes to the console as it happens and is appended to
// <artifacts>/stdout.log or stderr.log, as rcc tees them (operations/running.go).
// Thread-safety: Write may be called from any thread.

#include <cstdio>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>

#include "python/task_context.h"
#include "robotni/status.h"

namespace robotni::exec {

class RunCapture : public python::TaskContext {
 public:
  // `echo`: also write to this process's stdout / stderr.
  explicit RunCapture(bool echo = true) : echo_(echo) {}
  ~RunCapture() override;
  // Opens (truncates) stdout.log and stderr.log in `dir`, creating it.
  Status OpenLogs(const std::filesystem::path& dir);
  void Write(int stream, std::string_view text) override;
  void Flush();
  // Where output goes as it is written instead of the console (a library host's callback).
  void set_sink(std::function<void(int stream, std::string_view text)> sink) {
    sink_ = std::move(sink);
  }
  // Everything written so far to `stream` (1 or 2) when keep_in_memory is on.
  void set_keep_in_memory(bool keep) { keep_ = keep; }
  // At most this many bytes of each stream are kept (-1 = no limit); the rest is counted,
  // and text() ends with a note saying how much was dropped. A job flooding its output
  // costs no more memory than this. The log files (OpenLogs) keep as much, then a note.
  void set_max_kept_bytes(int64_t max) { max_kept_ = max; }
  std::string text(int stream);

  void set_work_items(python::WorkItemBackend* backend) { work_items_ = backend; }
  python::WorkItemBackend* work_items() override { return work_items_; }
  void set_job(python::JobBackend* job) { job_ = job; }
  python::JobBackend* job() override { return job_; }

 private:
  std::mutex mu_;
  bool echo_;
  bool keep_ = false;
  std::function<void(int, std::string_view)> sink_;
  FILE* out_log_ = nullptr;
  FILE* err_log_ = nullptr;
  std::string out_, err_;
  int64_t max_kept_ = -1;
  int64_t out_dropped_ = 0, err_dropped_ = 0;
  int64_t out_logged_ = 0, err_logged_ = 0;
  python::WorkItemBackend* work_items_ = nullptr;
  python::JobBackend* job_ = nullptr;
};

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_RUN_CAPTURE_H_
