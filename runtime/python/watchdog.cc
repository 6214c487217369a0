#include "python/watchdog.h"

namespace robotni::python {

namespace {
// The check period, and how often a busy interpreter is made to let the GIL go.
constexpr auto kTick = std::chrono::milliseconds(5);
}  // namespace

std::atomic<int> Watchdog::busy_interpreters_{0};
std::mutex Watchdog::busy_mu_;
std::condition_variable Watchdog::busy_cv_;

Watchdog::Watchdog(PyInterpreterState* interp) : interp_(interp) {
  thread_ = std::thread([this] { Loop(); });
}

Watchdog::~Watchdog() {
  {
    std::lock_guard<std::mutex> l(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  {
    std::lock_guard<std::mutex> l(busy_mu_);
    busy_cv_.notify_all();
  }
  thread_.join();
}

void Watchdog::Arm(unsigned long thread_id, PyObject* timeout_type, Clock::time_point deadline,
                   Clock::duration grace, std::function<void()> on_hard) {
  std::lock_guard<std::mutex> l(mu_);
  ++generation_;
  armed_ = true;
  fired_ = hard_ = false;
  thread_id_ = thread_id;
  timeout_type_ = timeout_type;
  deadline_ = deadline;
  grace_ = grace;
  on_hard_ = std::move(on_hard);
  cv_.notify_all();
}

bool Watchdog::Disarm() {
  std::lock_guard<std::mutex> l(mu_);
  ++generation_;
  bool fired = armed_ && fired_;
  armed_ = false;
  on_hard_ = nullptr;
  return fired;
}

void Watchdog::SetBusy(bool busy) {
  {
    std::lock_guard<std::mutex> l(mu_);
    if (busy_ == busy) return;
    busy_ = busy;
  }
  int now;
  {
    std::lock_guard<std::mutex> l(busy_mu_);
    now = busy_interpreters_ += busy ? 1 : -1;
  }
  // Only the start of contention needs idle watchdogs awake (they then tick every
  // kTick); the end of it they notice on their next tick. Waking every watchdog on
  // every task start and end cost four context switches per job.
  if (busy && now >= 2) busy_cv_.notify_all();
}

void Watchdog::Loop() {
  PyThreadState* ts = PyThreadState_New(interp_);
  for (;;) {
    enum { kNothing, kFire, kKick, kHard } action = kNothing;
    uint64_t generation;
    std::function<void()> on_hard;
    {
      std::unique_lock<std::mutex> l(mu_);
      if (stop_) break;
      bool contended = busy_ && busy_interpreters_.load() >= 2;
      if (!armed_ && !contended) {
        // Idle: wake on Arm/SetBusy here, or when another interpreter gets busy.
        l.unlock();
        std::unique_lock<std::mutex> bl(busy_mu_);
        busy_cv_.wait_for(bl, std::chrono::milliseconds(200));
        continue;
      }
      cv_.wait_for(l, kTick);
      if (stop_) break;
      auto now = Clock::now();
      generation = generation_;
      if (armed_ && !fired_ && now >= deadline_) {
        action = kFire;
      } else if (armed_ && fired_ && !hard_ && now >= deadline_ + grace_) {
        hard_ = true;
        action = kHard;
        on_hard = on_hard_;
      } else if (busy_ && busy_interpreters_.load() >= 2) {
        action = kKick;
      }
    }
    if (action == kHard) {
      if (on_hard) on_hard();
      continue;
    }
    if (action == kNothing) continue;
    PyEval_RestoreThread(ts);  // for kKick, this alone makes the holder let go
    if (action == kFire) {
      std::lock_guard<std::mutex> l(mu_);
      if (generation == generation_ && armed_) {
        PyThreadState_SetAsyncExc(thread_id_, timeout_type_);
        fired_ = true;
      }
    }
    PyEval_SaveThread();
  }
  PyEval_RestoreThread(ts);
  PyThreadState_Clear(ts);
  PyThreadState_DeleteCurrent();
}

}  // namespace robotni::python
