#include "api/throughput.h"

#include "api/api_util.h"

namespace robotni::api {

void Throughput::Record(int64_t now_ms, Outcome outcome) {
  const int64_t minute = now_ms / 60000;
  std::lock_guard<std::mutex> l(mu_);
  Slot& s = slots_[minute % kMinutes];
  if (s.minute != minute) s = Slot{minute};
  (outcome == Outcome::kDone ? s.done : outcome == Outcome::kFailed ? s.failed : s.retried)++;
}

nlohmann::json Throughput::Json(int64_t now_ms) const {
  const int64_t last = now_ms / 60000;
  nlohmann::json minutes = nlohmann::json::array();
  std::lock_guard<std::mutex> l(mu_);
  for (int64_t m = last - kMinutes + 1; m <= last; ++m) {
    const Slot& s = slots_[m % kMinutes];
    const bool here = s.minute == m;
    minutes.push_back({{"minute", IsoTime(m * 60000)},
                       {"done", here ? s.done : 0},
                       {"failed", here ? s.failed : 0},
                       {"retried", here ? s.retried : 0}});
  }
  return {{"minutes", minutes}};
}

}  // namespace robotni::api
