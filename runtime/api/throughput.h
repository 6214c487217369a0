#ifndef ROBOTNI_RUNTIME_API_THROUGHPUT_H_
#define ROBOTNI_RUNTIME_API_THROUGHPUT_H_

// Per-minute counts of finished job attempts over the last hour, kept in memory by serve for
// the dashboard's throughput chart (GET /api/worker/throughput). A ring of 60 minutes: a
// minute's slot is reused an hour later. Nothing is stored: a restart starts from zero.

#include <array>
#include <cstdint>
#include <mutex>

#include <nlohmann/json.hpp>

namespace robotni::api {

class Throughput {
 public:
  static constexpr int kMinutes = 60;
  enum class Outcome { kDone, kFailed, kRetried };

  // Counts one attempt that finished at `now_ms` (ms since the epoch).
  void Record(int64_t now_ms, Outcome outcome);

  // {"minutes": [{"minute": ISO time of the minute's start, "done", "failed", "retried"}, ...]}:
  // the 60 minutes up to and including the one of `now_ms`, oldest first, zeros included.
  nlohmann::json Json(int64_t now_ms) const;

 private:
  struct Slot {
    int64_t minute = -1;  // minutes since the epoch this slot counts; -1 = never used
    int64_t done = 0, failed = 0, retried = 0;
  };
  mutable std::mutex mu_;
  std::array<Slot, kMinutes> slots_;  // guarded by mu_
};

}  // namespace robotni::api

#endif  // ROBOTNI_RUNTIME_API_THROUGHPUT_H_
