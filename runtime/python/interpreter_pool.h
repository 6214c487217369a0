#ifndef ROBOTNI_RUNTIME_PYTHON_INTERPRETER_POOL_H_
#define ROBOTNI_RUNTIME_PYTHON_INTERPRETER_POOL_H_

// A pool of warm interpreters, keyed by robot: a robot's runs reuse its own
// sub-interpreters (its sys.modules stay warm; other robots never see them).
// Creating a sub-interpreter costs 2-34 ms, a run on a warm one ~10 us (reference
// §0), so interpreters are kept, up to `max_per_robot` per robot and `max_total`
// overall; the least recently used idle one is ended to make room. Poisoned
// interpreters (a task stuck after its timeout) are never handed out again.
// Thread-safety: Acquire/Release may be called from any thread.

#include <chrono>
#include <condition_variable>
#include <list>
#include <memory>
#include <mutex>
#include <string>

#include "python/interpreter.h"

namespace robotni::python {

class InterpreterPool {
 public:
  struct Options {
    int max_per_robot = 2;
    int max_total = 8;
  };
  InterpreterPool() : InterpreterPool(Options{}) {}
  explicit InterpreterPool(Options options) : options_(options) {}
  ~InterpreterPool();

  // A lease on an interpreter of `robot`; give it back with Release (or let the
  // Lease go out of scope). Blocks while the robot already uses max_per_robot.
  class Lease {
   public:
    Lease() = default;
    Lease(Lease&& o) noexcept : pool_(o.pool_), slot_(o.slot_) { o.pool_ = nullptr; }
    Lease& operator=(Lease&&) = delete;
    ~Lease() { Release(); }
    Interpreter* operator->() const;
    Interpreter& operator*() const { return *operator->(); }
    void Release();

   private:
    friend class InterpreterPool;
    struct Slot;
    Lease(InterpreterPool* pool, Slot* slot) : pool_(pool), slot_(slot) {}
    InterpreterPool* pool_ = nullptr;
    Slot* slot_ = nullptr;
  };

  StatusOr<Lease> Acquire(const std::string& robot, Interpreter::Kind kind);
  int size() const;

 private:
  friend class Lease;
  void GiveBack(Lease::Slot* slot);

  Options options_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::list<std::unique_ptr<Lease::Slot>> slots_;  // front = most recently used
};

struct InterpreterPool::Lease::Slot {
  std::string robot;
  Interpreter::Kind kind;
  std::unique_ptr<Interpreter> interp;
  bool busy = false;
};

}  // namespace robotni::python

#endif  // ROBOTNI_RUNTIME_PYTHON_INTERPRETER_POOL_H_
