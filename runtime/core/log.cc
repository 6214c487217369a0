#include "core/log.h"

#include <spdlog/details/log_msg.h>
#include <spdlog/logger.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>

namespace robotni::log {

namespace {

spdlog::level::level_enum ToSpdlog(Level level) {
  switch (level) {
    case Level::kDebug:
      return spdlog::level::debug;
    case Level::kInfo:
      return spdlog::level::info;
    case Level::kWarn:
      return spdlog::level::warn;
    case Level::kError:
      return spdlog::level::err;
  }
  return spdlog::level::info;
}

Level FromSpdlog(spdlog::level::level_enum level) {
  switch (level) {
    case spdlog::level::trace:
    case spdlog::level::debug:
      return Level::kDebug;
    case spdlog::level::info:
      return Level::kInfo;
    case spdlog::level::warn:
      return Level::kWarn;
    default:
      return Level::kError;
  }
}

// The line around the message, as spdlog patterns: spdlog's clock gives ts (UTC with
// milliseconds) and %v is the payload that Payload() makes.
std::unique_ptr<spdlog::formatter> MakeFormatter(Format format, const char* eol) {
  const char* pattern =
      format == Format::kText ? "robotni: %v" : R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ",%v)";
  return std::make_unique<spdlog::pattern_formatter>(pattern, spdlog::pattern_time_type::utc, eol);
}

// Text: the message ("warning: " first for warnings). JSON: the object's members after ts,
// without the opening brace: level, msg, then the fields (one named ts, level or msg gets a
// trailing '_' so it cannot shadow them).
std::string Payload(Format format, Level level, std::string_view msg,
                    const nlohmann::json& fields) {
  if (format == Format::kText)
    return level == Level::kWarn ? "warning: " + std::string(msg) : std::string(msg);
  nlohmann::ordered_json j;
  j["level"] = LevelName(level);
  j["msg"] = std::string(msg);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      std::string k = key;
      while (k == "ts" || j.contains(k)) k += '_';
      j[k] = value;
    }
  }
  // Invalid UTF-8 (a path, a Python message) must not make the logger throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).substr(1);
}

// A library host's callback (RuntimeOptions::log) as an spdlog sink: one line, no '\n'.
class HostSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit HostSink(std::function<void(Level, std::string_view)> fn) : fn_(std::move(fn)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    fn_(FromSpdlog(msg.level), std::string_view(line.data(), line.size()));
  }
  void flush_() override {}

 private:
  std::function<void(Level, std::string_view)> fn_;
};

thread_local std::string* t_batch = nullptr;  // the outermost live Batch's lines

// The FILE's sink: fwrite and fflush of each whole line, or the line kept by this thread's Batch.
class FileSink final : public spdlog::sinks::base_sink<spdlog::details::null_mutex> {
 public:
  explicit FileSink(FILE* out) : out_(out) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    if (t_batch) {
      t_batch->append(line.data(), line.size());
      return;
    }
    fwrite(line.data(), 1, line.size(), out_);
    fflush(out_);
  }
  void flush_() override { fflush(out_); }

 private:
  FILE* out_;
};

// The process's logger. It is never registered with spdlog, so a host's own spdlog setup
// (default logger, registry, levels) and this one never meet. Leaked on purpose: Write may
// run from static destructors.
struct State {
  // Held while a line is written (sinks are unlocked, this keeps lines whole) and while the
  // sink changes, so SetSink({}) returns only once the old host callback is no longer running.
  std::mutex mu;
  std::shared_ptr<spdlog::logger> logger;
  std::atomic<Format> format{Format::kText};          // changed with mu held
  FILE* out = nullptr;                                // mu; nullptr = stderr
  std::function<void(Level, std::string_view)> sink;  // mu; set = instead of out

  State() {
    logger = std::make_shared<spdlog::logger>("robotni");
    logger->set_level(spdlog::level::info);
    // Write never throws: a line that a sink cannot take is dropped, silently (spdlog's
    // default handler would print to stderr).
    logger->set_error_handler([](const std::string&) {});
    Rebuild();
  }

  // Needs mu (or the constructor): one sink, the host's or the FILE's, with the format.
  void Rebuild() {
    std::shared_ptr<spdlog::sinks::sink> s;
    if (sink) {
      s = std::make_shared<HostSink>(sink);
      s->set_formatter(MakeFormatter(format, ""));
    } else {
      s = std::make_shared<FileSink>(out ? out : stderr);
      s->set_formatter(MakeFormatter(format, "\n"));
    }
    logger->sinks() = {std::move(s)};
  }
};

State& GetState() {
  static State* state = new State;
  return *state;
}

}  // namespace

bool ParseLevel(std::string_view text, Level* level) {
  if (text == "debug")
    *level = Level::kDebug;
  else if (text == "info")
    *level = Level::kInfo;
  else if (text == "warn" || text == "warning")
    *level = Level::kWarn;
  else if (text == "error")
    *level = Level::kError;
  else
    return false;
  return true;
}

bool ParseFormat(std::string_view text, Format* format) {
  if (text == "text")
    *format = Format::kText;
  else if (text == "json")
    *format = Format::kJson;
  else
    return false;
  return true;
}

const char* LevelName(Level level) {
  switch (level) {
    case Level::kDebug:
      return "debug";
    case Level::kInfo:
      return "info";
    case Level::kWarn:
      return "warn";
    case Level::kError:
      return "error";
  }
  return "info";
}

void SetFormat(Format format) {
  State& s = GetState();
  std::lock_guard<std::mutex> l(s.mu);
  s.format = format;
  s.Rebuild();
}

void SetLevel(Level level) { GetState().logger->set_level(ToSpdlog(level)); }

Format GetFormat() { return GetState().format.load(); }

bool Enabled(Level level) { return GetState().logger->should_log(ToSpdlog(level)); }

void SetSink(std::function<void(Level level, std::string_view line)> sink) {
  State& s = GetState();
  std::lock_guard<std::mutex> l(s.mu);
  s.sink = std::move(sink);
  s.Rebuild();
}

void SetOutput(FILE* out) {
  State& s = GetState();
  std::lock_guard<std::mutex> l(s.mu);
  s.out = out;
  s.Rebuild();
}

std::string FormatLine(Format format, Level level, std::string_view msg,
                       const nlohmann::json& fields, int64_t now_ms) {
  std::string payload = Payload(format, level, msg, fields);
  spdlog::details::log_msg m(spdlog::log_clock::time_point(std::chrono::milliseconds(now_ms)),
                             spdlog::source_loc{}, "robotni", ToSpdlog(level), payload);
  spdlog::memory_buf_t line;
  MakeFormatter(format, "")->format(m, line);
  return std::string(line.data(), line.size());
}

void Write(Level level, std::string_view msg, const nlohmann::json& fields) noexcept {
  State& s = GetState();
  if (!s.logger->should_log(ToSpdlog(level))) return;
  try {
    std::lock_guard<std::mutex> l(s.mu);
    std::string payload = Payload(s.format, level, msg, fields);
    s.logger->log(ToSpdlog(level), spdlog::string_view_t(payload));
  } catch (...) {
    // Dropped: see log.h.
  }
}

Batch::Batch() : outermost_(t_batch == nullptr) {
  if (outermost_) t_batch = &lines_;
}

Batch::~Batch() {
  if (!outermost_) return;
  t_batch = nullptr;
  if (lines_.empty()) return;
  State& s = GetState();
  std::lock_guard<std::mutex> l(s.mu);
  FILE* out = s.out ? s.out : stderr;
  fwrite(lines_.data(), 1, lines_.size(), out);
  fflush(out);
}

}  // namespace robotni::log
