#include "worker/start_backoff.h"

#include <algorithm>

#include "core/log.h"

namespace robotni::worker {

namespace {

std::string Seconds(std::chrono::milliseconds d) {
  return d.count() % 1000 == 0 ? std::to_string(d.count() / 1000) + " s"
                               : std::to_string(d.count()) + " ms";
}

}  // namespace

StartBackoff::StartBackoff(std::string what, std::chrono::milliseconds base,
                           std::chrono::milliseconds cap)
    : what_(std::move(what)), base_(base), cap_(std::max(cap, base)) {}

void StartBackoff::Failed(const Status& why) {
  // Killed from outside while it started (Cancelled: SIGKILL): tried again at once and not
  // counted, or a chaos of kills would make every start wait the longest.
  if (why.code() == Status::Code::kCancelled) return;
  std::string line;
  {
    std::lock_guard<std::mutex> l(mu_);
    ++failures_;
    auto before = delay_;
    // The first failure is tried again at once (a worker killed while it started, say);
    // only repeated failures wait.
    delay_ = failures_ == 1   ? std::chrono::milliseconds(0)
             : failures_ == 2 ? base_
                              : std::min(cap_, delay_ * 2);
    not_before_ = Clock::now() + delay_;
    if (failures_ > 1 && delay_ == before) return;  // at the cap: said already
    line = what_ + " failed to start (" + why.message() + "); " +
           (failures_ == 1
                ? std::string("trying again at once")
                : "next try in " + Seconds(delay_) +
                      (delay_ == cap_ ? ", then every " + Seconds(cap_) + " until it starts" : ""));
  }
  log::Warn(line);
}

void StartBackoff::Succeeded() {
  int failed;
  {
    std::lock_guard<std::mutex> l(mu_);
    failed = failures_;
    failures_ = 0;
    delay_ = std::chrono::milliseconds(0);
    not_before_ = Clock::time_point();
  }
  if (failed > 0)
    log::Info(what_ + " started again after " + std::to_string(failed) + " failed start(s)");
}

StartBackoff::Clock::time_point StartBackoff::not_before() const {
  std::lock_guard<std::mutex> l(mu_);
  return not_before_;
}

int StartBackoff::failures() const {
  std::lock_guard<std::mutex> l(mu_);
  return failures_;
}

}  // namespace robotni::worker
