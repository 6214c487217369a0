#ifndef ROBOTNI_RUNTIME_CORE_LOG_H_
#define ROBOTNI_RUNTIME_CORE_LOG_H_

// A small process-wide logger for the service's own messages (serving, draining, reload, job
// finished, errors): one line per message on stderr, either human text or one JSON object.
//
// Text:  "robotni: <msg>"            (warnings: "robotni: warning: <msg>"); fields are not shown,
//        so a message must read well on its own. These are the lines robotni always printed.
// JSON:  {"ts":"2026-01-02T03:04:05.678Z","level":"info","msg":"<msg>",<fields...>}
//        ts is UTC with milliseconds; fields are the caller's key/values (a field named ts,
//        level or msg is renamed with a trailing '_' so it cannot shadow them).
// Lines are written by spdlog (a logger of robotni's own, never put in spdlog's registry, so a
// host's spdlog setup is untouched): its clock and pattern give the "robotni: " prefix and ts,
// its sinks the FILE (fwrite and fflush per line) or the host's callback.
// Thread-safety: every function may be called from any thread; one mutex keeps lines whole.

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace robotni::log {

enum class Level { kDebug = 0, kInfo = 1, kWarn = 2, kError = 3 };
enum class Format { kText, kJson };

// "debug", "info", "warn" (or "warning"), "error"; false when unknown.
bool ParseLevel(std::string_view text, Level* level);
// "text" or "json"; false when unknown.
bool ParseFormat(std::string_view text, Format* format);
const char* LevelName(Level level);

void SetFormat(Format format);
void SetLevel(Level level);  // messages below it are dropped (default kInfo)
Format GetFormat();
bool Enabled(Level level);
// Where lines go (default stderr). For tests; the caller keeps `out` open.
void SetOutput(FILE* out);

// Where lines go instead (a library host's callback; the line has no '\n'). Empty = back to
// the FILE of SetOutput.
void SetSink(std::function<void(Level level, std::string_view line)> sink);

// The line (without '\n') for a message at `now_ms` since the epoch. `fields` is a JSON object
// or null.
std::string FormatLine(Format format, Level level, std::string_view msg,
                       const nlohmann::json& fields, int64_t now_ms);

// Writes one line when `level` is enabled. Never throws (it is called from C callbacks and
// catch handlers): a line that cannot be formatted, or whose sink throws, is dropped.
void Write(Level level, std::string_view msg, const nlohmann::json& fields = nullptr) noexcept;

// While one lives, the lines this thread writes to the FILE (not a host's sink) are kept and
// written together when it ends, with one write: a commit of 30 finished jobs logs 30 lines
// with one system call instead of 30. Nested ones add to the outermost.
class Batch {
 public:
  Batch();
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

 private:
  bool outermost_;
  std::string lines_;
};

inline void Debug(std::string_view msg, const nlohmann::json& fields = nullptr) {
  Write(Level::kDebug, msg, fields);
}
inline void Info(std::string_view msg, const nlohmann::json& fields = nullptr) {
  Write(Level::kInfo, msg, fields);
}
inline void Warn(std::string_view msg, const nlohmann::json& fields = nullptr) {
  Write(Level::kWarn, msg, fields);
}
inline void Error(std::string_view msg, const nlohmann::json& fields = nullptr) {
  Write(Level::kError, msg, fields);
}

}  // namespace robotni::log

#endif  // ROBOTNI_RUNTIME_CORE_LOG_H_
