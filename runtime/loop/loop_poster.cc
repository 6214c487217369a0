#include "loop/loop_poster.h"

#include <exception>
#include <string>

#include "core/log.h"

namespace robotni::loop {
namespace {

void RunCaught(std::function<void()>& fn) noexcept {
  try {
    fn();
  } catch (const std::exception& e) {
    log::Error(std::string("http: posted function threw: ") + e.what());
  } catch (...) {
    log::Error("http: posted function threw an unknown exception");
  }
}

}  // namespace

std::shared_ptr<LoopPoster> LoopPoster::Create(uv_loop_t* loop) {
  std::shared_ptr<LoopPoster> p(new LoopPoster());
  p->async_ = UvHandle<uv_async_t>::Make();
  uv_async_init(loop, p->async_.get(), &LoopPoster::OnAsync);
  p->async_.get()->data = p.get();
  return p;
}

LoopPoster::~LoopPoster() { Close(); }

bool LoopPoster::Post(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (!closed_) {
      queue_.push_back(std::move(fn));
      uv_async_send(async_.get());
      return true;
    }
  }
  fn = nullptr;  // destroy what it captured here, outside the lock
  return false;
}

void LoopPoster::OnAsync(uv_async_t* async) {
  auto* self = static_cast<LoopPoster*>(async->data);
  if (self != nullptr) self->Drain();
}

void LoopPoster::Drain() {
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard<std::mutex> lock(mu_);
    batch.swap(queue_);
  }
  for (auto& fn : batch) RunCaught(fn);
}

void LoopPoster::Close() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  Drain();
  std::lock_guard<std::mutex> lock(mu_);
  async_.Reset();
}

}  // namespace robotni::loop
