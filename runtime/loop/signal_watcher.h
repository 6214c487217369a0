#ifndef ROBOTNI_RUNTIME_LOOP_SIGNAL_WATCHER_H_
#define ROBOTNI_RUNTIME_LOOP_SIGNAL_WATCHER_H_

// SignalWatcher: calls a function on the loop thread when the process gets one of the given
// signals (libuv's uv_signal: the handler runs on the loop, not in signal context). Stop()
// or destruction closes the handles; a callback never runs after either.
// Thread-safety: loop thread only.

#include <uv.h>

#include <functional>
#include <vector>

#include "loop/uv_handle.h"

namespace robotni::loop {

class SignalWatcher {
 public:
  using Callback = std::function<void(int signum)>;
  SignalWatcher() = default;
  ~SignalWatcher() { Stop(); }
  SignalWatcher(const SignalWatcher&) = delete;
  SignalWatcher& operator=(const SignalWatcher&) = delete;

  // Watches `signums` on `loop`. Exceptions from `on_signal` are caught and dropped (no
  // exception may cross libuv's C frames).
  void Start(uv_loop_t* loop, std::vector<int> signums, Callback on_signal);
  void Stop();
  bool watching() const { return !handles_.empty(); }

 private:
  static void OnSignal(uv_signal_t* handle, int signum) noexcept;
  Callback on_signal_;
  std::vector<UvHandle<uv_signal_t>> handles_;
};

// A command that will watch stop signals holds them from its first line: one sent while it
// starts (Python, the store, worker processes: a second or more) is recorded instead of
// taking the default action, which kills the process. The first SignalWatcher::Start that
// watches the held signal raises it again, so it is handled as if it came then.
// Thread-safety: call HoldSignals before other threads start.
void HoldSignals(const std::vector<int>& signums);

}  // namespace robotni::loop

#endif  // ROBOTNI_RUNTIME_LOOP_SIGNAL_WATCHER_H_
