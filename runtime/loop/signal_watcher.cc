#include "loop/signal_watcher.h"

namespace robotni::loop {

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
