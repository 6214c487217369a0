#ifndef ROBOTNI_RUNTIME_EXEC_OUTPUT_CAP_H_
#define ROBOTNI_RUNTIME_EXEC_OUTPUT_CAP_H_

// The largest captured output of a robot task (robot.yaml `limits: max_output`): a log
// file keeps the first `max` bytes of its stream, then one note, then nothing more.

#include <cstdint>
#include <string>
#include <string_view>

namespace robotni::exec {

// What of `text` to write to a log that already took *written bytes of its stream (`max`
// -1 = no cap): all of it, its head and the note when it crosses the cap, or nothing.
// Counts `text` in *written.
inline std::string CappedOutput(int64_t max, int64_t* written, std::string_view text) {
  int64_t before = *written;
  *written += static_cast<int64_t>(text.size());
  if (max < 0 || *written <= max) return std::string(text);
  if (before > max) return "";
  return std::string(text.substr(0, static_cast<size_t>(max - before))) +
         "\n[robotni: output truncated at max_output " + std::to_string(max) +
         " bytes; the rest is dropped]\n";
}

}  // namespace robotni::exec

#endif  // ROBOTNI_RUNTIME_EXEC_OUTPUT_CAP_H_
