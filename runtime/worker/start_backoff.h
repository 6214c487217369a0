#ifndef ROBOTNI_RUNTIME_WORKER_START_BACKOFF_H_
#define ROBOTNI_RUNTIME_WORKER_START_BACKOFF_H_

// StartBackoff: how long to wait before starting a worker process again when starts keep
// failing (a missing or broken worker executable, a robot whose imports kill CPython):
// none after the first failure, then 1 s, doubling up to a cap (30 s), back to none after
// a start succeeds. Nothing is reserved while waiting, so no item spends an attempt on a worker
// that cannot start. Logged once per change of the wait, not once per try: "... failed to
// start (why); next try in 4 s", then "... started again after N failed start(s)".
// Thread-safety: all methods may be called from any thread.

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>

#include "robotni/status.h"

namespace robotni::worker {

class StartBackoff {
 public:
  using Clock = std::chrono::steady_clock;
  // `what` names the workers in the log lines ("the worker process for task 'X'").
  explicit StartBackoff(std::string what, std::chrono::milliseconds base = std::chrono::seconds(1),
                        std::chrono::milliseconds cap = std::chrono::seconds(30));

  void Failed(const Status& why);  // the next try waits longer (up to the cap)
  void Succeeded();                // the next try waits no more
  // When the next start may be tried; in the past when it may be tried now.
  Clock::time_point not_before() const;
  int failures() const;

 private:
  const std::string what_;
  const std::chrono::milliseconds base_, cap_;
  mutable std::mutex mu_;
  int failures_ = 0;
  std::chrono::milliseconds delay_{0};
  Clock::time_point not_before_;
};

}  // namespace robotni::worker

#endif  // ROBOTNI_RUNTIME_WORKER_START_BACKOFF_H_
