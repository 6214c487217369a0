#include "loop/signal_watcher.h"

#include <signal.h>

#include <algorithm>
#include <atomic>

namespace robotni::loop {

namespace {

std::atomic<int> held_signal{0};  // the first held signal not yet raised again; 0: none

void RecordHeldSignal(int signum) {
  int none = 0;
  held_signal.compare_exchange_strong(none, signum);  // lock-free: async-signal-safe
}

}  // namespace

void HoldSignals(const std::vector<int>& signums) {
  struct sigaction sa = {};
  sa.sa_handler = RecordHeldSignal;
  sigemptyset(&sa.sa_mask);
  for (int signum : signums) sigaction(signum, &sa, nullptr);
}

void SignalWatcher::Start(uv_loop_t* loop, std::vector<int> signums, Callback on_signal) {
  Stop();
  on_signal_ = std::move(on_signal);
  for (int signum : signums) {
    auto h = UvHandle<uv_signal_t>::Make();
    uv_signal_init(loop, h.get());
    h.get()->data = this;
    uv_signal_start(h.get(), OnSignal, signum);
    handles_.push_back(std::move(h));
  }
  // libuv's handlers are in place: a signal held since start-up now reaches on_signal.
  int held = held_signal.load();
  if (held != 0 && std::find(signums.begin(), signums.end(), held) != signums.end() &&
      held_signal.compare_exchange_strong(held, 0))
    raise(held);
}

void SignalWatcher::Stop() { handles_.clear(); }  // UvHandle closes each

void SignalWatcher::OnSignal(uv_signal_t* handle, int signum) noexcept {
  auto* self = static_cast<SignalWatcher*>(handle->data);
  if (!self) return;
  try {
    Callback cb = self->on_signal_;  // the callback may Stop() this watcher
    cb(signum);
  } catch (...) {
  }
}

}  // namespace robotni::loop
