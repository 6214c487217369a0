#include "core/log.h"

#include <atomic>
#include <chrono>
#include <mutex>

#include "core/iso_time.h"

namespace robotni::log {

namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};
std::atomic<int> g_format{static_cast<int>(Format::kText)};
std::mutex g_mu;
FILE* g_out = nullptr;                                // g_mu; nullptr = stderr
std::function<void(Level, std::string_view)> g_sink;  // g_mu; set = instead of g_out

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

void SetFormat(Format format) { g_format = static_cast<int>(format); }
void SetLevel(Level level) { g_level = static_cast<int>(level); }
Format GetFormat() { return static_cast<Format>(g_format.load()); }
bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void SetSink(std::function<void(Level level, std::string_view line)> sink) {
  std::lock_guard<std::mutex> l(g_mu);
  g_sink = std::move(sink);
}

void SetOutput(FILE* out) {
  std::lock_guard<std::mutex> l(g_mu);
  g_out = out;
}

std::string FormatLine(Format format, Level level, std::string_view msg,
                       const nlohmann::json& fields, int64_t now_ms) {
  if (format == Format::kText) {
    std::string line = "robotni: ";
    if (level == Level::kWarn) line += "warning: ";
    line += msg;
    return line;
  }
  // ts, level and msg come first, in that order, for people reading the raw lines.
  nlohmann::ordered_json j;
  j["ts"] = FormatIsoTime(now_ms);
  j["level"] = LevelName(level);
  j["msg"] = std::string(msg);
  if (fields.is_object()) {
    for (const auto& [key, value] : fields.items()) {
      std::string k = key;
      while (j.contains(k)) k += '_';
      j[k] = value;
    }
  }
  // Invalid UTF-8 (a path, a Python message) must not make the logger throw.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

void Write(Level level, std::string_view msg, const nlohmann::json& fields) noexcept {
  if (!Enabled(level)) return;
  try {
    int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count();
    std::string line = FormatLine(GetFormat(), level, msg, fields, now);
    std::lock_guard<std::mutex> l(g_mu);
    if (g_sink) return g_sink(level, line);
    line += '\n';
    FILE* out = g_out ? g_out : stderr;
    fwrite(line.data(), 1, line.size(), out);
    fflush(out);
  } catch (...) {
    // Dropped: see log.h.
  }
}

}  // namespace robotni::log
