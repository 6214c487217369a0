#ifndef ROBOTNI_RUNTIME_LOOP_LOOP_POSTER_H_
#define ROBOTNI_RUNTIME_LOOP_LOOP_POSTER_H_

// LoopPoster lets any thread run a function on the loop thread: a mutex-protected queue
// drained by a uv_async_t. It is how work finished elsewhere (store thread, executors) hands
// its completion, and the Responder it carries, back to the loop.
// Thread-safety: Post() from any thread, for as long as a shared_ptr to the poster is held;
// Create() and Close() on the loop thread.

#include <uv.h>

#include <deque>
#include <functional>
#include <memory>
#include <mutex>

#include "loop/uv_handle.h"

namespace robotni::loop {

class LoopPoster {
 public:
  // Creates the uv_async_t on `loop`; it keeps the loop alive until Close().
  static std::shared_ptr<LoopPoster> Create(uv_loop_t* loop);
  ~LoopPoster();
  LoopPoster(const LoopPoster&) = delete;
  LoopPoster& operator=(const LoopPoster&) = delete;

  // Queues `fn` to run on the loop thread, in posting order. Returns false (and drops `fn`
  // on the calling thread) once the poster is closed. Exceptions thrown by `fn` are caught
  // and logged on the loop.
  bool Post(std::function<void()> fn);

  // Loop thread: refuses further posts, runs what is already queued, closes the handle.
  void Close();

 private:
  LoopPoster() = default;
  static void OnAsync(uv_async_t* async);
  void Drain();

  std::mutex mu_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool closed_ = false;                      // guarded by mu_
  UvHandle<uv_async_t> async_;               // sent under mu_, closed under mu_
};

}  // namespace robotni::loop

#endif  // ROBOTNI_RUNTIME_LOOP_LOOP_POSTER_H_
