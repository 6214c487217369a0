#ifndef ROBOTNI_RUNTIME_LOOP_UV_HANDLE_H_
#define ROBOTNI_RUNTIME_LOOP_UV_HANDLE_H_

// UvHandle<T> owns a heap-allocated libuv handle. Destroying (or Reset()ting) it calls
// uv_close() and the close callback frees the memory, as libuv requires ("memory can only be
// released in close_cb or after it has returned"). The handle's `data` belongs to the owner.
// Thread-safety: loop thread only, like the handle itself.

#include <uv.h>

#include <utility>

namespace robotni::loop {

template <typename T>
class UvHandle {
 public:
  UvHandle() = default;
  // Allocates the handle; the caller initialises it with uv_*_init(loop, get()).
  static UvHandle Make() {
    UvHandle h;
    h.h_ = new T();
    return h;
  }
  UvHandle(UvHandle&& o) noexcept : h_(std::exchange(o.h_, nullptr)) {}
  UvHandle& operator=(UvHandle&& o) noexcept {
    if (this != &o) {
      Reset();
      h_ = std::exchange(o.h_, nullptr);
    }
    return *this;
  }
  UvHandle(const UvHandle&) = delete;
  UvHandle& operator=(const UvHandle&) = delete;
  ~UvHandle() { Reset(); }

  T* get() const { return h_; }
  uv_handle_t* handle() const { return reinterpret_cast<uv_handle_t*>(h_); }
  explicit operator bool() const { return h_ != nullptr; }

  // Closes the handle (the memory is freed in the close callback). The handle must have been
  // initialised with uv_*_init, which cannot fail for the handle types used here.
  void Reset() {
    if (h_ == nullptr) return;
    uv_handle_t* h = handle();
    h->data = nullptr;
    if (!uv_is_closing(h)) {
      uv_close(h, [](uv_handle_t* closed) { delete reinterpret_cast<T*>(closed); });
    }
    // A handle already closing was closed by someone else with its own callback; never
    // happens here because only UvHandle closes the handles it owns.
    h_ = nullptr;
  }

 private:
  T* h_ = nullptr;
};

}  // namespace robotni::loop

#endif  // ROBOTNI_RUNTIME_LOOP_UV_HANDLE_H_
