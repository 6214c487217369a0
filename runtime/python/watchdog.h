#ifndef ROBOTNI_RUNTIME_PYTHON_WATCHDOG_H_
#define ROBOTNI_RUNTIME_PYTHON_WATCHDOG_H_

// One watchdog thread per interpreter, holding a thread state of that interpreter:
//  - it delivers the running task's timeout with PyThreadState_SetAsyncExc, which
//    only works from a thread state of the task's own interpreter (R18);
//  - while two or more interpreters are busy it takes and drops the GIL every few
//    milliseconds. Taking the GIL raises the drop request in the *waiter's*
//    interpreter (R9), so only a waiter of the holder's interpreter makes the holder
//    let go; with one watchdog per interpreter, the holder's always is one (R10).
//
// Locking rule: the watchdog's mutex may be taken while holding the GIL, but nobody
// waits for the GIL while holding that mutex.

#include <Python.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>

namespace robotni::python {

class Watchdog {
 public:
  using Clock = std::chrono::steady_clock;

  // Starts the thread and creates its thread state of `interp` on it.
  explicit Watchdog(PyInterpreterState* interp);
  // Stops the thread, deleting its thread state first (call without the GIL, before
  // the interpreter ends: R27).
  ~Watchdog();

  // Watches the task about to run on `thread_id`: at `deadline` raises
  // `timeout_type` in it; if it is still running `grace` later calls `on_hard`.
  void Arm(unsigned long thread_id, PyObject* timeout_type, Clock::time_point deadline,
           Clock::duration grace, std::function<void()> on_hard);
  // Ends the watch; true if the timeout was delivered.
  bool Disarm();
  // Marks this interpreter busy (running or waiting to run Python) or idle.
  void SetBusy(bool busy);

 private:
  void Loop();

  PyInterpreterState* interp_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  bool busy_ = false;
  // The current watch; `generation_` changes with every Arm/Disarm so a delivery
  // decided for one task never lands in the next.
  uint64_t generation_ = 0;
  bool armed_ = false;
  bool fired_ = false;
  bool hard_ = false;
  unsigned long thread_id_ = 0;
  PyObject* timeout_type_ = nullptr;  // borrowed; outlives the watch
  Clock::time_point deadline_;
  Clock::duration grace_{};
  std::function<void()> on_hard_;

  static std::atomic<int> busy_interpreters_;
  static std::mutex busy_mu_;
  static std::condition_variable busy_cv_;
};

}  // namespace robotni::python

#endif  // ROBOTNI_RUNTIME_PYTHON_WATCHDOG_H_
