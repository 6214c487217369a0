#include "exec/run_capture.h"

#include "exec/output_cap.h"

#include <algorithm>

#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace robotni::exec {

RunCapture::~RunCapture() {
  if (out_log_) fclose(out_log_);
  if (err_log_) fclose(err_log_);
}

Status RunCapture::OpenLogs(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec)
    return Status::IOError("cannot create artifacts directory " + dir.string() + ": " +
                           ec.message());
  std::lock_guard<std::mutex> l(mu_);
  out_log_ = fopen((dir / "stdout.log").c_str(), "wb");
  err_log_ = fopen((dir / "stderr.log").c_str(), "wb");
  if (!out_log_ || !err_log_)
    return Status::IOError("cannot write logs in " + dir.string() + ": " + strerror(errno));
  return Status::OK();
}

void RunCapture::Write(int stream, std::string_view text) {
  std::lock_guard<std::mutex> l(mu_);
  FILE* log = stream == 2 ? err_log_ : out_log_;
  if (log) {
    std::string kept = CappedOutput(max_kept_, stream == 2 ? &err_logged_ : &out_logged_, text);
    fwrite(kept.data(), 1, kept.size(), log);
    fflush(log);  // the log is read while the task runs (tail -f)
  }
  if (keep_) {
    std::string& kept = stream == 2 ? err_ : out_;
    int64_t& dropped = stream == 2 ? err_dropped_ : out_dropped_;
    size_t room = max_kept_ < 0 ? text.size()
                                : static_cast<size_t>(std::max<int64_t>(
                                      0, max_kept_ - static_cast<int64_t>(kept.size())));
    size_t take = std::min(room, text.size());
    kept.append(text.substr(0, take));
    dropped += static_cast<int64_t>(text.size() - take);
  }
  if (sink_) {
    sink_(stream, text);
  } else if (echo_) {
    int fd = stream == 2 ? 2 : 1;
    std::string_view rest = text;
    while (!rest.empty()) {
      ssize_t n = ::write(fd, rest.data(), rest.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      rest.remove_prefix(static_cast<size_t>(n));
    }
  }
}

void RunCapture::Flush() {
  std::lock_guard<std::mutex> l(mu_);
  if (out_log_) fflush(out_log_);
  if (err_log_) fflush(err_log_);
}

std::string RunCapture::text(int stream) {
  std::lock_guard<std::mutex> l(mu_);
  std::string out = stream == 2 ? err_ : out_;
  if (int64_t dropped = stream == 2 ? err_dropped_ : out_dropped_; dropped > 0)
    out += "\n[robotni: output truncated: " + std::to_string(dropped) +
           " more bytes were written (max_output " + std::to_string(max_kept_) + " bytes)]\n";
  return out;
}

}  // namespace robotni::exec
